/**
 * Rejects a forwarded packet with R00 "packet expired." when the next hop has not answered by the
 * packet's expiry; a reply that arrives later is dropped. Without it a silent next hop would hold the
 * sender's packet, and any balance it reserved, until the plugin itself gave up.
 */
import { TransferTimedOutError, type DataHandler, type Middleware } from '@conn/types'
import { Deadlines } from './deadlines.ts'

export class Expire implements Middleware {
  readonly name = 'expire'
  private readonly deadlines = new Deadlines()

  // A plain function: the promise it returns is the race itself, with no async frame around it.
  readonly outgoingData: DataHandler = (ctx, next) => {
    const expiresAt = ctx.prepare.expiresAt
    if (expiresAt <= Date.now()) return Promise.reject(new TransferTimedOutError('packet expired.'))
    const reply = next(ctx)
    return new Promise<Buffer>((resolve, reject) => {
      const deadline = this.deadlines.add(expiresAt, () => { reject(new TransferTimedOutError('packet expired.')) })
      reply.then(
        (result) => { this.deadlines.remove(deadline); resolve(result) },
        (err: unknown) => { this.deadlines.remove(deadline); reject(err) }
      )
    })
  }

  /** Packets waiting for their reply (for tests and diagnostics). */
  get inFlight (): number { return this.deadlines.size }
}
