/**
 * Balances over the connector's store, keyed `balance:<account id>`. A store that implements the atomic
 * balance methods (memory, level, a shared database) does the work. For any other store the connector keeps
 * the book in memory, loads each committed balance once and writes committed changes through with put,
 * serialized per key: safe only while one process uses that store.
 */
import { BalanceBook, type AtomicBalanceStore, type Balances, type Store } from '@conn/types'

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
  /** Per-key tail of the writes in progress (fallback path). */
  private readonly writes = new Map<string, Promise<void>>()

  constructor (private readonly store: Store) {
    this.atomic = isAtomic(store) ? store : undefined
  }

  async get (accountId: string): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.getBalance(key)
    await this.load(key)
    return this.book.get(key)
  }

  async adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.adjustBalance(key, delta, minimum, maximum)
    await this.load(key)
    const balance = this.book.adjust(key, delta, minimum, maximum)
    await this.persist(key)
    return balance
  }

  async reserve (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.reserveBalance(key, delta, minimum, maximum)
    await this.load(key)
    return this.book.reserve(key, delta, minimum, maximum)
  }

  async commit (accountId: string, delta: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.commitBalance(key, delta)
    await this.load(key)
    const balance = this.book.commit(key, delta)
    await this.persist(key)
    return balance
  }

  async release (accountId: string, delta: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.atomic !== undefined) return await this.atomic.releaseBalance(key, delta)
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

  /** Writes the committed balance as it is when its turn comes; writes to one key never overtake each other. */
  private async persist (key: string): Promise<void> {
    const previous = this.writes.get(key) ?? Promise.resolve()
    const write = previous.catch(() => {}).then(async () => {
      await this.store.put(key, String(this.book.committed.get(key) ?? 0n))
    })
    this.writes.set(key, write)
    try {
      await write
    } finally {
      if (this.writes.get(key) === write) this.writes.delete(key)
    }
  }
}
