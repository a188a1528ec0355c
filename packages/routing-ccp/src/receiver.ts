/**
 * Receives one peer's routes (reference routing/ccp-receiver.ts, section 4.5): asks for them with a route
 * control message, applies its updates in epoch order to the connector's table, and drops them when the
 * peer stops talking. Where the reference ignores a gap in the epochs, this receiver asks for a resync;
 * where it keeps routes forever, this one drops them after the peer's hold-down time without an update.
 */
import { isFulfill, isReject, parseReject } from '@conn/codec'
import type { Logger, RoutingTableView } from '@conn/types'
import { MODE_SYNC, serializeControl, type CcpRouteUpdateRequest } from './vendor/ccp.ts'
import { describeReply, FailureLog, withTimeout } from './util.ts'

/** The routing table id a receiver starts with: it knows nothing of the peer's table. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

/**
 * First delay before a failed or rejected control message is sent again (ms); it doubles per failure up to
 * controlRetryInterval. The usual failure is a start-up race that is over within milliseconds (the peer got
 * our message before its own connect event made us its peer), so waiting long is what costs convergence.
 */
export const FIRST_CONTROL_RETRY_DELAY = 100

/** applied: routes changed; heartbeat: nothing new; stale: older than what we have; gap: we missed epochs. */
export type UpdateResult = 'applied' | 'heartbeat' | 'stale' | 'gap'

export interface ReceiverDeps {
  peerId: string
  /** The connector's table, where learned routes go. */
  table: Pick<RoutingTableView, 'addLearnedRoute' | 'removeLearnedRoute' | 'learnedPrefixesOf'>
  /**
   * Removes many routes of this peer from the table (expiry, the rest of a replaced table); the caller may
   * spread the work over several macrotasks. Default: each removed from the table at once.
   */
  withdrawLater?: (prefixes: string[]) => void
  /** The peer taught us this prefix again: a withdrawal of it still waiting in `withdrawLater` is cancelled. */
  keep?: (prefix: string) => void
  getOwnAddress: () => string
  /** `g` in production, `test` otherwise. */
  globalPrefix: string
  /** Sends a Prepare to the peer and resolves its reply. */
  send: (prepare: Buffer) => Promise<Buffer>
  isConnected: () => boolean
  /** Longest delay before a failed or rejected control message is sent again (ms): the back-off's ceiling. */
  controlRetryInterval: number
  /** How long to wait for the answer to a control message (ms). */
  controlTimeout: number
  logger: Logger
}

export interface ReceiverStatus {
  routingTableId: string
  epoch: number
}

interface LearnedRoute {
  path: string[]
  auth: Buffer
}

export class CcpReceiver {
  /** The peer's table we follow, and the epoch of it we have. */
  routingTableId = ZERO_UUID
  epoch = 0
  /** When the routes expire unless an update comes (ms since the epoch; 0: never heard from the peer). */
  expiry = 0
  /** Routes from a previous table of the peer, dropped once its new table has been read in full. */
  private stale: Set<string> | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** Delay of the next retry: FIRST_CONTROL_RETRY_DELAY after a success, doubled per retry up to the ceiling. */
  private retryDelay: number
  private controlInFlight = false
  private controlAgain = false
  private stopped = false
  private readonly failures: FailureLog

  constructor (private readonly deps: ReceiverDeps) {
    this.failures = new FailureLog(deps.logger, 'route control messages to peer are failing; retrying', 'route control message to peer accepted again')
    this.retryDelay = Math.min(FIRST_CONTROL_RETRY_DELAY, deps.controlRetryInterval)
  }

  /** Prefixes this peer gave us a route to (from the connector's table: the receiver keeps no copy). */
  prefixes (): string[] { return this.deps.table.learnedPrefixesOf(this.deps.peerId) }

  status (): ReceiverStatus {
    return { routingTableId: this.routingTableId, epoch: this.epoch }
  }

  /**
   * Asks the peer for its routes from what we have: mode SYNC, its table id and epoch as we know them.
   * Sent when the peer connects and, as a resync, after a gap or an expiry. A failure, a timeout or a Reject
   * is retried with a back-off (100 ms, doubling up to controlRetryInterval, back to 100 ms after a
   * success), and so is a request while the plugin is not connected; a request made while one is in flight
   * is sent when it returns. One message in flight and one timer at most, so a peer that keeps rejecting
   * gets one message per controlRetryInterval once the back-off is at its ceiling.
   */
  sendRouteControl (): void {
    this.clearRetry()
    if (this.stopped) return
    if (!this.deps.isConnected()) {
      // Its connect event usually comes first and asks again; the retry covers a plugin that never says so.
      this.deps.logger.debug('cannot send route control message, plugin not connected (yet).')
      this.retryLater()
      return
    }
    if (this.controlInFlight) {
      this.controlAgain = true
      return
    }
    this.controlInFlight = true
    const prepare = serializeControl({ mode: MODE_SYNC, lastKnownRoutingTableId: this.routingTableId, lastKnownEpoch: this.epoch, features: [] })
    withTimeout(this.deps.send(prepare), this.deps.controlTimeout, 'route control message timed out.')
      .then((reply) => {
        if (isFulfill(reply)) return
        throw new Error(isReject(reply) ? 'route control message rejected. ' + describeReply(parseReject(reply)) : 'route control message got an invalid reply.')
      })
      .then(() => {
        this.controlInFlight = false
        this.retryDelay = Math.min(FIRST_CONTROL_RETRY_DELAY, this.deps.controlRetryInterval)
        this.failures.success()
        if (this.controlAgain) {
          this.controlAgain = false
          this.sendRouteControl()
        }
      }, (err: Error) => {
        this.controlInFlight = false
        this.controlAgain = false
        if (this.stopped) return
        this.failures.failure(err)
        this.retryLater()
      })
  }

  /**
   * Applies a route update (section 4.5, steps 1-2): extends the expiry, follows a new table id, then
   * checks the epochs; a usable update withdraws and adds routes in the connector's table.
   */
  handleUpdate (update: CcpRouteUpdateRequest, now = Date.now()): UpdateResult {
    this.expiry = Math.max(this.expiry, now + update.holdDownTime)
    if (update.routingTableId !== this.routingTableId) {
      // The peer restarted (or we never heard from it): keep its old routes until its new table is read.
      const known = this.prefixes()
      if (known.length > 0) this.stale = new Set([...(this.stale ?? []), ...known])
      this.routingTableId = update.routingTableId
      this.epoch = 0
    }
    if (update.fromEpochIndex > this.epoch) return 'gap'
    if (this.epoch > update.toEpochIndex) return 'stale'
    const { globalPrefix, getOwnAddress } = this.deps
    const ownAddress = getOwnAddress()
    for (const prefix of update.withdrawnRoutes) this.remove(prefix)
    for (const route of update.newRoutes) {
      // Only routes in our address space, longer than its global prefix (a string test, as the reference).
      if (!route.prefix.startsWith(globalPrefix) || route.prefix.length <= globalPrefix.length) continue
      // A path through us is a loop: the peer no longer has a route of its own there.
      if (route.path.includes(ownAddress)) {
        this.remove(route.prefix)
        continue
      }
      this.add(route.prefix, { path: route.path, auth: route.auth })
    }
    this.epoch = update.toEpochIndex
    if (this.stale !== undefined && this.epoch >= update.currentEpochIndex) {
      const gone = [...this.stale]
      this.stale = undefined
      this.withdraw(gone)
    }
    return update.newRoutes.length === 0 && update.withdrawnRoutes.length === 0 ? 'heartbeat' : 'applied'
  }

  /**
   * Drops every route of the peer if its hold-down time passed without an update, and forgets its table so
   * the next update starts from epoch 0. Returns true if routes were dropped.
   */
  expire (now = Date.now()): boolean {
    if (now <= this.expiry) return false
    const gone = this.prefixes()
    if (gone.length === 0) return false
    this.stale = undefined
    this.withdraw(gone)
    this.routingTableId = ZERO_UUID
    this.epoch = 0
    return true
  }

  /** Stops retrying (the peer is gone); its routes are the caller's to withdraw. */
  stop (): void {
    this.stopped = true
    this.clearRetry()
  }

  private add (prefix: string, route: LearnedRoute): void {
    this.stale?.delete(prefix)
    this.deps.keep?.(prefix)
    this.deps.table.addLearnedRoute(this.deps.peerId, prefix, route)
  }

  /** The table ignores a prefix this peer gave us no route to. */
  private remove (prefix: string): void {
    this.stale?.delete(prefix)
    this.deps.table.removeLearnedRoute(this.deps.peerId, prefix)
  }

  private withdraw (prefixes: string[]): void {
    if (this.deps.withdrawLater !== undefined) this.deps.withdrawLater(prefixes)
    else for (const prefix of prefixes) this.deps.table.removeLearnedRoute(this.deps.peerId, prefix)
  }

  private retryLater (): void {
    this.clearRetry()
    this.retryTimer = setTimeout(() => this.sendRouteControl(), this.retryDelay)
    this.retryTimer.unref?.()
    this.retryDelay = Math.min(this.retryDelay * 2, this.deps.controlRetryInterval)
  }

  private clearRetry (): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }
}
