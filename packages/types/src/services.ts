/**
 * Services: what one package offers the others through the connector, by name, instead of the others probing
 * for method names. A middleware declares in its manifest what it provides (`provides`) and exposes it on its
 * instance (`services`); an extension declares what it uses or requires; the connector checks both at start and
 * hands them out with `ConnectorHandle.getService(name)`.
 */

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

/** An alert: a next hop answering "exceeded maximum balance." (the reference's alert fields). */
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
}

export interface ConnectorServices {
  balanceAdmin: BalanceAdmin
  alertAdmin: AlertAdmin
}

export type ServiceName = keyof ConnectorServices
