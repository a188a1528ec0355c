/**
 * Sends our routes to one peer (reference routing/ccp-sender.ts, section 4.6). Idle until the peer asks
 * with a route control message; in SYNC mode it sends the log from the peer's last known epoch, at most
 * 50 epochs per update, 150 ms after something new (so that changes made together go together), the rest
 * of a long log update after update as each is accepted, and otherwise an empty heartbeat every
 * routeBroadcastInterval. Unlike the reference, a failed or rejected update is
 * retried one interval later instead of ending the broadcast to that peer.
 */
import { isFulfill, isReject, parseReject } from '@conn/codec'
import type { Logger } from '@conn/types'
import type { ForwardingTable, RouteRelation } from './forwarding-table.ts'
import { MODE_IDLE, MODE_SYNC, modeName, serializeUpdate, type CcpRoute, type CcpRouteControlRequest, type Mode } from './vendor/ccp.ts'
import { describeReply, FailureLog, withTimeout } from './util.ts'

export const MAX_EPOCHS_PER_UPDATE = 50
export const MINIMUM_UPDATE_INTERVAL = 150

export interface SenderDeps {
  peerId: string
  forwarding: ForwardingTable
  getOwnAddress: () => string
  /** Relation of an account ('' is `local`). */
  relationOf: (accountId: string) => RouteRelation
  /** Sends a Prepare to the peer and resolves its reply. */
  send: (prepare: Buffer) => Promise<Buffer>
  isConnected: () => boolean
  /** Heartbeat period, retry delay and send timeout (ms). */
  routeBroadcastInterval: number
  /** Sent as holdDownTime (ms). */
  routeExpiry: number
  logger: Logger
}

export interface SenderStatus {
  epoch: number
  mode: string
}

export class CcpSender {
  private mode: Mode = MODE_IDLE
  private lastKnownEpoch = 0
  private lastUpdate = 0
  private timer: NodeJS.Timeout | undefined
  /** When the planned send is due (ms since the epoch). */
  private due = 0
  private sending = false
  private stopped = false
  private readonly failures: FailureLog

  constructor (private readonly deps: SenderDeps) {
    this.failures = new FailureLog(deps.logger, 'route updates to peer are failing; retrying every broadcast interval', 'route updates to peer succeed again')
  }

  /** Our epoch the peer has (the next update starts there). */
  get epoch (): number { return this.lastKnownEpoch }

  status (): SenderStatus {
    return { epoch: this.lastKnownEpoch, mode: modeName(this.mode) }
  }

  /** A route control message from the peer: its mode and what it already has of our table. */
  handleControl (control: CcpRouteControlRequest): void {
    const { forwarding } = this.deps
    this.mode = control.mode === MODE_SYNC ? MODE_SYNC : MODE_IDLE
    // Another table id (we restarted, or it never heard from us) or an epoch we never reached: start over.
    this.lastKnownEpoch = control.lastKnownRoutingTableId === forwarding.routingTableId && control.lastKnownEpoch <= forwarding.currentEpoch
      ? control.lastKnownEpoch
      : 0
    // The peer is there and listening: no reason to keep waiting out a retry delay.
    this.failures.reset()
    if (this.deps.logger.isLevelEnabled('debug')) {
      this.deps.logger.debug({ mode: modeName(this.mode), epoch: this.lastKnownEpoch, currentEpoch: forwarding.currentEpoch }, 'route control received')
    }
    if (this.mode === MODE_SYNC) this.schedule()
    else this.cancel()
  }

  /**
   * Plans the next update: right away (150 ms at least) if the peer is behind, else a heartbeat one interval
   * after the last send. After a failure the next attempt waits for the interval too. A send planned
   * sooner is kept (the reference re-arms its timer on every change, so a stream of changes delays it).
   */
  schedule (afterSuccess = false): void {
    if (this.stopped || this.mode !== MODE_SYNC || this.sending) {
      this.cancel()
      return
    }
    const { forwarding, routeBroadcastInterval } = this.deps
    const now = Date.now()
    const behind = this.lastKnownEpoch < forwarding.currentEpoch
    // A peer still behind right after an update it accepted gets the next one at once: waiting 150 ms between
    // updates of 50 epochs would take 5 minutes to send it 100,000 routes.
    const delay = afterSuccess && behind
      ? 0
      : Math.max(MINIMUM_UPDATE_INTERVAL, behind && this.failures.count === 0 ? 0 : routeBroadcastInterval - (now - this.lastUpdate))
    // A send already planned sooner stays: a stream of changes must not keep pushing the update back.
    if (this.timer !== undefined && this.due <= now + delay) return
    this.cancel()
    this.due = now + delay
    this.timer = setTimeout(() => { void this.tick() }, delay)
    this.timer.unref?.()
  }

  stop (): void {
    this.stopped = true
    this.cancel()
  }

  /**
   * Sends the peer, now, what it has not had of our log, update after update, until it has all of it or the
   * deadline (ms since the epoch) passes; a failed send ends it. For shutdown: the withdrawals reach the peer
   * before the link goes. The peer must have asked for updates (SYNC).
   */
  async catchUp (deadline: number): Promise<void> {
    this.cancel()
    while (!this.stopped && this.mode === MODE_SYNC && this.lastKnownEpoch < this.deps.forwarding.currentEpoch) {
      const left = deadline - Date.now()
      if (left <= 0) return
      try {
        await this.sendUpdate(left)
      } catch {
        return
      }
    }
  }

  /**
   * Sends one update now, from the peer's last known epoch. Resolves once the peer fulfilled it; throws
   * (with the peer's epoch left where it was) when the send failed, timed out or was rejected.
   */
  async sendUpdate (timeout = this.deps.routeBroadcastInterval): Promise<void> {
    this.lastUpdate = Date.now()
    const { forwarding, peerId, relationOf, logger } = this.deps
    if (!this.deps.isConnected()) {
      logger.debug('cannot send routes, plugin not connected (yet).')
      return
    }
    const from = this.lastKnownEpoch
    const slots = forwarding.log.slice(from, from + MAX_EPOCHS_PER_UPDATE)
    const to = from + slots.length
    const toParent = relationOf(peerId) === 'parent'
    const newRoutes: CcpRoute[] = []
    const withdrawnRoutes: string[] = []
    for (const update of slots) {
      if (update === null || update === undefined) continue
      const route = update.route
      // Split horizon: never offer a peer its own routes. To a parent, only local and child routes (4.2).
      const hidden = route === undefined || route.nextHop === peerId ||
        (toParent && (relationOf(route.nextHop) === 'peer' || relationOf(route.nextHop) === 'parent'))
      if (hidden) withdrawnRoutes.push(update.prefix)
      else newRoutes.push({ prefix: update.prefix, path: route.path, auth: route.auth, props: [] })
    }
    const prepare = serializeUpdate({
      speaker: this.deps.getOwnAddress(),
      routingTableId: forwarding.routingTableId,
      holdDownTime: this.deps.routeExpiry,
      currentEpochIndex: forwarding.currentEpoch,
      fromEpochIndex: from,
      toEpochIndex: to,
      newRoutes,
      withdrawnRoutes
    })
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ fromEpoch: from, toEpoch: to, routes: newRoutes.length, withdrawn: withdrawnRoutes.length }, 'sending route update')
    }
    this.lastKnownEpoch = to
    try {
      const reply = await withTimeout(this.deps.send(prepare), timeout, 'route update timed out.')
      if (!isFulfill(reply)) {
        throw new Error(isReject(reply) ? 'route update rejected. ' + describeReply(parseReject(reply)) : 'route update got an invalid reply.')
      }
    } catch (err) {
      // Unless a control message moved it meanwhile, the peer still has what it had.
      if (this.lastKnownEpoch === to) this.lastKnownEpoch = from
      throw err
    }
  }

  private async tick (): Promise<void> {
    this.timer = undefined
    this.sending = true
    let sent = false
    try {
      await this.sendUpdate()
      this.failures.success()
      sent = true
    } catch (err) {
      this.failures.failure(err as Error)
    } finally {
      this.sending = false
    }
    this.schedule(sent)
  }

  private cancel (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
