/**
 * A token bucket for rate and throughput limits, in BigInt so amounts of any size count exactly.
 * It starts full, refills continuously (computed lazily on each take) at `refillCount` tokens per
 * `refillPeriod` ms, never holds more than `capacity`, and `take(n)` takes nothing when it has less than n.
 */
export class TokenBucket {
  private tokens: bigint
  /** Refill is tracked in token-milliseconds so fractional refills are not lost between takes. */
  private remainder = 0n
  private last: number

  constructor (
    readonly capacity: bigint,
    readonly refillCount: bigint,
    readonly refillPeriod: number,
    now: number = Date.now()
  ) {
    this.tokens = capacity
    this.last = now
  }

  /** Takes `count` tokens if there are that many; returns whether it did. */
  take (count: bigint, now: number = Date.now()): boolean {
    this.refill(now)
    if (this.tokens < count) return false
    this.tokens -= count
    return true
  }

  /** Tokens available now. */
  available (now: number = Date.now()): bigint {
    this.refill(now)
    return this.tokens
  }

  private refill (now: number): void {
    const elapsed = now - this.last
    if (elapsed <= 0) return
    this.last = now
    if (this.tokens >= this.capacity) { this.remainder = 0n; return }
    const added = BigInt(elapsed) * this.refillCount + this.remainder
    const period = BigInt(this.refillPeriod)
    this.tokens += added / period
    this.remainder = added % period
    if (this.tokens >= this.capacity) { this.tokens = this.capacity; this.remainder = 0n }
  }
}

/**
 * Where buckets shared by several connectors live (a store that offers it: the redis store). One call takes
 * between `atLeast` and `atMost` tokens from the bucket at `key` (made full on first use, refilled as
 * TokenBucket is, by the store's clock) and resolves how many it took: 0 when fewer than `atLeast` were there.
 */
export interface TokenStore {
  takeTokens (key: string, atLeast: bigint, atMost: bigint, capacity: bigint, refillCount: bigint, refillPeriod: number): Promise<bigint>
}

/** Longest refill period (ms) a shared bucket takes (a TokenStore's arithmetic); longer ones stay per instance. */
export const SHARED_BUCKET_MAX_PERIOD = 99_999_999

/** True for a store that offers shared buckets. */
export function isTokenStore (store: unknown): store is TokenStore {
  return typeof (store as Partial<TokenStore> | null)?.takeTokens === 'function'
}

/**
 * A token bucket shared by every connector on a TokenStore. So that a packet rarely waits for the store, an
 * instance takes a lease of tokens at a time (1/50 of the capacity, at least what the packet needs) and serves
 * packets from it synchronously. A lease is only good for 1/20 of the refill period: tokens an instance took but
 * did not use then are dropped, never handed on, so the group together never gets more than the one bucket
 * allows (spent at most that much later), and may get a little less.
 */
export class LeasedTokenBucket {
  private leased = 0n
  private leaseEnds = 0
  private readonly leaseSize: bigint
  private readonly leaseFor: number
  /** The lease request in flight (one at a time); packets that need more wait for it. */
  private leasing: Promise<void> | undefined

  constructor (
    private readonly store: TokenStore,
    readonly key: string,
    readonly capacity: bigint,
    readonly refillCount: bigint,
    readonly refillPeriod: number
  ) {
    this.leaseSize = capacity / 50n > 1n ? capacity / 50n : 1n
    this.leaseFor = Math.max(1, Math.floor(refillPeriod / 20))
  }

  /**
   * Takes `count` tokens: true or false at once when the lease decides, else a promise (one round trip to the
   * store). Rejects when the store fails.
   */
  take (count: bigint, now: number = Date.now()): boolean | Promise<boolean> {
    if (now >= this.leaseEnds) this.leased = 0n
    if (this.leased >= count) {
      this.leased -= count
      return true
    }
    if (count > this.capacity) return false
    return this.takeFromStore(count)
  }

  /** Tokens of the current lease (the shared bucket itself is in the store). */
  available (now: number = Date.now()): bigint {
    return now >= this.leaseEnds ? 0n : this.leased
  }

  private async takeFromStore (count: bigint): Promise<boolean> {
    while (this.leasing !== undefined) {
      await this.leasing
      const now = Date.now()
      if (now >= this.leaseEnds) this.leased = 0n
      if (this.leased >= count) {
        this.leased -= count
        return true
      }
    }
    let granted = false
    const lease = this.store.takeTokens(this.key, count - this.leased, this.leaseSize + count - this.leased,
      this.capacity, this.refillCount, this.refillPeriod).then((tokens) => {
      if (tokens === 0n) return
      const now = Date.now()
      // The old lease may have run out during the round trip: then only the new tokens count.
      const have = (now >= this.leaseEnds ? 0n : this.leased) + tokens
      this.leaseEnds = now + this.leaseFor
      granted = have >= count
      this.leased = granted ? have - count : have
    })
    this.leasing = lease.then(() => {}, () => {})
    try {
      await lease
    } finally {
      this.leasing = undefined
    }
    return granted
  }
}

/**
 * The bucket of a limit: shared through the store when it offers buckets (and the period is one it takes),
 * else this process's own.
 */
export function limitBucket (store: unknown, key: string, capacity: bigint, refillCount: bigint, refillPeriod: number): TokenBucket | LeasedTokenBucket {
  return isTokenStore(store) && refillPeriod <= SHARED_BUCKET_MAX_PERIOD
    ? new LeasedTokenBucket(store, key, capacity, refillCount, refillPeriod)
    : new TokenBucket(capacity, refillCount, refillPeriod)
}
