/**
 * State a middleware keeps per account, made from the account's configuration when the connector adds it
 * (`add`), or on the first packet of an account it was not told about (`get`, defensively), and dropped when
 * the account goes (`delete`). One Map lookup per packet; no closure.
 */
import type { Account } from './account.ts'

export class PerAccount<T> {
  private readonly byId = new Map<string, T>()

  constructor (private readonly make: (account: Account) => T) {}

  /** Makes (or remakes) the account's state from its configuration. */
  add (account: Account): T {
    const state = this.make(account)
    this.byId.set(account.id, state)
    return state
  }

  /** The account's state, made now if the account was never added. */
  get (account: Account): T {
    return this.byId.get(account.id) ?? this.add(account)
  }

  /** The state of an account by id, without making it. */
  peek (accountId: string): T | undefined {
    return this.byId.get(accountId)
  }

  delete (accountId: string): boolean {
    return this.byId.delete(accountId)
  }

  entries (): IterableIterator<[string, T]> {
    return this.byId.entries()
  }
}
