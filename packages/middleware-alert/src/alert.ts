/**
 * Records when a next hop rejects with T04 "exceeded maximum balance.": by our own books the packet should
 * have gone through, so the peer's balance and ours disagree (typically it restarted, or a settlement was
 * lost). Other middlewares raise alerts of their own through `raiseAlert` (the balance middleware: a settlement
 * whose outcome is unknown). The alerts are kept in memory for the admin API; an operator deletes one once it
 * is handled.
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
  /** Keys of the alerts other middlewares raised: never dropped to make room (their raiser bounds them). */
  private readonly raised = new Set<string>()
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
        if (this.raised.delete(key)) return true
        this.warned.delete(alert.accountId)
        return true
      }
    }
    return false
  }

  /**
   * An alert another middleware raises (it logs it itself): recorded like a Reject's, counted up when the same
   * account, triggeredBy and message come again, and never dropped to make room. Resolves a copy.
   */
  raiseAlert (fields: { accountId: string, triggeredBy: string, message: string }): Alert {
    const key = keyOf(fields.accountId, fields.triggeredBy, fields.message)
    this.raised.add(key)
    const alert = this.record(key, fields.accountId, fields.triggeredBy, fields.message)
    return { ...alert, createdAt: new Date(alert.createdAt), updatedAt: new Date(alert.updatedAt) }
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
    const key = keyOf(accountId, triggeredBy, message)
    const alert = this.record(key, accountId, triggeredBy, message)
    if (alert.count > 1) return
    const id = alert.id
    if (!this.warned.has(accountId)) {
      this.warned.add(accountId)
      this.logger.warn({ account: accountId, triggeredBy, alert: id },
        'next hop rejected with T04 "exceeded maximum balance."; our balance and the peer\'s may disagree (alert recorded)')
    } else if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ account: accountId, triggeredBy, alert: id }, 'alert recorded')
    }
  }

  /** Counts the alert up, or adds it (dropping the least recently updated Reject alert beyond `maxAlerts`). */
  private record (key: string, accountId: string, triggeredBy: string, message: string): Alert {
    const now = new Date()
    const existing = this.alerts.get(key)
    if (existing !== undefined) {
      existing.count++
      existing.updatedAt = now
      // Move it to the end: the map stays in order of last update, so the oldest is dropped first.
      this.alerts.delete(key)
      this.alerts.set(key, existing)
      return existing
    }
    const alert: Alert = { id: this.nextId++, accountId, triggeredBy, message, count: 1, createdAt: now, updatedAt: now }
    this.alerts.set(key, alert)
    if (this.alerts.size > this.maxAlerts) {
      for (const oldest of this.alerts.keys()) {
        if (this.raised.has(oldest)) continue
        this.alerts.delete(oldest)
        break
      }
    }
    return alert
  }
}

function keyOf (accountId: string, triggeredBy: string, message: string): string {
  return accountId + '\n' + triggeredBy + '\n' + message
}
