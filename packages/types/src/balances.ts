/**
 * Balances: one signed integer per account, changed only through atomic "change within limits" operations,
 * never read-modify-write, so a store shared by several conn processes (Redis, SQL) can implement it safely.
 * From the connector's point of view: positive = the peer owes us.
 *
 * Two parts: the committed balance (settled facts: fulfilled packets, money sent and received), which a
 * persistent store keeps, and reservations (packets in flight), which count against the limits at once but
 * become final only when committed. A crash drops the reservations: those packets never completed.
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

/**
 * Names a reservation so that a store shared by several connectors can find it again: unique among everyone
 * using the store, and the time (ms since the epoch) its packet expires. Such a store releases a reservation
 * whose packet expired without a commit or release (its connector died), and a commit or release it is given
 * twice (a retry after a lost reply) counts once. Stores of one process may ignore it.
 */
export interface Reservation {
  readonly id: string
  readonly expiresAt: number
  /**
   * The account settles (it has a settlement threshold): a store that keeps the settleable balance apart at a
   * cost per change (a shared one) keeps it for such reservations only. The same value on the reserve, the
   * commit and the release of one reservation.
   */
  readonly settles?: boolean
}

/**
 * The settlement record a connector writes when it claims a settlement (see `Balances.claimSettlement`): stored
 * under the store key `key` as `before + amount + after`, the amount in decimal digits (the store computes it).
 */
export interface SettlementClaim {
  readonly key: string
  readonly before: string
  readonly after: string
}

export interface Balances {
  /** The balance of an account, reservations included (0 if it never changed). */
  get (accountId: string): Promise<bigint>
  /**
   * The balance settlement decisions use: the committed balance and the reservations that credit the account,
   * without those that debit it. A packet to the peer still in flight may yet be rejected, so what it would
   * owe is not settled before it is fulfilled (counting it would pay the peer for packets it never delivered).
   */
  getSettleable (accountId: string): Promise<bigint>
  /**
   * A committed change: adds `delta` (negative to subtract) if the balance stays within [minimum, maximum]
   * (undefined: no limit) and resolves with the new balance; otherwise rejects with BalanceRangeError and
   * changes nothing.
   */
  adjust (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint>
  /** Like adjust, for a packet in flight: counts at once, final only once committed. */
  reserve (accountId: string, delta: bigint, minimum?: bigint, maximum?: bigint, reservation?: Reservation): Promise<bigint>
  /** A reservation of `delta` becomes committed (the packet was fulfilled). */
  commit (accountId: string, delta: bigint, reservation?: Reservation): Promise<bigint>
  /** A reservation of `delta` is dropped (the packet was rejected or failed). */
  release (accountId: string, delta: bigint, reservation?: Reservation): Promise<bigint>
  /**
   * Optional, for stores shared by several connectors: the settlement decision as one atomic step. If the
   * settleable balance (see getSettleable) is below `threshold` and nothing is stored under `claim.key` (no
   * settlement of the account is in flight or unsettled, by any connector), stores the claim's record for
   * `settleTo - settleable` and resolves that amount; otherwise resolves undefined and changes nothing. So two
   * connectors never both settle one amount.
   */
  claimSettlement? (accountId: string, threshold: bigint, settleTo: bigint, claim: SettlementClaim): Promise<bigint | undefined>
}

/**
 * What a store implements to keep balances atomically, keyed by the caller (optional: without it the
 * connector keeps balances over get/put with changes serialized per key, safe within one process only).
 * Every method resolves with the balance including reservations.
 */
export interface AtomicBalanceStore {
  getBalance (key: string): Promise<bigint>
  /**
   * `Balances.getSettleable` of the balance at `key` (optional: without it settlements are decided on the balance
   * with every reservation, debits of packets in flight included, which can pay for packets later rejected).
   */
  getSettleableBalance? (key: string): Promise<bigint>
  adjustBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint>
  reserveBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint, reservation?: Reservation): Promise<bigint>
  commitBalance (key: string, delta: bigint, reservation?: Reservation): Promise<bigint>
  releaseBalance (key: string, delta: bigint, reservation?: Reservation): Promise<bigint>
  /** `Balances.claimSettlement` on the balance at `key` (optional; `claim.key` is a key of get/put/del). */
  claimSettlement? (key: string, threshold: bigint, settleTo: bigint, claim: SettlementClaim): Promise<bigint | undefined>
}

/**
 * Balances in memory, synchronous and therefore atomic within one event loop: the bookkeeping every
 * single-process store (memory, level) and the connector's fallback share. `committed` is what a persistent
 * store writes through; `pending` holds the reservations.
 */
export class BalanceBook {
  readonly committed = new Map<string, bigint>()
  /** Net reservations (credits and debits) by key. */
  readonly pending = new Map<string, bigint>()
  /** The debits among them (a sum < 0), which the settleable balance leaves out. */
  readonly pendingDebits = new Map<string, bigint>()

  get (key: string): bigint {
    return (this.committed.get(key) ?? 0n) + (this.pending.get(key) ?? 0n)
  }

  /** The balance without the reservations that debit it (see `Balances.getSettleable`). */
  getSettleable (key: string): bigint {
    return this.get(key) - (this.pendingDebits.get(key) ?? 0n)
  }

  /** Committed change within limits; returns the new balance (reservations included). */
  adjust (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): bigint {
    const balance = checkedBalance(this.get(key), delta, minimum, maximum)
    this.committed.set(key, (this.committed.get(key) ?? 0n) + delta)
    return balance
  }

  reserve (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): bigint {
    const balance = checkedBalance(this.get(key), delta, minimum, maximum)
    this.movePending(key, delta, delta < 0n)
    return balance
  }

  commit (key: string, delta: bigint): bigint {
    this.movePending(key, -delta, delta < 0n)
    this.committed.set(key, (this.committed.get(key) ?? 0n) + delta)
    return this.get(key)
  }

  release (key: string, delta: bigint): bigint {
    this.movePending(key, -delta, delta < 0n)
    return this.get(key)
  }

  /** A reservation opens (`change` = its delta) or closes (minus its delta); `debit`: its delta is < 0. */
  private movePending (key: string, change: bigint, debit: boolean): void {
    addTo(this.pending, key, change)
    if (debit) addTo(this.pendingDebits, key, change)
  }
}

/** Adds to a map of sums, dropping the sums that come back to 0 (the maps stay as small as what is open). */
function addTo (sums: Map<string, bigint>, key: string, delta: bigint): void {
  const sum = (sums.get(key) ?? 0n) + delta
  if (sum === 0n) sums.delete(key)
  else sums.set(key, sum)
}
