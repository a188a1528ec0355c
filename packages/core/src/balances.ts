/**
 * Balances over the connector's store, keyed `balance:<account id>`. A store that implements the atomic
 * balance methods (memory, a shared database) does the work. For any other store (level) the connector keeps
 * the book in memory, loads each committed balance once and writes committed changes through with put,
 * serialized per key: safe only while one process uses that store (LevelDB locks its directory).
 */
import { BalanceBook, type AtomicBalanceStore, type Balances, type Reservation, type SettlementClaim, type Store } from '@conn/types'

const KEY_PREFIX = 'balance:'

function isAtomic (store: Store): store is Store & AtomicBalanceStore {
  return typeof store.getBalance === 'function' && typeof store.adjustBalance === 'function' &&
    typeof store.reserveBalance === 'function' && typeof store.commitBalance === 'function' &&
    typeof store.releaseBalance === 'function'
}

export class StoreBalances implements Balances {
  private readonly atomic: (Store & AtomicBalanceStore) | undefined
  private readonly book = new BalanceBook()
  /** Committed balances read from the store so far (fallback path). */
  private readonly loaded = new Map<string, Promise<void>>()
  /** Per key: the write in progress, and the one waiting to start (fallback path). */
  private readonly writes = new Map<string, { running: Promise<void>, waiting: Promise<void> | undefined }>()

  /** Only where the store decides settlements atomically (one shared by several connectors). */
  readonly claimSettlement: ((accountId: string, threshold: bigint, settleTo: bigint, claim: SettlementClaim) => Promise<bigint | undefined>) | undefined

  constructor (private readonly store: Store) {
    const atomic = this.atomic = isAtomic(store) ? store : undefined
    this.claimSettlement = typeof atomic?.claimSettlement === 'function'
      ? async (accountId, threshold, settleTo, claim) => await atomic.claimSettlement!(KEY_PREFIX + accountId, threshold, settleTo, claim)
      : undefined
  }

  /** Resolves once every committed change made so far has reached the store (at shutdown, before it closes). */
  async flush (): Promise<void> {
    await Promise.all([...this.writes.values()].map(async (w) => await (w.waiting ?? w.running).catch(() => {})))
  }

  async get (accountId: string): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.getBalance(key)
    await this.load(key)
    return this.book.get(key)
  }

  async getSettleable (accountId: string): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) {
      // a third-party store without it: the balance with every reservation (see AtomicBalanceStore)
      return typeof this.atomic.getSettleableBalance === 'function'
        ? await this.atomic.getSettleableBalance(key)
        : await this.atomic.getBalance(key)
    }
    await this.load(key)
    return this.book.getSettleable(key)
  }

  async adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.adjustBalance(key, delta, minimum, maximum)
    await this.load(key)
    const balance = this.book.adjust(key, delta, minimum, maximum)
    await this.persist(key)
    return balance
  }

  reserve (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint, reservation?: Reservation): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    // a shared store's promise as it is: no async frame of ours per packet and side
    if (this.atomic !== undefined) return this.atomic.reserveBalance(key, delta, minimum, maximum, reservation)
    return this.reserveInBook(key, delta, minimum, maximum)
  }

  private async reserveInBook (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    await this.load(key)
    return this.book.reserve(key, delta, minimum, maximum)
  }

  commit (accountId: string, delta: bigint, reservation?: Reservation): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return this.atomic.commitBalance(key, delta, reservation)
    return this.commitInBook(key, delta)
  }

  private async commitInBook (key: string, delta: bigint): Promise<bigint> {
    await this.load(key)
    const balance = this.book.commit(key, delta)
    await this.persist(key)
    return balance
  }

  release (accountId: string, delta: bigint, reservation?: Reservation): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return this.atomic.releaseBalance(key, delta, reservation)
    return this.releaseInBook(key, delta)
  }

  private async releaseInBook (key: string, delta: bigint): Promise<bigint> {
    await this.load(key)
    return this.book.release(key, delta)
  }

  /** Reads a committed balance from the store once; later calls wait for that read. */
  private async load (key: string): Promise<void> {
    let loading = this.loaded.get(key)
    if (loading === undefined) {
      loading = this.store.get(key).then((value) => {
        if (value !== undefined) this.book.committed.set(key, BigInt(value) + (this.book.committed.get(key) ?? 0n))
      })
      this.loaded.set(key, loading)
      loading.catch(() => this.loaded.delete(key))
    }
    await loading
  }

  /**
   * Resolves once the committed balance, including every change made so far, is written. Writes to one key
   * never overtake each other, and commits that arrive while a write is waiting to start share that write (it
   * stores the latest value), so a slow store (fsync) costs one write per batch of commits, not per commit.
   */
  private async persist (key: string): Promise<void> {
    let writes = this.writes.get(key)
    if (writes?.waiting !== undefined) return await writes.waiting
    const previous = writes?.running ?? Promise.resolve()
    if (writes === undefined) this.writes.set(key, writes = { running: previous, waiting: undefined })
    const state = writes
    const write: Promise<void> = previous.catch(() => {}).then(async () => {
      // From here on this write is running; a later commit must wait for the next one.
      state.running = write
      state.waiting = undefined
      await this.store.put(key, String(this.book.committed.get(key) ?? 0n))
    })
    state.waiting = write
    try {
      await write
    } finally {
      if (state.running === write && state.waiting === undefined && this.writes.get(key) === state) this.writes.delete(key)
    }
  }
}
