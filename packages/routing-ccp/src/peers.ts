/**
 * Which accounts exchange routes, and the per-peer pair of sender and receiver (reference routing/peer.ts,
 * section 4.2): `sendRoutes` / `receiveRoutes` as configured, else true for parents and peers and false
 * for children. An account that does neither is not a peer of the route exchange.
 */
import type { Account } from '@conn/types'
import type { CcpReceiver, ReceiverStatus } from './receiver.ts'
import type { CcpSender, SenderStatus } from './sender.ts'

export interface RouteExchange {
  /** We send this account our routes (it may send us route control messages). */
  send: boolean
  /** We learn routes from this account (we send it route control messages, it sends us updates). */
  receive: boolean
}

export function routeExchangeOf (account: Pick<Account, 'relation' | 'config'>): RouteExchange {
  const { sendRoutes, receiveRoutes } = account.config
  return {
    send: typeof sendRoutes === 'boolean' ? sendRoutes : account.relation !== 'child',
    receive: typeof receiveRoutes === 'boolean' ? receiveRoutes : account.relation !== 'child'
  }
}

export interface PeerStatus {
  send?: SenderStatus
  receive?: ReceiverStatus
}

/** A connected account we exchange routes with. */
export class Peer {
  constructor (
    readonly id: string,
    readonly sender: CcpSender | undefined,
    readonly receiver: CcpReceiver | undefined
  ) {}

  status (): PeerStatus {
    const status: PeerStatus = {}
    if (this.sender !== undefined) status.send = this.sender.status()
    if (this.receiver !== undefined) status.receive = this.receiver.status()
    return status
  }

  stop (): void {
    this.sender?.stop()
    this.receiver?.stop()
  }
}
