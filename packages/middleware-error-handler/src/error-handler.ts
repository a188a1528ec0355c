/**
 * The one place where anything thrown on the incoming packet path becomes an ILP Reject. A typed ILP error
 * keeps its code, message and data, with `triggeredBy` = our address unless the error names another node.
 * Anything else (a bug, a failing dependency, a plugin that threw) is none of the peer's business: the peer gets
 * T00 with a generic message, and the detail goes to our log. It is the outermost middleware, so rejects from
 * every other one pass through it.
 */
import { MAX_DATA_LENGTH, serializeReject } from '@conn/codec'
import type { DataHandler, IlpErrorLike, Middleware, MiddlewareApi, MoneyHandler, PacketContext } from '@conn/types'

const CODE_PATTERN = /^[FTR][0-9A-Z]{2}$/
/** What a peer is told about an error that is not an ILP error (the reference sends F00 with the internal message). */
export const INTERNAL_ERROR_MESSAGE = 'internal error.'
/** Unexpected (non-ILP) errors are logged at warn once per message, then only at debug, to keep floods quiet. */
const MAX_REMEMBERED_MESSAGES = 100

export class ErrorHandler implements Middleware {
  readonly name = 'errorHandler'
  private readonly warned = new Set<string>()

  constructor (private readonly api: MiddlewareApi) {}

  // `then` rather than an async function: closures per packet instead of an async frame and its promises
  readonly incomingData: DataHandler = (ctx, next) => next(ctx).then(
    (reply) => Buffer.isBuffer(reply) ? reply : this.fail(ctx, new Error('handler did not return a value.')),
    (thrown: unknown) => this.fail(ctx, thrown)
  )

  /** The Reject for an error that reached the outermost handler, logged. */
  private fail (ctx: PacketContext, thrown: unknown): Buffer {
    const err = this.normalize(thrown)
    if (isIlpCode(err.ilpErrorCode)) {
      const logger = this.api.logger
      if (logger.isLevelEnabled('debug')) logger.debug({ account: ctx.account.id, code: err.ilpErrorCode, reason: err.message }, 'packet rejected')
      return this.reject(err, err.ilpErrorCode)
    }
    this.logUnexpected(ctx, err)
    return serializeReject({ code: 'T00', triggeredBy: this.api.getOwnAddress(), message: INTERNAL_ERROR_MESSAGE, data: EMPTY })
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

  private reject (err: Error & IlpErrorLike, code: string): Buffer {
    const data = err.ilpErrorData ?? err.data
    return serializeReject({
      code,
      triggeredBy: typeof err.triggeredBy === 'string' && err.triggeredBy !== '' ? err.triggeredBy : this.api.getOwnAddress(),
      message: typeof err.message === 'string' ? err.message : '',
      data: Buffer.isBuffer(data) && data.length <= MAX_DATA_LENGTH ? data : EMPTY
    })
  }

  /**
   * A bug or a failing dependency, which the operator should see: logged at warn with the account and the packet,
   * once per message (later ones at debug, so a flood stays quiet).
   */
  private logUnexpected (ctx: PacketContext, err: Error & IlpErrorLike): void {
    const logger = this.api.logger
    const { destination, amount } = ctx.prepare
    if (!this.warned.has(err.message) && this.warned.size < MAX_REMEMBERED_MESSAGES) {
      this.warned.add(err.message)
      logger.warn({ account: ctx.account.id, destination, amount: String(amount), err },
        'unexpected error on the packet path; rejected with T00 (further occurrences of this message at debug)')
    } else if (logger.isLevelEnabled('debug')) {
      logger.debug({ account: ctx.account.id, destination, amount: String(amount), reason: err.message }, 'unexpected error on the packet path; rejected with T00')
    }
  }
}

const EMPTY = Buffer.alloc(0)

/** Whether the value is a valid ILP error code (F, T or R and two more characters). */
function isIlpCode (code: unknown): code is string {
  return typeof code === 'string' && CODE_PATTERN.test(code)
}
