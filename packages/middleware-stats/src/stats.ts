/**
 * Counts packets and money per account for Prometheus and the admin API: packets by result (fulfilled,
 * rejected by code, failed = an error was thrown) in each direction, money by result. The metric names and
 * labels are the reference connector's, so its dashboards keep working. Label children are bound once per
 * account; a packet costs a map lookup and two increments.
 */
import { isFulfill, rejectCodeOf } from '@conn/codec'
import {
  PerAccount,
  type Account, type CounterChild, type DataHandler, type GaugeChild, type Metrics, type Middleware, type MiddlewareApi,
  type MoneyHandler
} from '@conn/types'

export const METRICS = {
  incomingPackets: 'ilp_connector_incoming_ilp_packets',
  outgoingPackets: 'ilp_connector_outgoing_ilp_packets',
  incomingMoney: 'ilp_connector_incoming_money',
  outgoingMoney: 'ilp_connector_outgoing_money',
  incomingMoneyTotal: 'conn_incoming_money_total',
  outgoingMoneyTotal: 'conn_outgoing_money_total'
} as const

const PACKET_LABELS = ['result', 'account', 'asset', 'scale', 'code'] as const
const MONEY_LABELS = ['result', 'account', 'asset', 'scale'] as const

/** Reject codes look like this (RFC 27); anything else is counted under `other`. */
const CODE_PATTERN = /^[FTR][0-9A-Z]{2}$/
/** Distinct code labels per account and direction; codes beyond these are counted under `other`. */
const MAX_CODES = 32
const OTHER_CODE = 'other'

export interface PacketStats {
  fulfilled: number
  rejected: number
  failed: number
  /** Rejected packets by reject code. */
  rejectedByCode: Record<string, number>
}

export interface MoneyStats {
  /** Sum of the amounts that went through, in the account's base units (a decimal string). */
  succeeded: string
  /** Sum of the amounts whose handler threw. */
  failed: string
}

export interface AccountStats {
  incoming: PacketStats
  outgoing: PacketStats
  incomingMoney: MoneyStats
  outgoingMoney: MoneyStats
}

type Labels = Record<'account' | 'asset' | 'scale', string | number>

interface PacketMetric { labels (labels: Record<string, string | number>): CounterChild }

/** One account's packet counts in one direction: the metric children, bound once, and plain counts. */
class PacketCounters {
  private readonly fulfilledChild: CounterChild
  private readonly failedChild: CounterChild
  private readonly codes = new Map<string, { child: CounterChild, count: number }>()
  fulfilled = 0
  rejected = 0
  failed = 0

  constructor (private readonly metric: PacketMetric, private readonly labels: Labels) {
    this.fulfilledChild = metric.labels({ ...labels, result: 'fulfilled', code: '' })
    this.failedChild = metric.labels({ ...labels, result: 'failed', code: '' })
    // Series that exist from the start at 0, so that rate() and increase() see the first packet.
    this.fulfilledChild.inc(0)
    this.failedChild.inc(0)
  }

  /**
   * `onReply` counts a reply and passes it on; `onFailure` counts an error and rethrows it. Both are bound once per account,
   * so a packet costs one `then` and no closure of its own.
   */
  readonly onReply = (reply: Buffer): Buffer => {
    this.reply(reply)
    return reply
  }

  readonly onFailure = (err: unknown): never => {
    this.fail()
    throw err
  }

  reply (reply: Buffer): void {
    if (isFulfill(reply)) {
      this.fulfilled++
      this.fulfilledChild.inc()
      return
    }
    this.rejected++
    const code = rejectCodeOf(reply)
    const entry = this.codes.get(code) ?? this.addCode(code)
    entry.count++
    entry.child.inc()
  }

  fail (): void {
    this.failed++
    this.failedChild.inc()
  }

  private addCode (code: string): { child: CounterChild, count: number } {
    const label = CODE_PATTERN.test(code) && this.codes.size < MAX_CODES ? code : OTHER_CODE
    let entry = this.codes.get(label)
    if (entry === undefined) {
      entry = { child: this.metric.labels({ ...this.labels, result: 'rejected', code: label }), count: 0 }
      this.codes.set(label, entry)
    }
    return entry
  }

  snapshot (): PacketStats {
    const rejectedByCode: Record<string, number> = {}
    for (const [code, { count }] of this.codes) rejectedByCode[code] = count
    return { fulfilled: this.fulfilled, rejected: this.rejected, failed: this.failed, rejectedByCode }
  }
}

/** One account's money in one direction: the last amount (gauge, as the reference) and totals. */
class MoneyCounters {
  private readonly succeededGauge: GaugeChild
  private readonly failedGauge: GaugeChild
  private readonly succeededTotal: CounterChild
  private readonly failedTotal: CounterChild
  succeeded = 0n
  failed = 0n

  constructor (gauge: { labels (l: Record<string, string | number>): GaugeChild }, total: PacketMetric, labels: Labels) {
    this.succeededGauge = gauge.labels({ ...labels, result: 'succeeded' })
    this.failedGauge = gauge.labels({ ...labels, result: 'failed' })
    this.succeededTotal = total.labels({ ...labels, result: 'succeeded' })
    this.failedTotal = total.labels({ ...labels, result: 'failed' })
    this.succeededTotal.inc(0)
    this.failedTotal.inc(0)
  }

  succeed (amount: bigint): void {
    this.succeeded += amount
    const value = Number(amount)
    this.succeededGauge.set(value)
    this.succeededTotal.inc(value)
  }

  fail (amount: bigint): void {
    this.failed += amount
    const value = Number(amount)
    this.failedGauge.set(value)
    this.failedTotal.inc(value)
  }

  snapshot (): MoneyStats {
    return { succeeded: this.succeeded.toString(), failed: this.failed.toString() }
  }
}

interface AccountCounters {
  incoming: PacketCounters
  outgoing: PacketCounters
  incomingMoney: MoneyCounters
  outgoingMoney: MoneyCounters
}

export class Stats implements Middleware {
  readonly name = 'stats'
  private readonly accounts = new PerAccount((account) => this.makeCounters(account))
  private readonly incomingPackets
  private readonly outgoingPackets
  private readonly incomingMoneyGauge
  private readonly outgoingMoneyGauge
  private readonly incomingMoneyTotal
  private readonly outgoingMoneyTotal

  constructor (api: Pick<MiddlewareApi, 'metrics'>) {
    const metrics: Metrics = api.metrics
    this.incomingPackets = metrics.counter({ name: METRICS.incomingPackets, help: 'Total number of incoming ILP packets', labelNames: PACKET_LABELS })
    this.outgoingPackets = metrics.counter({ name: METRICS.outgoingPackets, help: 'Total number of outgoing ILP packets', labelNames: PACKET_LABELS })
    this.incomingMoneyGauge = metrics.gauge({ name: METRICS.incomingMoney, help: 'Amount of the last incoming money (settlement), in base units', labelNames: MONEY_LABELS })
    this.outgoingMoneyGauge = metrics.gauge({ name: METRICS.outgoingMoney, help: 'Amount of the last outgoing money (settlement), in base units', labelNames: MONEY_LABELS })
    this.incomingMoneyTotal = metrics.counter({ name: METRICS.incomingMoneyTotal, help: 'Total incoming money (settlements), in base units', labelNames: MONEY_LABELS })
    this.outgoingMoneyTotal = metrics.counter({ name: METRICS.outgoingMoneyTotal, help: 'Total outgoing money (settlements), in base units', labelNames: MONEY_LABELS })
  }

  readonly incomingData: DataHandler = (ctx, next) => countReply(this.countersOf(ctx.account).incoming, next(ctx))
  readonly outgoingData: DataHandler = (ctx, next) => countReply(this.countersOf(ctx.account).outgoing, next(ctx))
  readonly incomingMoney: MoneyHandler = async (ctx, next) => { await countMoney(this.countersOf(ctx.account).incomingMoney, ctx.amount, next(ctx)) }
  readonly outgoingMoney: MoneyHandler = async (ctx, next) => { await countMoney(this.countersOf(ctx.account).outgoingMoney, ctx.amount, next(ctx)) }

  /** Binds the account's label children; its packet counters and money totals start at 0 in the registry. */
  addAccount (account: Account): void {
    this.countersOf(account)
  }

  /** Drops the account from `getStats()`; its metric series stay in the registry. */
  removeAccount (account: Account): void {
    this.accounts.delete(account.id)
  }

  /** A plain snapshot per account, for the admin API. */
  getStats (): Record<string, AccountStats> {
    const stats: Record<string, AccountStats> = {}
    for (const [id, counters] of this.accounts.entries()) {
      stats[id] = {
        incoming: counters.incoming.snapshot(),
        outgoing: counters.outgoing.snapshot(),
        incomingMoney: counters.incomingMoney.snapshot(),
        outgoingMoney: counters.outgoingMoney.snapshot()
      }
    }
    return stats
  }

  private countersOf (account: Account): AccountCounters {
    return this.accounts.get(account)
  }

  private makeCounters (account: Account): AccountCounters {
    const labels: Labels = { account: account.id, asset: account.assetCode, scale: account.assetScale }
    return {
      incoming: new PacketCounters(this.incomingPackets, labels),
      outgoing: new PacketCounters(this.outgoingPackets, labels),
      incomingMoney: new MoneyCounters(this.incomingMoneyGauge, this.incomingMoneyTotal, labels),
      outgoingMoney: new MoneyCounters(this.outgoingMoneyGauge, this.outgoingMoneyTotal, labels)
    }
  }
}

/** Counts the outcome of a packet: its reply (by type and code), or a failure when the rest of the pipeline threw. */
function countReply (counters: PacketCounters, pending: Promise<Buffer>): Promise<Buffer> {
  return pending.then(counters.onReply, counters.onFailure)
}

/** Counts money sent or received, as succeeded or failed. */
async function countMoney (counters: MoneyCounters, amount: bigint, pending: Promise<void>): Promise<void> {
  try {
    await pending
  } catch (err) {
    counters.fail(amount)
    throw err
  }
  counters.succeed(amount)
}
