/**
 * What a failed `sendMoney` says about the money, so a settlement is never paid twice.
 *
 * A plugin's `sendMoney` can fail in two ways that look alike but must be handled in opposite ways:
 * - **not sent**: it refused before anything left (no session, the frame could not be written, the peer answered
 *   that it did not take the money). Nothing moved; sending again is safe.
 * - **unknown**: the money may have left (a time-out after the request went out, the connection lost while
 *   waiting for the answer, any error the plugin does not explain). Sending again could pay twice.
 *
 * A plugin says "not sent" with an error whose `settlement` property is `'not-sent'` (`MoneyNotSentError`, or its
 * own error class with that property: plugins need not depend on this package). Every other error is unknown.
 * A plugin that may learn the outcome later (a late answer) can say so with `MoneyOutcomeUnknownError` and its
 * `outcome` promise.
 */
import { OperatorError } from './errors.ts'

/** What became of a settlement whose outcome was unknown. */
export type SettlementOutcome = 'paid' | 'not-paid'

/** `sendMoney` refused before anything was sent: nothing moved, so sending again cannot pay twice. */
export class MoneyNotSentError extends Error {
  readonly settlement = 'not-sent' as const
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'MoneyNotSentError'
  }
}

/**
 * `sendMoney` failed after the money may have left (optional: any error without `settlement: 'not-sent'` counts
 * as this). `outcome`, when the plugin gives one, resolves once the plugin learns what happened (e.g. a late
 * answer from the peer); it may also never settle.
 */
export class MoneyOutcomeUnknownError extends Error {
  readonly settlement = 'unknown' as const
  readonly outcome: Promise<SettlementOutcome> | undefined
  constructor (message: string, options: ErrorOptions & { outcome?: Promise<SettlementOutcome> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MoneyOutcomeUnknownError'
    this.outcome = options.outcome
  }
}

/** True when a `sendMoney` error says nothing was sent (by shape: `settlement === 'not-sent'`). */
export function isMoneyNotSent (err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { settlement?: unknown }).settlement === 'not-sent'
}

/** The promise of the outcome a `sendMoney` error carries (MoneyOutcomeUnknownError's `outcome`), if any. */
export function lateOutcomeOf (err: unknown): PromiseLike<SettlementOutcome> | undefined {
  if (typeof err !== 'object' || err === null || isMoneyNotSent(err)) return undefined
  const outcome = (err as { outcome?: unknown }).outcome
  return typeof outcome === 'object' && outcome !== null && typeof (outcome as PromiseLike<unknown>).then === 'function'
    ? outcome as PromiseLike<SettlementOutcome>
    : undefined
}

export type SettlementAdminErrorCode =
  /** The account has no unsettled settlement (none, or resolved already). */
  | 'ERR_SETTLEMENT_NOT_FOUND'
  /** The id given is not the one of the account's unsettled settlement. */
  | 'ERR_SETTLEMENT_MISMATCH'
  /** Another resolution of the same settlement is in progress. */
  | 'ERR_SETTLEMENT_BUSY'

/** `SettlementAdmin.resolveSettlement` refusing: nothing was changed. */
export class SettlementAdminError extends OperatorError {
  declare readonly code: SettlementAdminErrorCode
  constructor (code: SettlementAdminErrorCode, message: string) {
    super(code, message)
  }
}

/** True for a SettlementAdminError, by shape (another copy of @conn/types may have made it). */
export function isSettlementAdminError (err: unknown): err is SettlementAdminError {
  const code = (err as { code?: unknown } | null)?.code
  return err instanceof Error && (err as { operatorError?: unknown }).operatorError === true &&
    (code === 'ERR_SETTLEMENT_NOT_FOUND' || code === 'ERR_SETTLEMENT_MISMATCH' || code === 'ERR_SETTLEMENT_BUSY')
}
