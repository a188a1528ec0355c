/** The built-in store (`memory`, `memdown`): Maps. Nothing survives a restart. */
import { BalanceBook, type AtomicBalanceStore, type Store } from '@conn/types'

export class MemoryStore implements Store, AtomicBalanceStore {
  private readonly map = new Map<string, string>()
  /** Balances apart from the strings: atomic by construction in one event loop, and no parsing. */
  private readonly balances = new BalanceBook()

  async get (key: string): Promise<string | undefined> { return this.map.get(key) }
  async put (key: string, value: string): Promise<void> { this.map.set(key, value) }
  async del (key: string): Promise<void> { this.map.delete(key) }

  async getBalance (key: string): Promise<bigint> { return this.balances.get(key) }
  async getSettleableBalance (key: string): Promise<bigint> { return this.balances.getSettleable(key) }
  async adjustBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    return this.balances.adjust(key, delta, minimum, maximum)
  }

  async reserveBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    return this.balances.reserve(key, delta, minimum, maximum)
  }

  async commitBalance (key: string, delta: bigint): Promise<bigint> { return this.balances.commit(key, delta) }
  async releaseBalance (key: string, delta: bigint): Promise<bigint> { return this.balances.release(key, delta) }
}

/**
 * A view of a store whose keys all start with `prefix`. Plugins get one per account
 * (`plugin:<account id>:`), so two accounts' plugins never see each other's keys.
 */
export class PrefixedStore implements Store {
  constructor (private readonly store: Store, private readonly prefix: string) {}

  get (key: string): Promise<string | undefined> { return this.store.get(this.prefix + key) }
  put (key: string, value: string): Promise<void> { return this.store.put(this.prefix + key, value) }
  del (key: string): Promise<void> { return this.store.del(this.prefix + key) }
}
