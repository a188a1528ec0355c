/**
 * Route exchange over CCP for a conn connector (reference services/route-broadcaster.ts and
 * controllers/ccp.ts, section 4): tracks which connected accounts are peers, answers their
 * `peer.route.control` and `peer.route.update` requests, feeds what they advertise into the connector's
 * routing table, and advertises the table's changes back to them. The connector's table picks the best
 * route per prefix; this class only learns and tells.
 */
import { BadRequestError, type Logger, type PacketContext, type Routing, type RoutingApi } from '@conn/types'
import { ForwardingTable, type AdvertisedRoute, type RouteRelation } from './forwarding-table.ts'
import { Peer, routeExchangeOf, type PeerStatus } from './peers.ts'
import { CcpReceiver } from './receiver.ts'
import { CcpSender } from './sender.ts'
import { PendingWithdrawals } from './withdrawals.ts'
import {
  CONTROL_DESTINATION, MODE_IDLE, MODE_SYNC, UPDATE_DESTINATION, parseControl, parseUpdate, serializeResponse,
  type CcpRouteControlRequest, type CcpRouteUpdateRequest
} from './vendor/ccp.ts'

/** The reference retries a failed route control message after 30 s; conn's back-off never waits longer than that. */
export const MAX_CONTROL_RETRY_INTERVAL = 30_000

/** Prefixes whose advertised route is re-derived per macrotask (a few milliseconds of work). */
export const REFRESH_CHUNK = 2000

/** At shutdown, how long the withdrawal of our routes may take to reach the peers (ms). */
export const WITHDRAW_TIMEOUT = 2000

/**
 * How long a route control message may go unanswered before it counts as lost and is retried (capped by
 * routeBroadcastInterval). A peer answers it at once, without forwarding anything; waiting a whole
 * broadcast interval would make one lost message cost as much as the 30 s retry we avoid.
 */
export const MAX_CONTROL_TIMEOUT = 5_000

export interface CcpRoutingOptions {
  /**
   * Ceiling of the back-off between retries of a failed or rejected route control message (ms): the first
   * retry comes after 100 ms (or this, if smaller), each further one after twice the previous delay, up to
   * this. Default min(routeBroadcastInterval, 30 s).
   */
  controlRetryInterval?: number
}

/** A route as the status reports it: the path as one space-separated string, no auth. */
export interface RouteJson {
  nextHop: string
  path: string
}

/** The shape of the reference's `GET /routing`. */
export interface RoutingStatus {
  routingTableId: string
  currentEpoch: number
  localRoutingTable: Record<string, RouteJson>
  forwardingRoutingTable: Record<string, RouteJson | null>
  routingLog: Array<{ prefix: string, route?: RouteJson, epoch: number }>
  peers: Record<string, PeerStatus>
}

type Listener = (value: string) => void

export class CcpRouting implements Routing {
  readonly forwarding: ForwardingTable
  private readonly peers = new Map<string, Peer>()
  private readonly log: Logger
  private readonly globalPrefix: string
  private readonly controlRetryInterval: number
  private running = false
  private unsubscribe: (() => void) | undefined
  private cleanupTimer: NodeJS.Timeout | undefined
  /**
   * Prefixes whose route changed since we last re-derived what we advertise. A route update applies its routes
   * to the connector's table at once (packets use them) and the forwarding table catches up in the next
   * macrotask: the two halves of the work each block the event loop half as long, and a prefix changed twice
   * in one update is re-derived once.
   */
  private readonly changed = new Set<string>()
  private refreshPending: NodeJS.Immediate | undefined
  /** Routes of peers that went away (or expired), leaving the table a chunk at a time. */
  private readonly withdrawals: PendingWithdrawals
  private readonly listeners: Array<['account-connect' | 'account-disconnect' | 'account-added' | 'account-removed' | 'address-changed', Listener]>

  constructor (private readonly api: RoutingApi, options: CcpRoutingOptions = {}) {
    const { config } = api
    this.log = api.logger
    this.globalPrefix = config.env === 'production' ? 'g' : 'test'
    this.controlRetryInterval = options.controlRetryInterval ?? Math.min(config.routeBroadcastInterval, MAX_CONTROL_RETRY_INTERVAL)
    this.forwarding = new ForwardingTable({
      table: api.table,
      getOwnAddress: () => api.getOwnAddress(),
      globalPrefix: this.globalPrefix,
      routingSecret: api.routingSecret,
      relationOf: this.relationOf
    })
    this.withdrawals = new PendingWithdrawals(api.table)
    this.listeners = [
      ['account-connect', (id) => this.add(id)],
      ['account-added', (id) => this.add(id)],
      ['account-disconnect', (id) => this.remove(id)],
      ['account-removed', (id) => this.remove(id)],
      ['address-changed', () => this.readvertiseAll()]
    ]
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.api.registerPeerProtocol('peer.route', this.handle)
    this.forwarding.refreshAll()
    this.unsubscribe = this.api.table.onChange(this.onRouteChange)
    for (const [event, listener] of this.listeners) this.api.on(event, listener)
    this.cleanupTimer = setInterval(() => this.expireRoutes(), this.api.config.routeCleanupInterval)
    this.cleanupTimer.unref?.()
    for (const account of [...this.api.getAccounts()]) this.add(account.id)
    this.log.info({ routingTableId: this.forwarding.routingTableId }, 'route exchange (CCP) started')
  }

  /**
   * Stops: our routes are withdrawn and the withdrawal sent to every peer that syncs from us (for at most
   * WITHDRAW_TIMEOUT, so shutdown never hangs on a peer), then every peer is dropped with what it taught us.
   */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.unsubscribe?.()
    for (const [event, listener] of this.listeners) this.api.off(event, listener)
    clearInterval(this.cleanupTimer)
    this.refreshChanged(Infinity)
    if (this.forwarding.withdrawAll()) {
      const deadline = Date.now() + WITHDRAW_TIMEOUT
      await Promise.allSettled([...this.peers.values()].map(async (peer) => await peer.sender?.catchUp(deadline)))
    }
    for (const id of [...this.peers.keys()]) this.remove(id)
    this.withdrawals.flush()
  }

  /** The peer object of an account we exchange routes with, while it is connected. */
  getPeer (accountId: string): Peer | undefined { return this.peers.get(accountId) }

  /** Tables, log and peers in the shape of the reference's `GET /routing`. */
  getStatus (): RoutingStatus {
    this.withdrawals.flush()
    this.refreshChanged(Infinity)
    const localRoutingTable: Record<string, RouteJson> = {}
    for (const [prefix, route] of this.api.table.entries()) localRoutingTable[prefix] = routeJson(route)
    const forwardingRoutingTable: Record<string, RouteJson | null> = {}
    for (const [prefix, update] of this.forwarding.entries()) {
      forwardingRoutingTable[prefix] = update.route === undefined ? null : routeJson(update.route)
    }
    const routingLog: RoutingStatus['routingLog'] = []
    for (const update of this.forwarding.log) {
      if (update === null || update === undefined) continue
      routingLog.push(update.route === undefined
        ? { prefix: update.prefix, epoch: update.epoch }
        : { prefix: update.prefix, route: routeJson(update.route), epoch: update.epoch })
    }
    const peers: Record<string, PeerStatus> = {}
    for (const [id, peer] of this.peers) peers[id] = peer.status()
    return {
      routingTableId: this.forwarding.routingTableId,
      currentEpoch: this.forwarding.currentEpoch,
      localRoutingTable,
      forwardingRoutingTable,
      routingLog,
      peers
    }
  }

  /** Handler of `peer.route` and `peer.route.*` Prepares (after the incoming middlewares). */
  readonly handle = async (ctx: PacketContext): Promise<Buffer> => {
    const { destination, data } = ctx.prepare
    const accountId = ctx.account.id
    if (destination === CONTROL_DESTINATION) {
      this.handleControl(accountId, parseControl(data))
    } else if (destination === UPDATE_DESTINATION) {
      this.handleUpdate(accountId, parseUpdate(data))
    } else {
      throw new BadRequestError('unrecognized ccp message. destination=' + destination)
    }
    return serializeResponse()
  }

  private handleControl (accountId: string, control: CcpRouteControlRequest): void {
    if (control.mode !== MODE_IDLE && control.mode !== MODE_SYNC) {
      throw new BadRequestError('invalid route control mode. mode=' + String(control.mode))
    }
    const peer = this.peerFor(accountId)
    if (peer === undefined) {
      this.log.debug({ account: accountId }, 'received route control message from non-peer')
      throw new BadRequestError('cannot process route control messages from non-peers.')
    }
    if (peer.sender === undefined) {
      this.log.debug({ account: accountId }, 'received route control message from a peer we do not send routes to (sendRoutes=false)')
      throw new BadRequestError('rejecting route control message, we are configured not to send routes to you.')
    }
    peer.sender.handleControl(control)
  }

  private handleUpdate (accountId: string, update: CcpRouteUpdateRequest): void {
    const peer = this.peerFor(accountId)
    if (peer === undefined) {
      this.log.debug({ account: accountId }, 'received route update from non-peer')
      throw new BadRequestError('cannot process route update messages from non-peers.')
    }
    if (peer.receiver === undefined) {
      this.log.debug({ account: accountId }, 'received route update from a peer we do not receive routes from (receiveRoutes=false)')
      throw new BadRequestError('rejecting route update, we are configured not to receive routes from you.')
    }
    const result = peer.receiver.handleUpdate(update)
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({
        account: accountId,
        result,
        fromEpoch: update.fromEpochIndex,
        toEpoch: update.toEpochIndex,
        routes: update.newRoutes.length,
        withdrawn: update.withdrawnRoutes.length
      }, 'route update received')
    }
    // We missed epochs: ask the peer to send again from the last one we have.
    if (result === 'gap') peer.receiver.sendRouteControl()
  }

  /**
   * The peer an account is. A request can arrive before the account's plugin says it is connected (the
   * other side saw the link up first): an account that exchanges routes becomes a peer right away, and its
   * connect event, when it comes, sends our control message.
   */
  private peerFor (accountId: string): Peer | undefined {
    const peer = this.peers.get(accountId)
    if (peer !== undefined || !this.running) return peer
    this.add(accountId, true)
    return this.peers.get(accountId)
  }

  /**
   * The account connected, or was added: make it a peer (if it exchanges routes) and ask for its routes.
   * `linkUp`: it just sent us a request, so the link works even if its plugin does not say connected yet.
   */
  private add (accountId: string, linkUp = false): void {
    if (!this.running) return
    const account = this.api.getAccount(accountId)
    if (account === undefined) return
    const exchange = routeExchangeOf(account)
    if (!exchange.send && !exchange.receive) {
      this.log.debug({ account: accountId }, 'not sending/receiving routes for this account; set sendRoutes/receiveRoutes to change that')
      return
    }
    const existing = this.peers.get(accountId)
    if (existing !== undefined) {
      // Connected again without a disconnect in between: it may have lost what we told it.
      existing.receiver?.sendRouteControl()
      return
    }
    if (!linkUp && !account.plugin.isConnected()) return
    const { config } = this.api
    const logger = this.log.child({ account: accountId })
    const send = async (prepare: Buffer): Promise<Buffer> => await this.api.sendPeerPacket(accountId, prepare)
    const isConnected = (): boolean => account.plugin.isConnected()
    const sender = exchange.send
      ? new CcpSender({
        peerId: accountId,
        forwarding: this.forwarding,
        getOwnAddress: () => this.api.getOwnAddress(),
        relationOf: this.relationOf,
        send,
        isConnected,
        routeBroadcastInterval: config.routeBroadcastInterval,
        routeExpiry: config.routeExpiry,
        logger
      })
      : undefined
    const receiver = exchange.receive
      ? new CcpReceiver({
        peerId: accountId,
        table: this.api.table,
        withdrawLater: (prefixes) => this.withdrawals.add(accountId, prefixes),
        keep: (prefix) => this.withdrawals.cancel(accountId, prefix),
        getOwnAddress: () => this.api.getOwnAddress(),
        globalPrefix: this.globalPrefix,
        send,
        isConnected,
        controlRetryInterval: this.controlRetryInterval,
        controlTimeout: Math.min(config.routeBroadcastInterval, MAX_CONTROL_TIMEOUT),
        logger
      })
      : undefined
    const peer = new Peer(accountId, sender, receiver)
    this.peers.set(accountId, peer)
    this.log.debug({ account: accountId, sendRoutes: exchange.send, receiveRoutes: exchange.receive }, 'route exchange peer added')
    receiver?.sendRouteControl()
  }

  /** The account disconnected or was removed: stop talking to it and withdraw what it told us. */
  private remove (accountId: string): void {
    const peer = this.peers.get(accountId)
    if (peer === undefined) return
    peer.stop()
    this.peers.delete(accountId)
    if (peer.receiver !== undefined) this.withdrawals.add(accountId, peer.receiver.prefixes())
    this.log.debug({ account: accountId }, 'route exchange peer removed')
  }

  /** Route expiry (every routeCleanupInterval): drops the routes of peers silent past their hold-down time. */
  private expireRoutes (): void {
    const now = Date.now()
    for (const peer of this.peers.values()) {
      const receiver = peer.receiver
      if (receiver === undefined || !receiver.expire(now)) continue
      this.log.warn({ account: peer.id }, 'routes from peer expired: no route update within its hold-down time; asking it for its routes again')
      receiver.sendRouteControl()
    }
  }

  private readonly onRouteChange = (prefix: string): void => {
    this.changed.add(prefix)
    this.refreshPending ??= setImmediate(this.refreshNextTurn)
  }

  /**
   * The refresh runs one turn of the event loop after the route update that caused it (an immediate queued
   * from an immediate waits for the next turn): the packets that arrived meanwhile are forwarded between the
   * two, so a packet waits for the longer of them, not for both.
   */
  private readonly refreshNextTurn = (): void => {
    this.refreshPending = setImmediate(this.refreshChanged)
  }

  /**
   * Re-derives what we advertise for the prefixes changed since the last time (at most `limit` of them; the
   * rest in the next macrotask), and tells the peers.
   */
  private readonly refreshChanged = (limit = REFRESH_CHUNK): void => {
    if (this.refreshPending !== undefined) clearImmediate(this.refreshPending)
    this.refreshPending = undefined
    let advertised = false
    let left = limit
    for (const prefix of this.changed) {
      if (left-- <= 0) break
      this.changed.delete(prefix)
      advertised = this.forwarding.refresh(prefix) || advertised
    }
    if (this.changed.size > 0) this.refreshPending = setImmediate(this.refreshChanged)
    if (advertised) this.scheduleUpdates()
  }

  private readvertiseAll (): void {
    if (this.forwarding.refreshAll()) this.scheduleUpdates()
  }

  private scheduleUpdates (): void {
    for (const peer of this.peers.values()) peer.sender?.schedule()
  }

  private readonly relationOf = (accountId: string): RouteRelation => {
    if (accountId === '') return 'local'
    return this.api.getAccount(accountId)?.relation ?? 'peer'
  }
}

function routeJson (route: { nextHop: string, path: string[] } | AdvertisedRoute): RouteJson {
  return { nextHop: route.nextHop, path: route.path.join(' ') }
}
