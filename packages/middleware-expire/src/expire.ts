/**
 * Rejects a forwarded packet with R00 "packet expired." when the next hop has not answered by the
 * packet's expiry; a reply that arrives later is dropped. Without it a silent next hop would hold the
 * sender's packet, and any balance it reserved, until the plugin itself gave up.
 */
import { TransferTimedOutError, type DataHandler, type Middleware } from '@conn/types'

/**
 * The longest delay setTimeout takes; a longer one fires after 1 ms. A packet that expires later than
 * this (only with a huge `maxHoldTime`) is given up on after about 24.8 days instead.
 */
const MAX_DELAY = 2 ** 31 - 1

export class Expire implements Middleware {
  readonly name = 'expire'

  readonly outgoingData: DataHandler = async (ctx, next) => {
    const remaining = ctx.prepare.expiresAt - Date.now()
    if (remaining <= 0) throw new TransferTimedOutError('packet expired.')
    const reply = next(ctx)
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(expired, Math.min(remaining, MAX_DELAY), reject)
      reply.then(
        (reply) => { clearTimeout(timer); resolve(reply) },
        (err: unknown) => { clearTimeout(timer); reject(err) }
      )
    })
  }
}

function expired (reject: (err: Error) => void): void {
  reject(new TransferTimedOutError('packet expired.'))
}

