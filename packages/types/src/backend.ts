/** Exchange-rate backends: how many destination base units one source base unit buys. */
import type { Account } from './account.ts'
import type { Logger } from './logger.ts'

/**
 * A rate: multiply a source amount (base units) by it and floor to get the destination amount. Already
 * includes the asset scales and the spread. A number is read by its shortest decimal form, exactly as
 * the reference connector reads it; an exact fraction is used as is.
 */
export type Rate = number | { numerator: bigint, denominator: bigint }

export interface PaymentInfo {
  sourceAccount: string
  sourceAmount: string
  destinationAccount: string
  destinationAmount: string
}

export interface Backend {
  connect? (): Promise<void>
  disconnect? (): Promise<void>
  getRate (sourceAccount: string, destinationAccount: string): Promise<Rate> | Rate
  /** Called after each fulfilled forward (fire and forget). */
  submitPayment? (payment: PaymentInfo): Promise<void>
}

export interface BackendOptions {
  /** Fraction taken off every rate (`spread` config, default 0.002). */
  spread: number
  [option: string]: unknown
}

export interface BackendApi {
  /** The account's configuration, or undefined for an unknown account. */
  getInfo (accountId: string): Account | undefined
  readonly logger: Logger
}
