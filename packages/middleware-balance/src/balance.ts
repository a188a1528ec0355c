/**
 * Keeps each account's balance (from the connector's point of view: positive = the peer owes us) within its
 * configured `minimum` and `maximum`, and settles through the plugin's `sendMoney` when it falls below
 * `settleThreshold`. The balance lives only in `api.balances` and changes only by its atomic "adjust within
 * limits", never by read-modify-write, so a store shared by several connectors stays right and a persistent
 * store keeps it across restarts. Outgoing packets reserve against `minimum` BEFORE they are forwarded, so
 * conn never owes a peer more than it allows (the reference debits after the Fulfill, when it can only
 * reject upstream with the money already owed downstream).
 *
 * Settlement never pays twice: one `sendMoney` per account at a time, recorded in the store before it starts, and
 * booked to the balance only once the plugin says the money went out. A failure that says nothing was sent
 * (`settlement: 'not-sent'`) is retried with back-off; any other failure may have paid, so it is kept as
 * unsettled (alert, metric, admin API) and the account settles no more until the operator or the plugin
 * resolves it.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import { isFulfill, isReject, rejectCodeOf } from '@conn/codec'
import {
  InsufficientLiquidityError, MoneyNotSentError, SettlementAdminError, TRACE_CHANNELS, isBalanceRangeError, isMoneyNotSent, lateOutcomeOf,
  type Account, type BalanceAdmin, type BalanceStatus, type Counter, type CounterChild, type DataHandler, type Gauge, type GaugeChild, type LabelValues, type Logger,
  type Middleware, type MiddlewareApi, type MoneyContext, type MoneyHandler, type NextData, type NextMoney, type PacketContext,
  type Reservation, type SettlementAdmin, type SettlementEvent, type SettlementOutcome, type SettlementResolution, type UnsettledSettlement
} from '@conn/types'
import { balanceConfigOf } from './options.ts'
import {
  DEFAULT_RETRY_DELAY, DEFAULT_RETRY_MAX_DELAY, INTERRUPTED, claimOf, decodeRecord, encodeRecord, publicRecord, retryDelay, settlementKey,
  type RetryOptions, type SettlementRecord
} from './settlement.ts'

/** `create()` options (the built-in middleware is created with none). */
export type BalanceOptions = RetryOptions

/**
 * A limit no balance reaches: `minimum: 'Infinity'` (or `maximum: '-Infinity'`) refuses every change in that
 * direction, as the reference's BigNumber comparison does, through the same atomic adjust.
 */
const UNREACHABLE = 2n ** 256n
/** Longest wait between two tries of a commit the store failed (ms). */
const COMMIT_RETRY_MAX_DELAY = 5000

/** Reject codes a label may carry as they are; anything else is counted under `code: ''` (bounded labels). */
const CODE_PATTERN = /^[FTR][0-9A-Z]{2}$/

interface PacketValue {
  readonly counter: Counter
  readonly labels: LabelValues
  readonly fulfilled: CounterChild
  readonly failed: CounterChild
  /** Children for `result: 'rejected'`, by reject code, made on first sight. */
  readonly rejected: Map<string, CounterChild>
}

interface Tracked {
  readonly account: Account
  readonly id: string
  /** undefined: no limit. */
  readonly minimum: bigint | undefined
  readonly maximum: bigint | undefined
  readonly minimumText: string
  readonly maximumText: string
  /** undefined: never settle. */
  readonly settleThreshold: bigint | undefined
  readonly settleTo: bigint
  readonly gauge: GaugeChild
  readonly incomingValue: PacketValue
  readonly outgoingValue: PacketValue
  /** `ilp_connector_unsettled_amount` of the account. */
  readonly unsettledGauge: GaugeChild
  /** `ilp_connector_settlements` of the account, by result. */
  readonly settlements: { readonly sent: CounterChild, readonly notSent: CounterChild, readonly unknown: CounterChild }
  /** Settles (if needed) whenever the plugin (re)connects, without waiting for a retry timer. */
  readonly onConnect: () => void
  /** The settlement loop running now, if any. */
  settlement: Promise<void> | undefined
  /** A trigger arrived while `settlement` was running: check again before it ends. */
  settleAgain: boolean
  /** A settlement was not sent: no new one before this timer fires (or the plugin reconnects). */
  retryTimer: NodeJS.Timeout | undefined
  /** Settlements not sent in a row: the back-off exponent. */
  retryAttempt: number
}

/** A settlement whose outcome is unknown: it holds its account's settlement until resolved. */
interface Unsettled {
  readonly record: SettlementRecord
  /** `ilp_connector_unsettled_amount` of the account (kept if the account is removed meanwhile). */
  readonly gauge: GaugeChild
  /** The alert raised for it, if the alert middleware runs. */
  alertId: number | undefined
  /** A resolution is being booked: a second one is refused. */
  resolving: boolean
}

const RESOLVED = Promise.resolve()

const settlementChannel = channel(TRACE_CHANNELS.settlement)

/**
 * Set on an incoming packet's context while this middleware forwards it: null until its next hop's side is
 * fulfilled, then the commit of that side. The sender's side awaits both commits together, so with a store that
 * batches the changes of one tick (redis) the two commits cost one round trip, not two in a row.
 */
const NEXT_HOP_COMMIT = Symbol('balance: the next hop side\'s commit')
type CommitSlot = PacketContext & { [NEXT_HOP_COMMIT]?: Promise<void> | null }

export class BalanceMiddleware implements Middleware, BalanceAdmin, SettlementAdmin {
  readonly name = 'balance'
  /** The admin API's /balance and /settlements, through the connector (`getService(...)`). */
  readonly services = { balanceAdmin: this as BalanceAdmin, settlementAdmin: this as SettlementAdmin }
  private readonly tracked = new Map<string, Tracked>()
  /** Per account: the settlement whose `sendMoney` is running (one at most). */
  private readonly sending = new Map<string, SettlementRecord>()
  /** Per account: a settlement claimed in the store (record written), about to be sent. */
  private readonly claimed = new Map<string, SettlementRecord>()
  /** Per account: the settlement whose outcome is unknown (one at most), also for accounts removed since. */
  private readonly unsettled = new Map<string, Unsettled>()
  private readonly retryFirstDelay: number
  private readonly retryMaxDelay: number
  private stopped = false
  /**
   * Reservation ids are this (96 random bits, unique per process) and a counter, so stores shared by connectors
   * tell them apart; short, since a shared store writes one per packet and side.
   */
  private readonly reservationPrefix = randomBytes(12).toString('base64url') + ':'
  private reservationCount = 0
  /** Answered packets whose reservation is being committed or released; `finished` is called when it drops to 0. */
  private finishing = 0
  /** Called (once) when `finishing` drops to 0. */
  private finishedWaiters: Array<() => void> = []
  /** Commits of fulfilled packets the store failed, being tried again. */
  private readonly commitRetries = new Set<NodeJS.Timeout>()
  /** Accounts already warned about (no `balance` config), so a re-added account does not warn twice. */
  private readonly warnedUnlimited = new Set<string>()
  private readonly log: Logger
  private readonly balanceGauge: Gauge
  private readonly incomingValueCounter: Counter
  private readonly outgoingValueCounter: Counter
  private readonly unsettledGauge: Gauge
  private readonly settlementCounter: Counter

  constructor (private readonly api: MiddlewareApi, options: BalanceOptions = {}) {
    this.log = api.logger.child({ middleware: 'balance' })
    this.retryFirstDelay = options.settleRetryDelay ?? DEFAULT_RETRY_DELAY
    this.retryMaxDelay = Math.max(this.retryFirstDelay, options.settleRetryMaxDelay ?? DEFAULT_RETRY_MAX_DELAY)
    const labelNames = ['account', 'asset', 'scale']
    this.balanceGauge = api.metrics.gauge({ name: 'ilp_connector_balance', help: 'Balances on peer account', labelNames })
    this.unsettledGauge = api.metrics.gauge({
      name: 'ilp_connector_unsettled_amount', help: 'Amount of the settlement whose outcome is unknown (0: none)', labelNames
    })
    this.settlementCounter = api.metrics.counter({
      name: 'ilp_connector_settlements', help: 'Settlements (sendMoney calls) by result: sent, not_sent, unknown', labelNames: [...labelNames, 'result']
    })
    const valueLabels = [...labelNames, 'result', 'code']
    this.incomingValueCounter = api.metrics.counter({
      name: 'ilp_connector_incoming_ilp_packet_value', help: 'Total value of incoming ILP packets', labelNames: valueLabels
    })
    this.outgoingValueCounter = api.metrics.counter({
      name: 'ilp_connector_outgoing_ilp_packet_value', help: 'Total value of outgoing ILP packets', labelNames: valueLabels
    })
  }

  // ---- accounts -----------------------------------------------------------------------------------

  async addAccount (account: Account): Promise<void> {
    const config = balanceConfigOf(account.config)
    const id = account.id
    if (config === undefined) {
      if (!this.warnedUnlimited.has(id)) {
        this.warnedUnlimited.add(id)
        this.log.warn({ account: id },
          `(!!!) balance middleware NOT enabled for account, this account can spend UNLIMITED funds. accountId=${id}`)
      }
      return
    }
    if (config.maximum === undefined) throw new Error(`balance.maximum is required. accountId=${id}`)
    const labels = { account: id, asset: account.assetCode, scale: account.assetScale }
    const tracked: Tracked = {
      account,
      id,
      minimum: parseLimit(config.minimum ?? '-Infinity', 'minimum'),
      maximum: parseLimit(config.maximum, 'maximum'),
      minimumText: config.minimum ?? '-Infinity',
      maximumText: config.maximum,
      settleThreshold: config.settleThreshold === undefined || config.settleThreshold === '-Infinity'
        ? undefined
        : BigInt(config.settleThreshold),
      settleTo: BigInt(config.settleTo ?? '0'),
      gauge: this.balanceGauge.labels(labels),
      incomingValue: packetValue(this.incomingValueCounter, labels),
      outgoingValue: packetValue(this.outgoingValueCounter, labels),
      unsettledGauge: this.unsettledGauge.labels(labels),
      settlements: {
        sent: this.settlementCounter.labels({ ...labels, result: 'sent' }),
        notSent: this.settlementCounter.labels({ ...labels, result: 'not_sent' }),
        unknown: this.settlementCounter.labels({ ...labels, result: 'unknown' })
      },
      onConnect: () => { this.settleNow(tracked) },
      settlement: undefined,
      settleAgain: false,
      retryTimer: undefined,
      retryAttempt: 0
    }
    tracked.gauge.set(Number(await this.api.balances.get(id)))
    // A settlement recorded before a restart (or a crash) whose outcome nobody booked: unsettled, it holds the
    // account's settlement as it did before.
    const held = this.unsettled.get(id)
    if (held === undefined && !this.sending.has(id)) {
      const text = await this.api.store.get(settlementKey(id))
      if (text !== undefined) {
        const record = decodeRecord(id, text)
        await this.hold(record, record.state === 'sending' ? INTERRUPTED : record.reason, tracked.unsettledGauge, undefined,
          'found in the store at start-up')
      } else {
        tracked.unsettledGauge.set(0)
      }
    } else {
      tracked.unsettledGauge.set(held === undefined ? 0 : Number(held.record.amount))
    }
    this.tracked.set(id, tracked)
    // Start-up settlement (a persisted balance may already be below the threshold) once the plugin can
    // send money, and again after every reconnect.
    account.plugin.on('connect', tracked.onConnect)
    if (account.plugin.isConnected()) void this.maybeSettle(tracked)
  }

  removeAccount (account: Account): void {
    const tracked = this.tracked.get(account.id)
    if (tracked === undefined) return
    this.tracked.delete(account.id)
    account.plugin.removeListener('connect', tracked.onConnect)
    clearTimeout(tracked.retryTimer)
    tracked.retryTimer = undefined
  }

  /**
   * Waits for the commits and releases of answered packets to reach the store, then no more retries or late
   * outcomes (the accounts were removed before; their timers are cleared).
   */
  async stop (): Promise<void> {
    await this.answeredBooked()
    this.stopped = true
    for (const tracked of this.tracked.values()) {
      clearTimeout(tracked.retryTimer)
      tracked.retryTimer = undefined
    }
    if (this.commitRetries.size > 0) this.log.error({ commits: this.commitRetries.size }, 'stopping with fulfilled packets not yet committed to their balances (the store kept failing)')
    for (const timer of this.commitRetries) clearTimeout(timer)
    this.commitRetries.clear()
  }

  // ---- packets ------------------------------------------------------------------------------------

  /**
   * A Prepare from the account: reserve the credit within `maximum` before forwarding; commit it on Fulfill,
   * release it on Reject or error. Not async: an untracked account's packet costs no promise of its own here.
   */
  readonly incomingData: DataHandler = (ctx, next) => {
    const amount = ctx.prepare.amount
    const tracked = amount === 0n ? undefined : this.tracked.get(ctx.account.id)
    return tracked === undefined ? next(ctx) : this.forward(ctx, next, tracked, amount, tracked.incomingValue)
  }

  /**
   * A Prepare to the account: reserve the debit within `minimum` BEFORE forwarding (deviation: the reference
   * debits after the Fulfill); commit it on Fulfill, release it on Reject or error.
   */
  readonly outgoingData: DataHandler = (ctx, next) => {
    const amount = ctx.prepare.amount
    const tracked = amount === 0n ? undefined : this.tracked.get(ctx.account.id)
    return tracked === undefined ? next(ctx) : this.forward(ctx, next, tracked, -amount, tracked.outgoingValue)
  }

  /**
   * Reserves `delta` (only the limit it moves towards applies), forwards the packet, then commits or releases
   * the reservation by the outcome.
   */
  private async forward (ctx: PacketContext, next: NextData, tracked: Tracked, delta: bigint, value: PacketValue): Promise<Buffer> {
    const reservation: Reservation = {
      id: this.reservationPrefix + (this.reservationCount++).toString(36),
      expiresAt: ctx.prepare.expiresAt,
      settles: tracked.settleThreshold !== undefined
    }
    try {
      tracked.gauge.set(Number(await this.api.balances.reserve(tracked.id, delta, tracked.minimum, tracked.maximum, reservation)))
    } catch (err) {
      throw refusal(err)
    }
    const amount = delta < 0n ? -delta : delta
    const slot = ctx as CommitSlot
    if (ctx.incoming === undefined) slot[NEXT_HOP_COMMIT] = null
    let reply: Buffer
    try {
      reply = await next(ctx)
    } catch (err) {
      this.finishing++
      void this.finish(tracked, delta, reservation, false, 'packet failed')
      value.failed.inc(Number(amount))
      throw err
    }
    // A Fulfill goes on to the sender only once both sides' commits are stored, whatever the store: whoever holds
    // a Fulfill from us finds it booked. The next hop's side leaves its commit to the sender's side when that
    // side is tracked here (one wait for both), and waits for it itself otherwise. A release only loosens a
    // limit the reservation already counts, so it goes in the background.
    this.finishing++
    if (Buffer.isBuffer(reply) && isFulfill(reply)) {
      value.fulfilled.inc(Number(amount))
      const committed = this.finish(tracked, delta, reservation, true, '')
      const sender = ctx.incoming as CommitSlot | undefined
      if (sender !== undefined && sender[NEXT_HOP_COMMIT] === null) {
        sender[NEXT_HOP_COMMIT] = committed
      } else {
        const nextHopCommit = slot[NEXT_HOP_COMMIT]
        await committed
        if (nextHopCommit != null) await nextHopCommit
      }
    } else {
      void this.finish(tracked, delta, reservation, false, 'packet rejected')
      countNotFulfilled(value, reply, amount)
    }
    return reply
  }

  /**
   * Resolves once the reservations of every packet answered so far are committed or released (a failed commit
   * may still be waiting for its retry).
   */
  async answeredBooked (): Promise<void> {
    if (this.finishing > 0) await new Promise<void>((resolve) => { this.finishedWaiters.push(resolve) })
  }

  /** Commits (and settles if due) or releases a packet's reservation; `stop` waits for every one of these. */
  private async finish (tracked: Tracked, delta: bigint, reservation: Reservation, fulfilled: boolean, reason: string): Promise<void> {
    try {
      if (fulfilled) {
        const balance = await this.commit(tracked, delta, reservation)
        void this.maybeSettle(tracked, balance)
      } else {
        await this.release(tracked, delta, reservation, reason)
      }
    } finally {
      if (--this.finishing === 0 && this.finishedWaiters.length > 0) {
        for (const resolve of this.finishedWaiters.splice(0)) resolve()
      }
    }
  }

  // ---- money --------------------------------------------------------------------------------------

  /** The peer paid us: it owes that much less (no limit: the money has arrived). */
  readonly incomingMoney: MoneyHandler = async (ctx, next) => {
    const tracked = this.tracked.get(ctx.account.id)
    if (tracked !== undefined) tracked.gauge.set(Number(await this.api.balances.adjust(tracked.id, -ctx.amount)))
    await next(ctx)
  }

  /**
   * We pay the peer (settlement). One payment per account at a time, none while one is unsettled, each recorded
   * in the store before the plugin is called; the balance is credited only once the plugin says the money went
   * out. A failure that says nothing was sent leaves the balance as it was; any other failure makes the payment
   * unsettled (see `hold`). Either way the plugin's error is rethrown.
   */
  readonly outgoingMoney: MoneyHandler = async (ctx, next) => {
    const tracked = this.tracked.get(ctx.account.id)
    if (tracked === undefined) return await next(ctx)
    await this.pay(tracked, ctx, next)
  }

  private async pay (tracked: Tracked, ctx: MoneyContext, next: NextMoney): Promise<void> {
    const id = tracked.id
    const amount = ctx.amount
    const held = this.unsettled.get(id)
    if (held !== undefined) {
      throw new MoneyNotSentError(`not sending ${amount} to ${id}: the settlement of ${held.record.amount} to ${id} ` +
        `(${held.record.id}) has an unknown outcome and must be resolved first`)
    }
    if (this.sending.has(id)) throw new MoneyNotSentError(`not sending ${amount} to ${id}: another settlement to ${id} is in flight`)
    // A settlement the store decided (claimSettlement) is recorded already.
    const claimed = this.claimed.get(id)
    const record: SettlementRecord = claimed?.amount === amount
      ? claimed
      : { id: randomUUID(), accountId: id, amount, createdAt: new Date(), state: 'sending', reason: '' }
    this.sending.set(id, record)
    try {
      if (record === claimed) {
        this.claimed.delete(id)
      } else {
        try {
          await this.api.store.put(settlementKey(id), encodeRecord(record))
        } catch (err) {
          throw new MoneyNotSentError(`not sending ${amount} to ${id}: recording the settlement in the store failed: ${messageOf(err)}`, { cause: err })
        }
      }
      try {
        await next(ctx)
      } catch (err) {
        if (isMoneyNotSent(err)) {
          tracked.settlements.notSent.inc()
          await this.forget(record)
        } else {
          tracked.settlements.unknown.inc()
          await this.hold(record, messageOf(err), tracked.unsettledGauge, err, 'sendMoney failed')
          const late = lateOutcomeOf(err)
          if (late !== undefined) this.awaitLateOutcome(record, late)
        }
        throw err
      }
      tracked.settlements.sent.inc()
      let balance: bigint
      try {
        balance = await this.api.balances.adjust(id, amount)
      } catch (err) {
        // Paid, but not booked: kept as unsettled, so that resolving it as paid books it.
        await this.hold(record, `the plugin sent it, but crediting the balance failed (${messageOf(err)}); resolve it as paid`,
          tracked.unsettledGauge, err, 'crediting a sent settlement failed')
        return
      }
      tracked.gauge.set(Number(balance))
      await this.forget(record)
    } finally {
      // After `hold` (if any) made it unsettled: no moment in which the account has neither.
      this.sending.delete(id)
    }
  }

  /**
   * The settlement's outcome is unknown: kept as unsettled (in memory at once, then in the store), with an alert,
   * a metric and a warning naming the account and amount. It is not retried, and the account settles no more
   * until it is resolved.
   */
  private async hold (record: SettlementRecord, reason: string, gauge: GaugeChild, err: unknown, why: string): Promise<void> {
    const accountId = record.accountId
    record.state = 'unsettled'
    record.reason = reason
    const entry: Unsettled = { record, gauge, alertId: undefined, resolving: false }
    this.unsettled.set(accountId, entry)
    gauge.set(Number(record.amount))
    const message = `settlement of ${record.amount} to ${accountId} has an unknown outcome: ${reason}. It is not retried, and ` +
      `${accountId} settles no more until it is resolved: POST /settlements/${accountId} {"outcome":"paid"} or {"outcome":"not-paid"}`
    this.log.warn({ account: accountId, amount: String(record.amount), settlement: record.id, err }, `${why}; ${message}`)
    try {
      entry.alertId = this.api.getService('alertAdmin')?.raiseAlert({ accountId, triggeredBy: this.api.getOwnAddress(), message }).id
    } catch (alertErr) {
      this.log.error({ account: accountId, err: alertErr }, 'raising the alert of an unsettled settlement failed')
    }
    try {
      await this.api.store.put(settlementKey(accountId), encodeRecord(record))
    } catch (storeErr) {
      // The record written before sending is still there, and reads back as unsettled too.
      this.log.error({ account: accountId, settlement: record.id, err: storeErr }, 'updating the unsettled settlement in the store failed')
    }
  }

  /** The plugin may learn the outcome later: resolve with it, unless the operator was first. */
  private awaitLateOutcome (record: SettlementRecord, late: PromiseLike<SettlementOutcome>): void {
    Promise.resolve(late).then(async (outcome) => {
      if (this.stopped || this.unsettled.get(record.accountId)?.record !== record) return
      await this.resolve(record.accountId, outcome, record.id, 'plugin')
    }).catch((err: unknown) => {
      this.log.warn({ account: record.accountId, settlement: record.id, err }, 'the plugin could not tell the outcome of the unsettled settlement; it stays unsettled')
    })
  }

  /** The settlement's outcome is booked: its record goes. A store failure is logged (it would read back as unsettled). */
  private async forget (record: SettlementRecord): Promise<void> {
    try {
      await this.api.store.del(settlementKey(record.accountId))
    } catch (err) {
      this.log.error({ account: record.accountId, amount: String(record.amount), settlement: record.id, err },
        `deleting the record of a booked settlement failed; after a restart it shows as unsettled: resolve it as not-paid then (it is already booked)`)
    }
  }

  // ---- settlement ---------------------------------------------------------------------------------

  /**
   * Settles the account if its balance is below `settleThreshold`, one settlement at a time: a trigger
   * while one is in flight makes it check again when it is done. Nothing starts while a settlement is unsettled
   * or a retry is waiting for its timer. Never rejects (failures are logged).
   * `hint`: the balance the caller just saw; at or above the threshold, no settlement is started.
   */
  private maybeSettle (tracked: Tracked, hint?: bigint): Promise<void> {
    const threshold = tracked.settleThreshold
    if (threshold === undefined) return RESOLVED
    if (tracked.settlement !== undefined) {
      tracked.settleAgain = true
      return tracked.settlement
    }
    if (tracked.retryTimer !== undefined || this.unsettled.has(tracked.id)) return RESOLVED
    if (hint !== undefined && hint >= threshold) return RESOLVED
    tracked.settlement = this.settleLoop(tracked, threshold)
    return tracked.settlement
  }

  /** A reconnect: a retry waiting for its timer goes now. */
  private settleNow (tracked: Tracked): void {
    if (tracked.retryTimer !== undefined) {
      clearTimeout(tracked.retryTimer)
      tracked.retryTimer = undefined
    }
    void this.maybeSettle(tracked)
  }

  private async settleLoop (tracked: Tracked, threshold: bigint): Promise<void> {
    try {
      let again: boolean
      do {
        tracked.settleAgain = false
        again = await this.settleOnce(tracked, threshold)
      } while (again && tracked.settleAgain && this.tracked.get(tracked.id) === tracked)
    } finally {
      // Same tick as the last settleAgain check (no await in between), so no trigger is lost.
      tracked.settlement = undefined
    }
  }

  /** One settlement if needed; false when the loop must stop (held, or waiting to retry). */
  private async settleOnce (tracked: Tracked, threshold: bigint): Promise<boolean> {
    let amount = 0n
    let claimed: SettlementRecord | undefined
    try {
      if (this.api.balances.claimSettlement !== undefined) {
        // A store shared with other connectors decides: below the threshold and no settlement of the account anywhere.
        const draft: SettlementRecord = { id: randomUUID(), accountId: tracked.id, amount: 0n, createdAt: new Date(), state: 'sending', reason: '' }
        const decided = await this.api.balances.claimSettlement(tracked.id, threshold, tracked.settleTo, claimOf(draft))
        if (decided === undefined) {
          tracked.retryAttempt = 0
          return true
        }
        amount = decided
        claimed = { ...draft, amount }
        this.claimed.set(tracked.id, claimed)
      } else {
        // debits of packets still in flight left out: they may yet be rejected
        const balance = await this.api.balances.getSettleable(tracked.id)
        if (balance >= threshold) {
          tracked.retryAttempt = 0
          return true
        }
        amount = tracked.settleTo - balance
        if (amount <= 0n) return true
      }
      this.log.debug({ account: tracked.id, amount: String(amount) }, 'settlement triggered')
      await this.api.sendMoney(tracked.id, amount)
      tracked.retryAttempt = 0
      this.log.debug({ account: tracked.id, amount: String(amount) }, 'settlement sent')
      publishSettlement(tracked.id, amount, 'sent')
      // Other connectors on the store found this settlement's record and left theirs to us: look once more.
      if (claimed !== undefined) tracked.settleAgain = true
      return true
    } catch (err) {
      // Unknown outcome: `hold` has logged and alerted; nothing more until it is resolved.
      if (this.unsettled.has(tracked.id)) {
        publishSettlement(tracked.id, amount, 'unknown', messageOf(err))
        return false
      }
      if (amount > 0n) publishSettlement(tracked.id, amount, 'failed', messageOf(err))
      // Otherwise nothing was sent (or the pay step was never reached): try again after a back-off.
      if (this.stopped || this.tracked.get(tracked.id) !== tracked) return false
      const attempt = tracked.retryAttempt++
      const delay = retryDelay(attempt, this.retryFirstDelay, this.retryMaxDelay)
      this.log.warn({ account: tracked.id, amount: String(amount), attempt: attempt + 1, retryIn: delay, err },
        `settlement of ${amount} to ${tracked.id} was not sent (${messageOf(err)}); retrying in ${delay} ms`)
      const timer = setTimeout(() => {
        tracked.retryTimer = undefined
        void this.maybeSettle(tracked)
      }, delay)
      timer.unref()
      tracked.retryTimer = timer
      return false
    } finally {
      // Claimed but never handed to the plugin (refused before the pay step): nothing was sent, the claim goes.
      if (claimed !== undefined && this.claimed.get(tracked.id) === claimed) {
        this.claimed.delete(tracked.id)
        await this.forget(claimed)
      }
    }
  }

  /**
   * Resolves when no settlement is in flight for the account (at once if none is). For tests and tools
   * that must see the outcome of a settlement a packet triggered.
   */
  async settled (accountId: string): Promise<void> {
    await this.answeredBooked()
    while (true) {
      const settlement = this.tracked.get(accountId)?.settlement
      if (settlement === undefined) return
      await settlement
    }
  }

  // ---- unsettled settlements (SettlementAdmin) ------------------------------------------------------

  getUnsettled (): UnsettledSettlement[] {
    return [...this.unsettled.values()]
      .map((entry) => publicRecord(entry.record))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
  }

  async resolveSettlement (accountId: string, outcome: SettlementOutcome, id?: string): Promise<SettlementResolution> {
    return await this.resolve(accountId, outcome, id, 'operator')
  }

  /**
   * `paid`: the amount is credited (the money reached the peer); `not-paid`: the balance stays. The record goes
   * from the store before it goes from memory (so no new settlement can start, and be deleted, in between), then
   * the account settles again if it is below its threshold.
   */
  private async resolve (accountId: string, outcome: SettlementOutcome, id: string | undefined, by: 'operator' | 'plugin'): Promise<SettlementResolution> {
    if (outcome !== 'paid' && outcome !== 'not-paid') throw new TypeError(`outcome: expected "paid" or "not-paid", got ${String(outcome)}`)
    const entry = this.unsettled.get(accountId)
    if (entry === undefined) throw new SettlementAdminError('ERR_SETTLEMENT_NOT_FOUND', `no unsettled settlement for account ${accountId}`)
    const record = entry.record
    if (id !== undefined && id !== record.id) {
      throw new SettlementAdminError('ERR_SETTLEMENT_MISMATCH',
        `the unsettled settlement of account ${accountId} is ${record.id} (${record.amount}), not ${id}`)
    }
    if (entry.resolving) throw new SettlementAdminError('ERR_SETTLEMENT_BUSY', `the settlement ${record.id} of account ${accountId} is being resolved already`)
    entry.resolving = true
    let balance: bigint
    try {
      balance = outcome === 'paid'
        ? await this.api.balances.adjust(accountId, record.amount)
        : await this.api.balances.get(accountId)
    } catch (err) {
      entry.resolving = false
      throw err
    }
    await this.forget(record)
    this.unsettled.delete(accountId)
    entry.gauge.set(0)
    if (entry.alertId !== undefined) this.api.getService('alertAdmin')?.deleteAlert(entry.alertId)
    this.log.warn({ account: accountId, amount: String(record.amount), settlement: record.id, outcome, by, balance: String(balance) },
      `unsettled settlement of ${record.amount} to ${accountId} resolved as ${outcome} by the ${by}` +
      (outcome === 'paid' ? `; credited, balance ${balance}` : `; balance stays ${balance}`))
    const tracked = this.tracked.get(accountId)
    if (tracked !== undefined) {
      tracked.gauge.set(Number(balance))
      tracked.retryAttempt = 0
      void this.maybeSettle(tracked)
    }
    return { settlement: publicRecord(record), outcome, balance: String(balance), resolvedBy: by }
  }

  // ---- admin --------------------------------------------------------------------------------------

  async getBalances (): Promise<Record<string, BalanceStatus>> {
    const entries = await Promise.all([...this.tracked.values()].map(async (tracked) => [tracked.id, {
      balance: String(await this.api.balances.get(tracked.id)),
      minimum: tracked.minimumText,
      maximum: tracked.maximumText
    }] as const))
    return Object.fromEntries(entries)
  }

  async adjustBalance (accountId: string, amountDiff: bigint): Promise<bigint> {
    const tracked = this.tracked.get(accountId)
    if (tracked === undefined) throw new Error(`unknown account id. accountId=${accountId}`)
    this.log.info({ account: accountId, amountDiff: String(amountDiff) }, 'modifying balance')
    let balance: bigint
    try {
      balance = amountDiff >= 0n
        ? await this.api.balances.adjust(accountId, amountDiff, undefined, tracked.maximum)
        : await this.api.balances.adjust(accountId, amountDiff, tracked.minimum)
    } catch (err) {
      throw refusal(err)
    }
    tracked.gauge.set(Number(balance))
    if (amountDiff < 0n) void this.maybeSettle(tracked)
    return balance
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /**
   * A packet's reservation becomes final; resolves the balance (undefined if the store failed). The packet
   * was fulfilled, so its money moved: a failed commit is tried again (100 ms, doubling up to 5 s) until the
   * store takes it; the reservation's id makes a commit that did reach the store count once.
   */
  private async commit (tracked: Tracked, delta: bigint, reservation: Reservation, attempt = 0): Promise<bigint | undefined> {
    try {
      const balance = await this.api.balances.commit(tracked.id, delta, reservation)
      tracked.gauge.set(Number(balance))
      if (attempt > 0) this.log.warn({ account: tracked.id, delta: String(delta), attempt }, 'fulfilled packet committed to the balance after the store failed')
      return balance
    } catch (err) {
      if (this.stopped) {
        this.log.error({ account: tracked.id, delta: String(delta), err }, 'committing a fulfilled packet to the balance failed while stopping')
        return undefined
      }
      if (attempt === 0) this.log.error({ account: tracked.id, delta: String(delta), err }, 'committing a fulfilled packet to the balance failed; trying again until the store takes it')
      const timer = setTimeout(() => {
        this.commitRetries.delete(timer)
        void this.commit(tracked, delta, reservation, attempt + 1)
      }, Math.min(100 * 2 ** attempt, COMMIT_RETRY_MAX_DELAY))
      timer.unref()
      this.commitRetries.add(timer)
      return undefined
    }
  }

  /**
   * A packet's reservation is dropped (it was rejected or failed). A store that keeps reservations by id
   * releases one whose packet expired by itself, so a failure here is only logged.
   */
  private async release (tracked: Tracked, delta: bigint, reservation: Reservation, reason: string): Promise<void> {
    try {
      const balance = await this.api.balances.release(tracked.id, delta, reservation)
      tracked.gauge.set(Number(balance))
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ account: tracked.id, delta: String(delta), balance: String(balance) }, reason + '; reservation released')
      }
    } catch (err) {
      this.log.error({ account: tracked.id, delta: String(delta), err }, reason + '; releasing the reservation failed')
    }
  }
}

/**
 * A balance limit as a BigInt: undefined when it is no limit (`-Infinity` as a minimum, `Infinity` as a
 * maximum); the opposite infinity is a limit that refuses every change in that direction.
 */
function parseLimit (text: string, side: 'minimum' | 'maximum'): bigint | undefined {
  if (text === 'Infinity') return side === 'maximum' ? undefined : UNREACHABLE
  if (text === '-Infinity') return side === 'minimum' ? undefined : -UNREACHABLE
  return BigInt(text)
}

/** A balance store's refusal as the T04 the reference's messages name; any other error as it is. */
function refusal (err: unknown): unknown {
  if (!isBalanceRangeError(err)) return err
  return err.limit === 'maximum'
    ? new InsufficientLiquidityError('exceeded maximum balance.')
    : new InsufficientLiquidityError(`insufficient funds. oldBalance=${err.balance} proposedBalance=${err.proposed}`)
}

/** On TRACE_CHANNELS.settlement, when someone subscribes (tracing). */
function publishSettlement (account: string, amount: bigint, outcome: SettlementEvent['outcome'], reason?: string): void {
  if (!settlementChannel.hasSubscribers) return
  const event: SettlementEvent = { account, amount, outcome, reason }
  settlementChannel.publish(event)
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function packetValue (counter: Counter, labels: LabelValues): PacketValue {
  return {
    counter,
    labels,
    fulfilled: counter.labels({ ...labels, result: 'fulfilled', code: '' }),
    failed: counter.labels({ ...labels, result: 'failed', code: '' }),
    rejected: new Map()
  }
}

/** Counts a reply that is not a Fulfill: a Reject by its code, anything else as failed. */
function countNotFulfilled (value: PacketValue, reply: unknown, amount: bigint): void {
  if (!Buffer.isBuffer(reply) || !isReject(reply)) {
    value.failed.inc(Number(amount))
    return
  }
  const code = rejectCodeOf(reply)
  let child = value.rejected.get(code)
  if (child === undefined) {
    // Only valid codes get a child of their own (and a place in the map), so neither grows without bound.
    const label = CODE_PATTERN.test(code) ? code : ''
    child = value.rejected.get(label)
    if (child === undefined) {
      child = value.counter.labels({ ...value.labels, result: 'rejected', code: label })
      value.rejected.set(label, child)
    }
  }
  child.inc(Number(amount))
}
