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
