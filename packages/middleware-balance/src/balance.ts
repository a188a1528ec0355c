/**
 * Keeps each account's balance (from the connector's point of view: positive = the peer owes us) within its
 * configured `minimum` and `maximum`, and settles through the plugin's `sendMoney` when it falls below
 * `settleThreshold`. The balance lives only in `api.balances` and changes only by its atomic "adjust within
 * limits", never by read-modify-write, so a store shared by several connectors stays right and a persistent
 * store keeps it across restarts. Outgoing packets reserve against `minimum` BEFORE they are forwarded, so
 * conn never owes a peer more than it allows (the reference debits after the Fulfill, when it can only
 * reject upstream with the money already owed downstream).
 */
import { isFulfill, isReject, rejectCodeOf } from '@conn/codec'
import {
  InsufficientLiquidityError, isBalanceRangeError,
  type Account, type BalanceAdmin, type BalanceStatus, type Counter, type CounterChild, type DataHandler, type Gauge, type GaugeChild, type LabelValues, type Logger,
  type Middleware, type MiddlewareApi, type MoneyHandler, type NextData, type PacketContext
} from '@conn/types'
import { balanceConfigOf } from './options.ts'

/**
 * A limit no balance reaches: `minimum: 'Infinity'` (or `maximum: '-Infinity'`) refuses every change in that
 * direction, as the reference's BigNumber comparison does, through the same atomic adjust.
 */
const UNREACHABLE = 2n ** 256n
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
  /** Settles (if needed) whenever the plugin (re)connects. */
  readonly onConnect: () => void
  /** The settlement loop running now, if any. */
  settlement: Promise<void> | undefined
  /** A trigger arrived while `settlement` was running: check again before it ends. */
  settleAgain: boolean
}

const RESOLVED = Promise.resolve()

export class BalanceMiddleware implements Middleware, BalanceAdmin {
  readonly name = 'balance'
  /** The admin API's /balance, through the connector (`getService('balanceAdmin')`). */
  readonly services = { balanceAdmin: this as BalanceAdmin }
  private readonly tracked = new Map<string, Tracked>()
  /** Accounts already warned about (no `balance` config), so a re-added account does not warn twice. */
  private readonly warnedUnlimited = new Set<string>()
  private readonly log: Logger
  private readonly balanceGauge: Gauge
  private readonly incomingValueCounter: Counter
  private readonly outgoingValueCounter: Counter

  constructor (private readonly api: MiddlewareApi) {
    this.log = api.logger.child({ middleware: 'balance' })
    const labelNames = ['account', 'asset', 'scale']
    this.balanceGauge = api.metrics.gauge({ name: 'ilp_connector_balance', help: 'Balances on peer account', labelNames })
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
      onConnect: () => { void this.maybeSettle(tracked) },
      settlement: undefined,
      settleAgain: false
    }
    tracked.gauge.set(Number(await this.api.balances.get(id)))
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
    try {
      tracked.gauge.set(Number(await this.api.balances.reserve(tracked.id, delta, tracked.minimum, tracked.maximum)))
    } catch (err) {
      throw refusal(err)
    }
    const amount = delta < 0n ? -delta : delta
    let reply: Buffer
    try {
      reply = await next(ctx)
    } catch (err) {
      await this.release(tracked, delta, 'packet failed')
      value.failed.inc(Number(amount))
      throw err
    }
    if (Buffer.isBuffer(reply) && isFulfill(reply)) {
      value.fulfilled.inc(Number(amount))
      const balance = await this.commit(tracked, delta)
      void this.maybeSettle(tracked, balance)
    } else {
      await this.release(tracked, delta, 'packet rejected')
      countNotFulfilled(value, reply, amount)
    }
    return reply
  }

  // ---- money --------------------------------------------------------------------------------------

  /** The peer paid us: it owes that much less (no limit: the money has arrived). */
  readonly incomingMoney: MoneyHandler = async (ctx, next) => {
    const tracked = this.tracked.get(ctx.account.id)
    if (tracked !== undefined) tracked.gauge.set(Number(await this.api.balances.adjust(tracked.id, -ctx.amount)))
    await next(ctx)
  }

  /** We pay the peer (settlement): credited before the plugin sends, rolled back if it fails. */
  readonly outgoingMoney: MoneyHandler = async (ctx, next) => {
    const tracked = this.tracked.get(ctx.account.id)
    if (tracked === undefined) return await next(ctx)
    tracked.gauge.set(Number(await this.api.balances.adjust(tracked.id, ctx.amount)))
    try {
      await next(ctx)
    } catch (err) {
      await this.restore(tracked, -ctx.amount, 'sending money failed')
      throw err
    }
  }

  // ---- settlement ---------------------------------------------------------------------------------

  /**
   * Settles the account if its balance is below `settleThreshold`, one settlement at a time: a trigger
   * while one is in flight makes it check again when it is done. Never rejects (failures are logged).
   * `hint`: the balance the caller just saw; at or above the threshold, no settlement is started.
   */
  private maybeSettle (tracked: Tracked, hint?: bigint): Promise<void> {
    const threshold = tracked.settleThreshold
    if (threshold === undefined) return RESOLVED
    if (tracked.settlement !== undefined) {
      tracked.settleAgain = true
      return tracked.settlement
    }
    if (hint !== undefined && hint >= threshold) return RESOLVED
    tracked.settlement = this.settleLoop(tracked, threshold)
    return tracked.settlement
  }

  private async settleLoop (tracked: Tracked, threshold: bigint): Promise<void> {
    try {
      do {
        tracked.settleAgain = false
        await this.settleOnce(tracked, threshold)
      } while (tracked.settleAgain && this.tracked.get(tracked.id) === tracked)
    } finally {
      // Same tick as the last settleAgain check (no await in between), so no trigger is lost.
      tracked.settlement = undefined
    }
  }

  private async settleOnce (tracked: Tracked, threshold: bigint): Promise<void> {
    let amount = 0n
    try {
      const balance = await this.api.balances.get(tracked.id)
      if (balance >= threshold) return
      amount = tracked.settleTo - balance
      if (amount <= 0n) return
      this.log.debug({ account: tracked.id, balance: String(balance), amount: String(amount) }, 'settlement triggered')
      await this.api.sendMoney(tracked.id, amount)
      this.log.debug({ account: tracked.id, amount: String(amount) }, 'settlement sent')
    } catch (err) {
      this.log.warn({ account: tracked.id, amount: String(amount), err }, 'settlement failed')
    }
  }

  /**
   * Resolves when no settlement is in flight for the account (at once if none is). For tests and tools
   * that must see the outcome of a settlement a packet triggered.
   */
  async settled (accountId: string): Promise<void> {
    while (true) {
      const settlement = this.tracked.get(accountId)?.settlement
      if (settlement === undefined) return
      await settlement
    }
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
   * Undoes a committed change (a settlement whose sending failed) with no limit. Only a failing store can
   * make it fail; that is logged (the balance is then off by `delta`) and not thrown, so the original error
   * still goes back.
   */
  private async restore (tracked: Tracked, delta: bigint, reason: string): Promise<void> {
    try {
      tracked.gauge.set(Number(await this.api.balances.adjust(tracked.id, delta)))
    } catch (err) {
      this.log.error({ account: tracked.id, delta: String(delta), err }, reason + '; restoring the balance failed, it is off by -delta')
    }
  }

  /** A packet's reservation becomes final; resolves the balance (undefined if the store failed, which is logged). */
  private async commit (tracked: Tracked, delta: bigint): Promise<bigint | undefined> {
    try {
      const balance = await this.api.balances.commit(tracked.id, delta)
      tracked.gauge.set(Number(balance))
      return balance
    } catch (err) {
      this.log.error({ account: tracked.id, delta: String(delta), err }, 'committing a fulfilled packet to the balance failed')
      return undefined
    }
  }

  /** A packet's reservation is dropped (it was rejected or failed). */
  private async release (tracked: Tracked, delta: bigint, reason: string): Promise<void> {
    try {
      const balance = await this.api.balances.release(tracked.id, delta)
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
