/**
 * Records when a next hop rejects with T04 "exceeded maximum balance.": by our own books the packet should
 * have gone through, so the peer's balance and ours disagree (typically it restarted, or a settlement was
 * lost). The alerts are kept in memory for the admin API; an operator deletes one once it is handled.
 */
import { isReject, parseReject, rejectCodeOf } from '@conn/codec'
import type { Alert, AlertAdmin, DataHandler, Logger, Middleware, MiddlewareApi } from '@conn/types'

export const ALERT_CODE = 'T04'
export const ALERT_MESSAGE = 'exceeded maximum balance.'
/** At most this many alerts are kept; beyond it the least recently updated one is dropped. */
export const DEFAULT_MAX_ALERTS = 1000

export interface AlertOptions {
  /** Bound on the number of alerts kept (default 1000). */
  maxAlerts?: number
}

export class AlertMiddleware implements Middleware, AlertAdmin {
  readonly name = 'alert'
  /** The admin API's /alerts, through the connector (`getService('alertAdmin')`). */
  readonly services = { alertAdmin: this as AlertAdmin }
  /** By account, triggeredBy and message; in order of last update (oldest first). */
  private readonly alerts = new Map<string, Alert>()
  /** Accounts whose alerts were already logged at warn (the next ones go to debug, so a peer cannot flood the log). */
  private readonly warned = new Set<string>()
  private nextId = Date.now()
  private readonly maxAlerts: number
  private readonly logger: Logger

  constructor (api: Pick<MiddlewareApi, 'logger'>, options: AlertOptions = {}) {
    this.logger = api.logger
    const max = options.maxAlerts
    this.maxAlerts = typeof max === 'number' && Number.isInteger(max) && max >= 1 ? max : DEFAULT_MAX_ALERTS
  }

  // `then` rather than an async function: a closure per packet instead of an async frame and its promises
  readonly outgoingData: DataHandler = (ctx, next) => next(ctx).then((reply) => {
    if (isReject(reply) && rejectCodeOf(reply) === ALERT_CODE) this.check(ctx.account.id, reply)
    return reply
  })

  /** Every alert, sorted by id (oldest first). Copies: changing them changes nothing here. */
  getAlerts (): Alert[] {
    return [...this.alerts.values()]
      .map((alert) => ({ ...alert, createdAt: new Date(alert.createdAt), updatedAt: new Date(alert.updatedAt) }))
      .sort((a, b) => a.id - b.id)
  }

  /** Deletes the alert with this id; false if there is none. */
  deleteAlert (id: number): boolean {
    for (const [key, alert] of this.alerts) {
      if (alert.id === id) {
        this.alerts.delete(key)
        this.warned.delete(alert.accountId)
        return true
      }
    }
    return false
  }

  private check (accountId: string, reply: Buffer): void {
    let reject
    try {
      reject = parseReject(reply)
    } catch {
      return // a malformed Reject is not ours to judge here
    }
    if (reject.message !== ALERT_MESSAGE) return
    const { triggeredBy, message } = reject
    const key = accountId + '\n' + triggeredBy + '\n' + message
    const now = new Date()
    const alert = this.alerts.get(key)
    if (alert !== undefined) {
      alert.count++
      alert.updatedAt = now
      // Move it to the end: the map stays in order of last update, so the oldest is dropped first.
      this.alerts.delete(key)
      this.alerts.set(key, alert)
      return
    }
    const id = this.nextId++
    this.alerts.set(key, { id, accountId, triggeredBy, message, count: 1, createdAt: now, updatedAt: now })
    if (!this.warned.has(accountId)) {
      this.warned.add(accountId)
      this.logger.warn({ account: accountId, triggeredBy, alert: id },
        'next hop rejected with T04 "exceeded maximum balance."; our balance and the peer\'s may disagree (alert recorded)')
    } else if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ account: accountId, triggeredBy, alert: id }, 'alert recorded')
    }
    if (this.alerts.size > this.maxAlerts) {
      const oldest = this.alerts.keys().next().value as string
      this.alerts.delete(oldest)
    }
  }
}
