/**
 * The one place where anything thrown on the incoming packet path becomes an ILP Reject: the error's
 * code (F00 when it has none), its message and data, and `triggeredBy` = our address unless the error
 * names another node. It is the outermost middleware, so rejects from every other one pass through it.
 */
import {
  serializeReject,
  type DataHandler, type IlpErrorLike, type Middleware, type MiddlewareApi, type MoneyHandler
} from '@conn/types'

const CODE_PATTERN = /^[FTR][0-9A-Z]{2}$/
const MAX_DATA_LENGTH = 32767
/** Unexpected (non-ILP) errors are logged at warn once per message, then only at debug, to keep floods quiet. */
const MAX_REMEMBERED_MESSAGES = 100

export class ErrorHandler implements Middleware {
  readonly name = 'errorHandler'
  private readonly warned = new Set<string>()

  constructor (private readonly api: MiddlewareApi) {}

  // `then` rather than an async function: closures per packet instead of an async frame and its promises
  readonly incomingData: DataHandler = (ctx, next) => next(ctx).then(
    (reply) => Buffer.isBuffer(reply) ? reply : this.fail(ctx.account.id, new Error('handler did not return a value.')),
    (thrown: unknown) => this.fail(ctx.account.id, thrown)
  )

  /** The Reject for an error that reached the outermost handler, logged. */
  private fail (accountId: string, thrown: unknown): Buffer {
    const err = this.normalize(thrown)
    const code = codeOf(err)
    this.log(err, code, accountId)
    return this.reject(err, code)
  }

  readonly incomingMoney: MoneyHandler = async (ctx, next) => {
    try {
      await next(ctx)
    } catch (thrown) {
      const err = this.normalize(thrown)
      this.api.logger.warn({ account: ctx.account.id, amount: String(ctx.amount), err }, 'incoming money failed')
      throw err
    }
  }

  private normalize (thrown: unknown): Error & IlpErrorLike {
    if (thrown !== null && typeof thrown === 'object') return thrown as Error & IlpErrorLike
    return new Error('Non-object thrown: ' + String(thrown))
  }

  /** Serializes the error as a Reject. */
  toReject (err: Error & IlpErrorLike): Buffer {
    return this.reject(err, codeOf(err))
  }

  private reject (err: Error & IlpErrorLike, code: string): Buffer {
    const data = err.ilpErrorData ?? err.data
    return serializeReject({
      code,
      triggeredBy: typeof err.triggeredBy === 'string' && err.triggeredBy !== '' ? err.triggeredBy : this.api.getOwnAddress(),
      message: typeof err.message === 'string' ? err.message : '',
      data: Buffer.isBuffer(data) && data.length <= MAX_DATA_LENGTH ? data : Buffer.alloc(0)
    })
  }

  private log (err: Error & IlpErrorLike, code: string, account: string): void {
    const logger = this.api.logger
    if (code !== err.ilpErrorCode) {
      // Not an ILP error (no code, or not a valid one): a bug or a failing dependency, which the operator
      // should see once.
      if (!this.warned.has(err.message) && this.warned.size < MAX_REMEMBERED_MESSAGES) {
        this.warned.add(err.message)
        logger.warn({ account, err }, 'unexpected error on the packet path; rejected with F00 (further occurrences at debug)')
        return
      }
    }
    if (logger.isLevelEnabled('debug')) logger.debug({ account, code, reason: err.message }, 'packet rejected')
  }
}

/** The error's code if it is a valid ILP error code, else F00. */
function codeOf (err: IlpErrorLike): string {
  return typeof err.ilpErrorCode === 'string' && CODE_PATTERN.test(err.ilpErrorCode) ? err.ilpErrorCode : 'F00'
}
