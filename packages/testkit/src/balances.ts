/**
 * Balances in a Map, with the contract of @conn/types exactly: an adjustment that would move a balance past
 * the limit it moves towards rejects with BalanceRangeError and changes nothing; one that moves away from a
 * limit (a refund while beyond it) is allowed. Each call settles after a microtask, as a store's would.
 */
import { checkedBalance, type Balances } from '@conn/types'

export class MapBalances implements Balances {
  /** The balances by account id; set one directly to start a test from it. */
  readonly map = new Map<string, bigint>()

  async get (accountId: string): Promise<bigint> {
    return this.map.get(accountId) ?? 0n
  }

  async adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    const balance = checkedBalance(this.map.get(accountId) ?? 0n, delta, minimum, maximum)
    this.map.set(accountId, balance)
    return balance
  }
}
