/**
 * Checks that a Fulfill from the next hop really fulfills the packet: SHA-256(fulfillment) must equal
 * the execution condition (RFC 27). A wrong one becomes F05, so we never pass upstream a Fulfill the
 * sender's side would refuse while we have already paid the next hop.
 */
import { createHash } from 'node:crypto'
import { WrongConditionError, fulfillmentOf, isFulfill, type DataHandler, type Middleware } from '@conn/types'

export class ValidateFulfillment implements Middleware {
  readonly name = 'validateFulfillment'

  readonly outgoingData: DataHandler = async (ctx, next) => {
    const reply = await next(ctx)
    if (isFulfill(reply)) {
      const fulfillment = fulfillmentOf(reply)
      const digest = createHash('sha256').update(fulfillment).digest()
      if (fulfillment.length !== 32 || !digest.equals(ctx.prepare.executionCondition)) {
        throw new WrongConditionError('fulfillment did not match expected value.')
      }
    }
    return reply
  }
}
