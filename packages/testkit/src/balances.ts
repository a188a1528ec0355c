/**
 * Balances in memory, with the contract of @conn/types exactly (the same BalanceBook the connector's
 * single-process stores use): a change that would move a balance past the limit it moves towards rejects
 * with BalanceRangeError and changes nothing; reservations count at once and become final when committed.
 * Each call settles after a microtask, as a store's would.
 */
import { BalanceBook, type Balances, type Reservation } from '@conn/types'

export class MapBalances implements Balances {
  readonly book = new BalanceBook()
  /** The committed balances by account id; set one directly to start a test from it. */
  get map (): Map<string, bigint> { return this.book.committed }

  async get (accountId: string): Promise<bigint> { return this.book.get(accountId) }
  async getSettleable (accountId: string): Promise<bigint> { return this.book.getSettleable(accountId) }

  async adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    return this.book.adjust(accountId, delta, minimum, maximum)
  }

  async reserve (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint, _reservation?: Reservation): Promise<bigint> {
    return this.book.reserve(accountId, delta, minimum, maximum)
  }

  async commit (accountId: string, delta: bigint, _reservation?: Reservation): Promise<bigint> { return this.book.commit(accountId, delta) }
  async release (accountId: string, delta: bigint, _reservation?: Reservation): Promise<bigint> { return this.book.release(accountId, delta) }
}
