/**
 * Balances: one signed integer per account, changed only through an atomic "adjust within limits", never
 * read-modify-write, so a store shared by several conn processes (Redis, SQL) can implement it safely.
 * From the connector's point of view: positive = the peer owes us.
 */

/** Refusal of a balance change that would leave the account's range; nothing was changed. */
export class BalanceRangeError extends Error {
  constructor (
    /** The balance as it is (unchanged). */
    readonly balance: bigint,
    /** What it would have become. */
    readonly proposed: bigint,
    /** Which limit it would have crossed. */
    readonly limit: 'minimum' | 'maximum'
  ) {
    super(`balance would cross its ${limit}. balance=${balance} proposed=${proposed}`)
    this.name = 'BalanceRangeError'
  }
}

/**
 * True for a BalanceRangeError, checked by shape rather than `instanceof`: a store or a test may load its
 * own copy of @conn/types (another version, or the same file through both CommonJS and ESM).
 */
export function isBalanceRangeError (err: unknown): err is BalanceRangeError {
  if (err instanceof BalanceRangeError) return true
  const e = err as Partial<BalanceRangeError> | null
  return typeof e === 'object' && e !== null && e.name === 'BalanceRangeError' &&
    typeof e.balance === 'bigint' && typeof e.proposed === 'bigint' && (e.limit === 'minimum' || e.limit === 'maximum')
}

/**
 * The range check of an adjustment, as every Balances implementation applies it: resolves the new balance, or
 * throws BalanceRangeError when the change would move the balance past the limit it moves towards. A change
 * away from a limit is allowed even while the balance is beyond it (a refund after the limits were lowered).
 */
export function checkedBalance (balance: bigint, delta: bigint, minimum?: bigint, maximum?: bigint): bigint {
  const proposed = balance + delta
  if (delta > 0n && maximum !== undefined && proposed > maximum) throw new BalanceRangeError(balance, proposed, 'maximum')
  if (delta < 0n && minimum !== undefined && proposed < minimum) throw new BalanceRangeError(balance, proposed, 'minimum')
  return proposed
}

export interface Balances {
  /** The balance of an account (0 if it never changed). */
  get (accountId: string): Promise<bigint>
  /**
   * Adds `delta` (negative to subtract) if the result stays within [minimum, maximum] (undefined: no limit)
   * and resolves with the new balance; otherwise rejects with BalanceRangeError and changes nothing.
   */
  adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint>
}

/**
 * What a store implements to keep balances atomically (optional: without it the connector serializes
 * changes per key over get/put, which is safe within one process only).
 */
export interface AtomicBalanceStore {
  getBalance (key: string): Promise<bigint>
  adjustBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint>
}
