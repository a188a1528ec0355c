/**
 * Services: what one package offers the others through the connector, by name, instead of the others probing
 * for method names. A middleware declares in its manifest what it provides (`provides`) and exposes it on its
 * instance (`services`); an extension declares what it uses or requires; the connector checks both at start and
 * hands them out with `ConnectorHandle.getService(name)`.
 */

import type { SettlementOutcome } from './settlement.ts'

/** An account's balance as the admin API shows it: integer strings, `-Infinity`/`Infinity` for no limit. */
export interface BalanceStatus {
  balance: string
  minimum: string
  maximum: string
}

/** Balances for operators (the admin API's /balance), offered by the balance middleware. */
export interface BalanceAdmin {
  /** Every account the balance middleware keeps a balance for. */
  getBalances (): Promise<Record<string, BalanceStatus>>
  /**
   * Adds `amountDiff` (negative to subtract) within the account's limits, then settles if it fell below its
   * threshold; resolves with the new balance. Rejects for an unknown account or one without a balance, and with
   * a BalanceRangeError when a limit would be crossed.
   */
  adjustBalance (accountId: string, amountDiff: bigint): Promise<bigint>
}

/**
 * An alert: a next hop answering "exceeded maximum balance." (the reference's alert fields), or one another
 * middleware raised (the balance middleware's unsettled settlements; `triggeredBy` is then our own address).
 */
export interface Alert {
  id: number
  accountId: string
  triggeredBy: string
  message: string
  count: number
  createdAt: Date
  updatedAt: Date
}

/** Alerts for operators (the admin API's /alerts), offered by the alert middleware. */
export interface AlertAdmin {
  getAlerts (): Alert[]
  /** False if there was no alert with that id. */
  deleteAlert (id: number): boolean
  /**
   * Records an alert for another middleware (an unsettled settlement) and resolves it as kept; the same account,
   * triggeredBy and message again counts up the existing one. Raised alerts are not dropped to make room for
   * new ones. The raiser logs it; the alert middleware does not.
   */
  raiseAlert (alert: { accountId: string, triggeredBy: string, message: string }): Alert
}

/**
 * A settlement whose `sendMoney` outcome is unknown (a time-out after the money may have left): it is not retried,
 * and the account settles no more until it is resolved.
 */
export interface UnsettledSettlement {
  /** The attempt's id (random), to name it when resolving. */
  id: string
  accountId: string
  /** In the account's base units, an integer string. */
  amount: string
  /** When `sendMoney` was called. */
  createdAt: Date
  /** Why the outcome is unknown (the plugin's error, or a restart while it was in flight). */
  reason: string
}

export interface SettlementResolution {
  settlement: UnsettledSettlement
  outcome: SettlementOutcome
  /** The account's balance after the resolution (integer string). */
  balance: string
  resolvedBy: 'operator' | 'plugin'
}

/** Unsettled settlements for operators (the admin API's /settlements), offered by the balance middleware. */
export interface SettlementAdmin {
  /** Every unsettled settlement, oldest first. Copies. */
  getUnsettled (): UnsettledSettlement[]
  /**
   * Resolves the account's unsettled settlement: `paid` credits its amount to the balance (it did reach the peer),
   * `not-paid` leaves the balance as it is (it never did). Either way the account settles again. With `id`, only
   * if that is the unsettled settlement's id. Rejects with SettlementAdminError (nothing changed) when there is
   * none, the id differs, or it is being resolved already.
   */
  resolveSettlement (accountId: string, outcome: SettlementOutcome, id?: string): Promise<SettlementResolution>
}

export interface ConnectorServices {
  balanceAdmin: BalanceAdmin
  alertAdmin: AlertAdmin
  settlementAdmin: SettlementAdmin
}

export type ServiceName = keyof ConnectorServices
