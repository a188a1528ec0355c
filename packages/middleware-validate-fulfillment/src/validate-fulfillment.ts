/**
 * Checks that a Fulfill from the next hop really fulfills the packet: SHA-256(fulfillment) must equal
 * the execution condition (RFC 27). A wrong one becomes F05, so we never pass upstream a Fulfill the
 * sender's side would refuse while we have already paid the next hop.
 */
import { hash } from 'node:crypto'
import { fulfillmentOf, isFulfill } from '@conn/codec'
import {
  WrongConditionError,
  type Account, type DataHandler, type Logger, type Middleware
} from '@conn/types'

export class ValidateFulfillment implements Middleware {
  readonly name = 'validateFulfillment'
  /** Next hops already reported at warn; later wrong fulfillments from them are logged at debug. */
  private readonly warned = new Set<string>()

  constructor (private readonly logger?: Logger) {}

  // `then` rather than an async function: a closure per packet instead of an async frame and its promises
  readonly outgoingData: DataHandler = (ctx, next) => next(ctx).then((reply) => {
    if (isFulfill(reply)) {
      const fulfillment = fulfillmentOf(reply)
      const digest = hash('sha256', fulfillment, 'buffer')
      if (fulfillment.length !== 32 || !digest.equals(ctx.prepare.executionCondition)) {
        this.log(ctx.account.id, fulfillment, ctx.prepare.executionCondition)
        throw new WrongConditionError('fulfillment did not match expected value.')
      }
    }
    return reply
  })

  removeAccount (account: Account): void {
    this.warned.delete(account.id)
  }

  /** A next hop that sends a wrong fulfillment is misbehaving: say so once per account at warn. */
  private log (account: string, fulfillment: Buffer, condition: Buffer): void {
    const logger = this.logger
    if (logger === undefined) return
    const fields = { account, fulfillment: fulfillment.toString('base64'), executionCondition: condition.toString('base64') }
    if (!this.warned.has(account)) {
      this.warned.add(account)
      logger.warn(fields, 'received incorrect fulfillment from account; rejected with F05 (further occurrences at debug)')
    } else if (logger.isLevelEnabled('debug')) {
      logger.debug(fields, 'received incorrect fulfillment from account')
    }
  }
}
