/**
 * Balances over the connector's store, keyed `balance:<account id>`. A store that implements the atomic
 * methods (memory, level, a shared database) does the work; for any other store changes are serialized per
 * key over get/put, which is safe only while one process uses that store.
 */
import { checkedBalance, type Balances, type Store } from '@conn/types'

const KEY_PREFIX = 'balance:'

export class StoreBalances implements Balances {
  /** Per-key tail of the queue of pending changes (fallback path only). */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor (private readonly store: Store) {}

  async get (accountId: string): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.store.getBalance !== undefined) return await this.store.getBalance(key)
    const value = await this.store.get(key)
    return value === undefined ? 0n : BigInt(value)
  }

  async adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    const key = KEY_PREFIX + accountId
    if (this.store.adjustBalance !== undefined) return await this.store.adjustBalance(key, delta, minimum, maximum)
    return await this.serialized(key, async () => {
      const value = await this.store.get(key)
      const balance = checkedBalance(value === undefined ? 0n : BigInt(value), delta, minimum, maximum)
      await this.store.put(key, balance.toString())
      return balance
    })
  }

  private async serialized<T> (key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve()
    const run = previous.then(task, task)
    const tail = run.catch(() => {})
    this.queues.set(key, tail)
    try {
      return await run
    } finally {
      if (this.queues.get(key) === tail) this.queues.delete(key)
    }
  }
}
