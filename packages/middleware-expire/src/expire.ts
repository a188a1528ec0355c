/**
 * Rejects a forwarded packet with R00 "packet expired." when the next hop has not answered by the
 * packet's expiry; a reply that arrives later is dropped. Without it a silent next hop would hold the
 * sender's packet, and any balance it reserved, until the plugin itself gave up.
 */
import { TransferTimedOutError, type DataHandler, type Middleware } from '@conn/types'

export class Expire implements Middleware {
  readonly name = 'expire'

  readonly outgoingData: DataHandler = async (ctx, next) => {
    const remaining = ctx.prepare.expiresAt - Date.now()
    if (remaining <= 0) throw new TransferTimedOutError('packet expired.')
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(expired, remaining, reject)
      next(ctx).then(
        (reply) => { clearTimeout(timer); resolve(reply) },
        (err: unknown) => { clearTimeout(timer); reject(err) }
      )
    })
  }
}

function expired (reject: (err: Error) => void): void {
  reject(new TransferTimedOutError('packet expired.'))
}

