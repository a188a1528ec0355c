/**
 * The ILP error catalogue (RFC 27 section "Error codes"), one class per code, all in one file.
 *
 * Throw one of these anywhere on the packet path; the error-handler middleware turns it into a Reject
 * with `triggeredBy` set to the connector's address (unless the error already carries one).
 * Errors that are not IlpErrors become F00 Bad Request, as in the reference connector.
 */

export type IlpErrorCode =
  | 'F00' | 'F01' | 'F02' | 'F03' | 'F04' | 'F05' | 'F06' | 'F07' | 'F08' | 'F99'
  | 'T00' | 'T01' | 'T02' | 'T03' | 'T04' | 'T05' | 'T99'
  | 'R00' | 'R01' | 'R02' | 'R99'

export interface IlpErrorOptions {
  /** ILP address of the node that raised the error; the error handler fills in ours when absent. */
  triggeredBy?: string
  /** Reject data (at most 32767 bytes). */
  data?: Buffer
  cause?: unknown
}

const EMPTY = Buffer.alloc(0)

export class IlpError extends Error {
  readonly ilpErrorCode: IlpErrorCode
  triggeredBy: string | undefined
  readonly data: Buffer

  constructor (code: IlpErrorCode, message: string, options: IlpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.ilpErrorCode = code
    this.triggeredBy = options.triggeredBy
    this.data = options.data ?? EMPTY
  }

  /** The reference connector's name for `data`; middlewares written for it read this. */
  get ilpErrorData (): Buffer { return this.data }
}

/** Something that looks like an ILP error, including errors thrown by reference-style middlewares. */
export interface IlpErrorLike {
  ilpErrorCode?: string
  message?: string
  ilpErrorData?: Buffer
  data?: Buffer
  triggeredBy?: string
}

/**
 * True for an IlpError, checked by shape (an Error with a three-character `ilpErrorCode`) rather than
 * `instanceof`, since another copy of @conn/types may have made it.
 */
export function isIlpError (err: unknown): err is IlpError {
  if (err instanceof IlpError) return true
  return err instanceof Error && typeof (err as Partial<IlpError>).ilpErrorCode === 'string' &&
    /^[FTR][0-9A-Z]{2}$/.test((err as IlpError).ilpErrorCode) && Buffer.isBuffer((err as Partial<IlpError>).data)
}

// Final errors (F): the packet will not succeed if sent again unchanged.
export class BadRequestError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F00', message, options) }
}
export class InvalidPacketError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F01', message, options) }
}
export class UnreachableError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F02', message, options) }
}
export class InvalidAmountError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F03', message, options) }
}
export class InsufficientDestinationAmountError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F04', message, options) }
}
export class WrongConditionError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F05', message, options) }
}
export class UnexpectedPaymentError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F06', message, options) }
}
export class CannotReceiveError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F07', message, options) }
}

/** F08 with the RFC's data: the received amount then the maximum amount, each a big-endian UInt64. */
export class AmountTooLargeError extends IlpError {
  readonly receivedAmount: bigint
  readonly maximumAmount: bigint
  constructor (message: string, amounts: { receivedAmount: bigint, maximumAmount: bigint }, options?: Omit<IlpErrorOptions, 'data'>) {
    const data = Buffer.alloc(16)
    data.writeBigUInt64BE(amounts.receivedAmount, 0)
    data.writeBigUInt64BE(amounts.maximumAmount, 8)
    super('F08', message, { ...options, data })
    this.receivedAmount = amounts.receivedAmount
    this.maximumAmount = amounts.maximumAmount
  }
}
export class FinalApplicationError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('F99', message, options) }
}

// Temporary errors (T): the packet may succeed if sent again later.
export class InternalError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T00', message, options) }
}
export class PeerUnreachableError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T01', message, options) }
}
export class PeerBusyError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T02', message, options) }
}
export class ConnectorBusyError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T03', message, options) }
}
export class InsufficientLiquidityError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T04', message, options) }
}
export class RateLimitedError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T05', message, options) }
}
export class TemporaryApplicationError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('T99', message, options) }
}

// Relative errors (R): the packet may succeed with a different amount or expiry.
export class TransferTimedOutError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('R00', message, options) }
}
export class InsufficientSourceAmountError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('R01', message, options) }
}
export class InsufficientTimeoutError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('R02', message, options) }
}
export class RelativeApplicationError extends IlpError {
  constructor (message: string, options?: IlpErrorOptions) { super('R99', message, options) }
}

/**
 * An error for the operator rather than for a packet: bad configuration, a package that cannot load, a store
 * that cannot open, rates that cannot be fetched. It carries a stable `code` (`ERR_...`) and a message that
 * names the option or resource and says what is wrong; the cli prints the message alone, without a stack.
 */
export class OperatorError extends Error {
  readonly operatorError = true
  constructor (readonly code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** True for an OperatorError, by shape (another copy of @conn/types may have made it). */
export function isOperatorError (err: unknown): err is OperatorError {
  return err instanceof Error && (err as Partial<OperatorError>).operatorError === true &&
    typeof (err as Partial<OperatorError>).code === 'string'
}

/** One refused plugin option: its path inside the account's `options` and why. */
export interface PluginOptionIssue {
  /** e.g. `listener.secret` */
  option: string
  message: string
}

/**
 * A plugin refusing its options, all problems at once. The connector reports each as
 * `accounts.<id>.options.<option>: <message>`, like any other configuration error, before any port opens.
 */
export class PluginOptionsError extends OperatorError {
  constructor (readonly issues: PluginOptionIssue[]) {
    super('ERR_PLUGIN_OPTIONS', issues.map((issue) => `${issue.option}: ${issue.message}`).join('\n'))
  }
}

/** True for a PluginOptionsError, by shape (the plugin may have loaded its own copy of @conn/types). */
export function isPluginOptionsError (err: unknown): err is PluginOptionsError {
  return isOperatorError(err) && err.code === 'ERR_PLUGIN_OPTIONS' && Array.isArray((err as Partial<PluginOptionsError>).issues)
}
