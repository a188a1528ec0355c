/**
 * Settlement never pays twice: a `sendMoney` that says nothing was sent is retried with back-off; any other
 * failure is kept as unsettled (store, alert, metrics, admin) and blocks settlement until resolved; a restart with
 * a persistent store keeps it. The peer is a scripted plugin that records what really reached it, so every test
 * checks the money the peer got against the balance we book.
 */
import { expect } from 'chai'
import sinon from 'sinon'
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { join } from 'node:path'
import {
  MoneyNotSentError, MoneyOutcomeUnknownError, SettlementAdminError, TRACE_CHANNELS,
  type Account, type Alert, type AlertAdmin, type Balances, type LabelValues, type SettlementEvent, type SettlementOutcome, type Store
} from '@conn/types'
import {
  FakePlugin, MapBalances, MapStore, RecordingLogger, RecordingMetrics, deferred, fakeAccount, fakeApi, fulfill, packetContext,
  reject, rejectionOf, type Deferred, type FakeApi
} from '@conn/testkit'
import { MemoryStore, StoreBalances } from '@conn/core'
import { LevelStore } from '@conn/store-level'
import { BalanceMiddleware, SETTLEMENT_KEY_PREFIX, type BalanceConfig, type BalanceOptions } from '../src/index.ts'
import { INTERRUPTED } from '../src/settlement.ts'

/**
 * What the plugin does with the next sendMoney: `sent` (delivered, resolves), `refused` (not delivered,
 * MoneyNotSentError), `timeout-paid` / `timeout-lost` (delivered or not, then a plain time-out error: the
 * connector cannot tell which), `hang` (never answers until the test says so).
 */
type Outcome = 'sent' | 'refused' | 'timeout-paid' | 'timeout-lost' | 'hang'

class ScriptedPlugin extends FakePlugin {
  /** Outcomes of the next calls, in order; `sent` once empty. */
  outcomes: Outcome[] = []
  /** The amounts sendMoney was called with. */
  readonly calls: bigint[] = []
  /** What really reached the peer. */
  readonly delivered: bigint[] = []
  /** Whether the money of each call reached the peer. */
  readonly reached: boolean[] = []
  inFlight = 0
  maxInFlight = 0
  /** The answers of `hang` calls: resolve or reject them. */
  readonly hanging: Array<Deferred<void>> = []
  /** Attached to the time-out errors, when set: the plugin's late word on the outcome. */
  lateOutcome: Promise<SettlementOutcome> | undefined

  override async sendMoney (amount: string): Promise<void> {
    this.calls.push(BigInt(amount))
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      const outcome = this.outcomes.shift() ?? 'sent'
      const reached = outcome === 'sent' || outcome === 'timeout-paid'
      this.reached.push(reached)
      if (reached) this.delivered.push(BigInt(amount))
      await Promise.resolve()
      switch (outcome) {
        case 'sent': return
        case 'refused': throw new MoneyNotSentError(`FakePlugin: ${amount} refused before sending`)
        case 'hang': {
          const answer = deferred()
          this.hanging.push(answer)
          return await answer.promise
        }
        default: throw new MoneyOutcomeUnknownError(`${this.calls.length} timed out`, { outcome: this.lateOutcome })
      }
    } finally {
      this.inFlight--
    }
  }

  get deliveredTotal (): bigint { return this.delivered.reduce((a, b) => a + b, 0n) }
}

/** An alert service as the alert middleware offers it, in memory. */
class Alerts implements AlertAdmin {
  readonly alerts: Alert[] = []
  private nextId = 1
  getAlerts (): Alert[] { return this.alerts.map((a) => ({ ...a })) }
  deleteAlert (id: number): boolean {
    const i = this.alerts.findIndex((a) => a.id === id)
    if (i < 0) return false
    this.alerts.splice(i, 1)
    return true
  }

  raiseAlert (fields: { accountId: string, triggeredBy: string, message: string }): Alert {
    const alert = { id: this.nextId++, ...fields, count: 1, createdAt: new Date(), updatedAt: new Date() }
    this.alerts.push(alert)
    return { ...alert }
  }
}

const SETTLING: BalanceConfig = { minimum: '-10000', maximum: 'Infinity', settleThreshold: '-1000', settleTo: '0' }
const LABELS: LabelValues = { account: 'bob', asset: 'USD', scale: 9 }
const FULFILL = fulfill(Buffer.alloc(32, 7))

interface Rig {
  api: FakeApi
  middleware: BalanceMiddleware
  plugin: ScriptedPlugin
  bob: Account
  store: Store
  balances: Balances
  logger: RecordingLogger
  metrics: RecordingMetrics
  alerts: Alerts
  /**
   * A fulfilled outgoing packet of `amount` to bob (we owe him that much more), then waits for any settlement.
   * False if the balance middleware refused it at the minimum (nothing owed).
   */
  owe: (amount: bigint) => Promise<boolean>
  /**
   * An outgoing packet of `amount` to bob left in flight (its debit reserved) until the test answers it:
   * `answer(true)` fulfills it, `answer(false)` rejects it; both resolve whether it was fulfilled, once booked
   * and any settlement it triggered is over. Undefined if the balance middleware refused it at the minimum.
   */
  hold: (amount: bigint) => Promise<{ answer: (fulfilled: boolean) => Promise<boolean> } | undefined>
  balance: () => Promise<bigint>
}

async function rig (options: { store?: Store, balances?: Balances, config?: BalanceConfig, middleware?: BalanceOptions } = {}): Promise<Rig> {
  const store = options.store ?? new MapStore()
  const balances = options.balances ?? new MapBalances()
  const logger = new RecordingLogger()
  const metrics = new RecordingMetrics()
  const alerts = new Alerts()
  const plugin = new ScriptedPlugin()
  const bob = fakeAccount({ id: 'bob', plugin, config: { balance: options.config ?? SETTLING } })
  // api.sendMoney runs the outgoing money pipeline as the connector does: this middleware, then the plugin.
  const api: FakeApi = fakeApi({
    logger,
    store,
    balances,
    metrics,
    accounts: [bob],
    getService: ((name: string) => name === 'alertAdmin' ? alerts : undefined) as FakeApi['getService'],
    sendMoney: async (id, amount) => {
      await middleware.outgoingMoney({ account: api.accounts.get(id)!, amount }, async (ctx) => {
        await (ctx.account.plugin as ScriptedPlugin).sendMoney(String(ctx.amount))
      })
    }
  })
  const middleware = new BalanceMiddleware(api, options.middleware)
  await middleware.addAccount(bob)
  const owe = async (amount: bigint): Promise<boolean> => {
    let fulfilled = true
    try {
      await middleware.outgoingData(packetContext({ account: bob, amount, destination: 'test.conn.bob' }), async () => FULFILL)
    } catch {
      fulfilled = false
    }
    await middleware.settled('bob')
    return fulfilled
  }
  const hold = async (amount: bigint): Promise<{ answer: (fulfilled: boolean) => Promise<boolean> } | undefined> => {
    const reply = deferred<Buffer>()
    const forwarded = deferred()
    const outcome = middleware.outgoingData(packetContext({ account: bob, amount, destination: 'test.conn.bob' }), async () => {
      forwarded.resolve()
      return await reply.promise
    }).then((buffer) => buffer === FULFILL, () => false)
    // refused at the minimum (never forwarded), or reserved and forwarded
    if (!await Promise.race([forwarded.promise.then(() => true), outcome.then(() => false)])) return undefined
    return {
      answer: async (fulfilled) => {
        reply.resolve(fulfilled ? FULFILL : reject({ code: 'T04' }))
        const result = await outcome
        await middleware.settled('bob')
        return result
      }
    }
  }
  return { api, middleware, plugin, bob, store, balances, logger, metrics, alerts, owe, hold, balance: async () => await balances.get('bob') }
}

/** Lets promise callbacks run (the settlement chain is a few ticks deep). */
async function flush (): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('settlement never pays twice', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] }) })
  afterEach(() => { clock.restore() })

  describe('nothing sent (MoneyNotSentError): retried with back-off', () => {
    it('leaves the balance, retries after 1 s, 2 s and 4 s, and pays the peer exactly once when it goes through', async () => {
      const r = await rig()
      r.plugin.outcomes = ['refused', 'refused', 'refused', 'sent']
      await r.owe(1500n)
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(-1500n)

      await clock.tickAsync(999)
      expect(r.plugin.calls).to.have.length(1)
      await clock.tickAsync(1)
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.have.length(2)
      await clock.tickAsync(1999)
      expect(r.plugin.calls).to.have.length(2)
      await clock.tickAsync(1)
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.have.length(3)
      await clock.tickAsync(4000)
      await r.middleware.settled('bob')

      expect(r.plugin.calls).to.deep.equal([1500n, 1500n, 1500n, 1500n])
      expect(r.plugin.delivered).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(0n)
      expect(r.middleware.getUnsettled()).to.deep.equal([])
      expect(await r.store.get(SETTLEMENT_KEY_PREFIX + 'bob')).to.equal(undefined)
      expect(r.metrics.value('ilp_connector_settlements', { ...LABELS, result: 'not_sent' })).to.equal(3)
      expect(r.metrics.value('ilp_connector_settlements', { ...LABELS, result: 'sent' })).to.equal(1)
      await clock.tickAsync(600_000)
      expect(r.plugin.calls).to.have.length(4)
    })

    it('doubles the delay up to settleRetryMaxDelay', async () => {
      const r = await rig({ middleware: { settleRetryDelay: 100, settleRetryMaxDelay: 300 } })
      r.plugin.outcomes = ['refused', 'refused', 'refused', 'refused', 'refused', 'refused']
      await r.owe(1500n)
      for (let i = 0; i < 4; i++) { // attempts at 0, 100, 300, 600, 900 and 1200 ms
        await clock.tickAsync(300)
        await r.middleware.settled('bob')
      }
      const delays = r.logger.at('warn').filter((w) => String(w.msg).startsWith('settlement of 1500 to bob was not sent')).map((w) => w.obj.retryIn)
      expect(delays.slice(0, 5)).to.deep.equal([100, 200, 300, 300, 300])
      expect(r.plugin.delivered).to.deep.equal([])
      r.middleware.stop()
    })

    it('starts nothing on packets while a retry waits, and goes at once (with the whole debt) when the plugin reconnects', async () => {
      const r = await rig()
      r.plugin.outcomes = ['refused']
      await r.owe(1500n)
      await r.owe(100n)
      await r.owe(100n)
      expect(r.plugin.calls).to.deep.equal([1500n])
      await r.plugin.disconnect()
      await r.plugin.connect()
      await flush()
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.deep.equal([1500n, 1700n])
      expect(r.plugin.delivered).to.deep.equal([1700n])
      expect(await r.balance()).to.equal(0n)
      await clock.tickAsync(600_000)
      expect(r.plugin.calls).to.have.length(2)
    })

    it('sends nothing on a retry that finds the balance back at the threshold', async () => {
      const r = await rig()
      r.plugin.outcomes = ['refused']
      await r.owe(1500n)
      await r.middleware.adjustBalance('bob', 1500n)
      await clock.tickAsync(1000)
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(0n)
    })

    it('clears its timer when the account is removed, and on stop()', async () => {
      const r = await rig()
      r.plugin.outcomes = ['refused']
      await r.owe(1500n)
      expect(clock.countTimers()).to.equal(1)
      await r.middleware.removeAccount(r.bob)
      expect(clock.countTimers()).to.equal(0)
      await clock.tickAsync(600_000)
      expect(r.plugin.calls).to.have.length(1)

      const again = await rig()
      again.plugin.outcomes = ['refused']
      await again.owe(1500n)
      await again.middleware.stop()
      expect(clock.countTimers()).to.equal(0)
    })
  })

  describe('on the settlement trace channel', () => {
    it('publishes each outcome with the account and amount: failed (and why), sent, unknown', async () => {
      const events: SettlementEvent[] = []
      const listener = (event: unknown): void => { events.push(event as SettlementEvent) }
      subscribe(TRACE_CHANNELS.settlement, listener)
      try {
        const r = await rig()
        r.plugin.outcomes = ['refused', 'sent']
        await r.owe(1500n)
        await clock.tickAsync(1000)
        await r.middleware.settled('bob')
        const timedOut = await rig()
        timedOut.plugin.outcomes = ['timeout-paid']
        await timedOut.owe(1600n)
      } finally {
        unsubscribe(TRACE_CHANNELS.settlement, listener)
      }
      expect(events.map((e) => [e.account, e.amount, e.outcome])).to.deep.equal([['bob', 1500n, 'failed'], ['bob', 1500n, 'sent'], ['bob', 1600n, 'unknown']])
      expect(events[0]!.reason).to.be.a('string').and.not.equal('')
    })
  })

  describe('unknown outcome: kept as unsettled, never retried blindly', () => {
    it('keeps a timed-out settlement: balance unchanged, in the store, listed, alerted, in the metrics, warned naming account and amount', async () => {
      const r = await rig()
      r.plugin.outcomes = ['timeout-paid']
      await r.owe(1500n)
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(-1500n)

      const [unsettled, ...others] = r.middleware.getUnsettled()
      expect(others).to.deep.equal([])
      expect(unsettled).to.deep.include({ accountId: 'bob', amount: '1500', createdAt: new Date(1_700_000_000_000), reason: '1 timed out' })
      expect(unsettled!.id).to.match(/^[0-9a-f-]{36}$/)
      expect(JSON.parse((await r.store.get(SETTLEMENT_KEY_PREFIX + 'bob'))!)).to.deep.equal({
        id: unsettled!.id, accountId: 'bob', amount: '1500', createdAt: '2023-11-14T22:13:20.000Z', state: 'unsettled', reason: '1 timed out'
      })

      expect(r.alerts.alerts).to.have.length(1)
      expect(r.alerts.alerts[0]).to.deep.include({ accountId: 'bob', triggeredBy: 'test.conn' })
      expect(r.alerts.alerts[0]!.message).to.equal('settlement of 1500 to bob has an unknown outcome: 1 timed out. It is not retried, and bob ' +
        'settles no more until it is resolved: POST /settlements/bob {"outcome":"paid"} or {"outcome":"not-paid"}')
      expect(r.metrics.value('ilp_connector_unsettled_amount', LABELS)).to.equal(1500)
      expect(r.metrics.value('ilp_connector_settlements', { ...LABELS, result: 'unknown' })).to.equal(1)
      const warning = r.logger.at('warn').find((w) => String(w.msg).startsWith('sendMoney failed; settlement of 1500 to bob has an unknown outcome'))
      expect(warning?.obj).to.deep.include({ account: 'bob', amount: '1500', settlement: unsettled!.id })

      // More debt, reconnects and time: still no second payment.
      await r.owe(2000n)
      await r.plugin.disconnect()
      await r.plugin.connect()
      await clock.tickAsync(3_600_000)
      await r.middleware.adjustBalance('bob', -100n)
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(-3600n)
    })

    it('refuses any other sendMoney to the account while one is unsettled, or in flight (MoneyNotSentError, nothing sent)', async () => {
      const r = await rig()
      r.plugin.outcomes = ['hang']
      await r.middleware.outgoingData(packetContext({ account: r.bob, amount: 1500n }), async () => FULFILL)
      await flush()
      expect(r.plugin.calls).to.deep.equal([1500n])
      const inFlight = await rejectionOf(r.api.sendMoney('bob', 5n))
      expect(inFlight).to.be.instanceOf(MoneyNotSentError)
      expect(inFlight.message).to.equal('not sending 5 to bob: another settlement to bob is in flight')

      r.plugin.hanging[0]!.reject(new Error('BTP plugin disconnected before request 1 was answered'))
      await r.middleware.settled('bob')
      const [unsettled] = r.middleware.getUnsettled()
      const held = await rejectionOf(r.api.sendMoney('bob', 5n))
      expect(held).to.be.instanceOf(MoneyNotSentError)
      expect(held.message).to.equal(`not sending 5 to bob: the settlement of 1500 to bob (${unsettled!.id}) has an unknown outcome and must be resolved first`)
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(r.plugin.maxInFlight).to.equal(1)
    })
  })

  describe('resolving an unsettled settlement', () => {
    it('paid: credits the amount, clears the record, alert and gauge, and settles what is owed beyond it', async () => {
      const r = await rig()
      r.plugin.outcomes = ['timeout-paid']
      await r.owe(1500n)
      await r.owe(1200n)
      expect(await r.balance()).to.equal(-2700n)
      const [unsettled] = r.middleware.getUnsettled()

      const resolution = await r.middleware.resolveSettlement('bob', 'paid', unsettled!.id)
      expect(resolution).to.deep.equal({ settlement: unsettled, outcome: 'paid', balance: '-1200', resolvedBy: 'operator' })
      await r.middleware.settled('bob')

      expect(r.plugin.calls).to.deep.equal([1500n, 1200n])
      expect(r.plugin.delivered).to.deep.equal([1500n, 1200n])
      expect(await r.balance()).to.equal(0n)
      expect(r.middleware.getUnsettled()).to.deep.equal([])
      expect(await r.store.get(SETTLEMENT_KEY_PREFIX + 'bob')).to.equal(undefined)
      expect(r.alerts.alerts).to.deep.equal([])
      expect(r.metrics.value('ilp_connector_unsettled_amount', LABELS)).to.equal(0)
      expect(r.logger.at('warn').map((w) => w.msg)).to.include('unsettled settlement of 1500 to bob resolved as paid by the operator; credited, balance -1200')
    })

    it('not-paid: leaves the balance and settles the whole debt again, so the peer gets it once', async () => {
      const r = await rig()
      r.plugin.outcomes = ['timeout-lost']
      await r.owe(1500n)
      expect(r.plugin.delivered).to.deep.equal([])
      const resolution = await r.middleware.resolveSettlement('bob', 'not-paid')
      expect(resolution).to.deep.include({ outcome: 'not-paid', balance: '-1500', resolvedBy: 'operator' })
      await r.middleware.settled('bob')
      expect(r.plugin.calls).to.deep.equal([1500n, 1500n])
      expect(r.plugin.delivered).to.deep.equal([1500n])
      expect(await r.balance()).to.equal(0n)
    })

    it('refuses (SettlementAdminError, nothing changed) no unsettled settlement, another id, a second resolution at once, and a bad outcome', async () => {
      const r = await rig()
      const none = await rejectionOf(r.middleware.resolveSettlement('bob', 'paid'))
      expect(none).to.be.instanceOf(SettlementAdminError)
      expect([none.code, none.message]).to.deep.equal(['ERR_SETTLEMENT_NOT_FOUND', 'no unsettled settlement for account bob'])

      r.plugin.outcomes = ['timeout-paid']
      await r.owe(1500n)
      const [unsettled] = r.middleware.getUnsettled()
      const other = await rejectionOf(r.middleware.resolveSettlement('bob', 'paid', 'abc'))
      expect([other.code, other.message]).to.deep.equal(['ERR_SETTLEMENT_MISMATCH', `the unsettled settlement of account bob is ${unsettled!.id} (1500), not abc`])
      expect((await rejectionOf(r.middleware.resolveSettlement('bob', 'maybe' as SettlementOutcome))).message)
        .to.equal('outcome: expected "paid" or "not-paid", got maybe')

      const slow = deferred<bigint>()
      const adjust = sinon.stub(r.balances, 'adjust').callsFake(async () => await slow.promise)
      const first = r.middleware.resolveSettlement('bob', 'paid')
      const second = await rejectionOf(r.middleware.resolveSettlement('bob', 'paid'))
      expect(second.code).to.equal('ERR_SETTLEMENT_BUSY')
      adjust.restore()
      slow.resolve(await r.balances.adjust('bob', 1500n))
      await first
      expect((await rejectionOf(r.middleware.resolveSettlement('bob', 'paid'))).code).to.equal('ERR_SETTLEMENT_NOT_FOUND')
      expect(await r.balance()).to.equal(0n)
    })

    it('the plugin can resolve it when it learns the outcome (MoneyOutcomeUnknownError.outcome)', async () => {
      const r = await rig()
      const late = deferred<SettlementOutcome>()
      r.plugin.lateOutcome = late.promise
      r.plugin.outcomes = ['timeout-paid']
      await r.owe(1500n)
      expect(r.middleware.getUnsettled()).to.have.length(1)
      late.resolve('paid')
      await flush()
      await r.middleware.settled('bob')
      expect(r.middleware.getUnsettled()).to.deep.equal([])
      expect(await r.balance()).to.equal(0n)
      expect(r.plugin.calls).to.deep.equal([1500n])
      expect(r.logger.at('warn').map((w) => w.msg)).to.include('unsettled settlement of 1500 to bob resolved as paid by the plugin; credited, balance 0')
    })

    it('a late word from the plugin after the operator resolved it changes nothing', async () => {
      const r = await rig()
      const late = deferred<SettlementOutcome>()
      r.plugin.lateOutcome = late.promise
      r.plugin.outcomes = ['timeout-paid']
      await r.owe(1500n)
      await r.middleware.resolveSettlement('bob', 'paid')
      late.resolve('paid')
      await flush()
      expect(await r.balance()).to.equal(0n)
      expect(r.plugin.calls).to.deep.equal([1500n])
    })
  })

  describe('restart with a persistent store (@conn/store-level)', () => {
    let dir: string
    beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'conn-settlement-')) })
    afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

    async function open (): Promise<{ store: LevelStore, balances: StoreBalances }> {
      const store = new LevelStore({ path: dir })
      await store.open()
      return { store, balances: new StoreBalances(store) }
    }

    it('keeps an unsettled settlement across a restart: listed and alerted again, still blocking a blind retry, resolved after it', async () => {
      const first = await open()
      const before = await rig(first)
      before.plugin.outcomes = ['timeout-paid']
      await before.owe(1500n)
      const [unsettled] = before.middleware.getUnsettled()
      await before.middleware.removeAccount(before.bob)
      before.middleware.stop()
      await first.store.close()

      const second = await open()
      const after = await rig(second)
      expect(after.middleware.getUnsettled()).to.deep.equal([unsettled])
      expect(after.alerts.alerts).to.have.length(1)
      expect(after.metrics.value('ilp_connector_unsettled_amount', LABELS)).to.equal(1500)
      expect(await after.balance()).to.equal(-1500n)
      await after.plugin.disconnect()
      await after.plugin.connect()
      await after.owe(500n)
      expect(after.plugin.calls).to.deep.equal([])

      await after.middleware.resolveSettlement('bob', 'paid', unsettled!.id)
      expect(await after.balance()).to.equal(-500n)
      await after.middleware.removeAccount(after.bob)
      await second.store.close()

      const third = await open()
      const again = await rig(third)
      expect(again.middleware.getUnsettled()).to.deep.equal([])
      expect(await again.balance()).to.equal(-500n)
      expect(await third.store.get(SETTLEMENT_KEY_PREFIX + 'bob')).to.equal(undefined)
      await third.store.close()
      // The peer got the 1500 once, and it is booked once.
      expect(before.plugin.delivered).to.deep.equal([1500n])
    })

    it('a settlement in flight when the connector stopped (a crash before the plugin answered) is unsettled after the restart', async () => {
      const first = await open()
      const before = await rig(first)
      before.plugin.outcomes = ['hang']
      await before.middleware.outgoingData(packetContext({ account: before.bob, amount: 1500n }), async () => FULFILL)
      // The record goes to the level store (real I/O) before the plugin is called.
      for (let i = 0; i < 100_000 && before.plugin.calls.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
      expect(before.plugin.calls).to.deep.equal([1500n])
      await first.store.close() // the crash: the answer never comes

      const second = await open()
      const after = await rig(second)
      const [unsettled] = after.middleware.getUnsettled()
      expect(unsettled).to.deep.include({ accountId: 'bob', amount: '1500', reason: INTERRUPTED })
      await after.owe(100n)
      expect(after.plugin.calls).to.deep.equal([])
      await second.store.close()
    })
  })

  describe('packets still in flight', () => {
    const books = [
      ['MapBalances', () => new MapBalances()],
      ['StoreBalances on the memory store', () => new StoreBalances(new MemoryStore())],
      ['StoreBalances on a plain key-value store, as level', () => new StoreBalances(new MapStore())]
    ] as const
    for (const [name, balances] of books) {
      it(`are not settled before they are fulfilled: a debt made of packets then rejected is never paid (${name})`, async () => {
        const r = await rig({ balances: balances() })
        const held = await Promise.all([400n, 400n, 400n, 400n, 400n].map(async (amount) => (await r.hold(amount))!))
        expect(await r.balance(), 'the debits count against the minimum at once').to.equal(-2000n)
        expect(await r.owe(700n)).to.equal(true)
        expect(r.plugin.calls, 'owed for sure: 700, above the threshold of -1000').to.deep.equal([])
        for (const packet of held.slice(0, 4)) expect(await packet.answer(false)).to.equal(false)
        expect(r.plugin.calls, 'the rejected packets owe nothing').to.deep.equal([])
        expect(await held[4]!.answer(true)).to.equal(true)
        expect(r.plugin.calls, 'a settlement of 1,100 once the fulfilled debt crossed the threshold').to.deep.equal([1100n])
        expect(await r.balance()).to.equal(0n)
      })
    }

    it('count when they credit the account: a packet from bob in flight lowers what is settled', async () => {
      const r = await rig()
      const reply = deferred<Buffer>()
      const incoming = r.middleware.incomingData(packetContext({ account: r.bob, amount: 300n, destination: 'test.conn.alice' }), async () => await reply.promise)
      expect(await r.owe(1500n)).to.equal(true)
      expect(r.plugin.calls, 'settleTo 0 from -1,500 + 300 in flight from bob').to.deep.equal([1200n])
      reply.resolve(reject({ code: 'T04' }))
      await incoming
      await r.middleware.settled('bob')
      expect(await r.balance()).to.equal(-300n)
    })
  })

  describe('property: over any sequence of packets and plugin outcomes, the peer is never paid more than it is owed', () => {
    type Step =
      | { kind: 'owe', amount: number }
      | { kind: 'hold', amount: number }
      | { kind: 'answer', fulfilled: boolean }
      | { kind: 'outcomes', outcomes: Outcome[] }
      | { kind: 'tick', ms: number }
      | { kind: 'resolve' }
      | { kind: 'reconnect' }

    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('owe' as const), amount: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ kind: fc.constant('hold' as const), amount: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ kind: fc.constant('answer' as const), fulfilled: fc.boolean() }),
      fc.record({ kind: fc.constant('outcomes' as const), outcomes: fc.array(fc.constantFrom<Outcome>('sent', 'refused', 'timeout-paid', 'timeout-lost'), { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 70_000 }) }),
      fc.record({ kind: fc.constant('resolve' as const) }),
      fc.record({ kind: fc.constant('reconnect' as const) })
    )

    it('holds: booked = delivered - owed (up to the unsettled amount the peer did get), one sendMoney at a time, and all settled at the end', async () => {
      await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
        const r = await rig()
        let owed = 0n
        /** Packets in flight, oldest first, and the sum of their debits. */
        const held: Array<{ amount: bigint, answer: (fulfilled: boolean) => Promise<boolean> }> = []
        const inFlight = (): bigint => held.reduce((sum, packet) => sum + packet.amount, 0n)
        /** Whether the unsettled settlement (if any) really reached the peer: its truthful resolution. */
        const truth = (): SettlementOutcome => r.plugin.reached[r.plugin.reached.length - 1] === true ? 'paid' : 'not-paid'
        const check = async (): Promise<void> => {
          const balance = await r.balance()
          const unsettled = r.middleware.getUnsettled()[0]
          const unbooked = unsettled !== undefined && truth() === 'paid' ? BigInt(unsettled.amount) : 0n
          expect(r.plugin.deliveredTotal <= owed, `delivered ${r.plugin.deliveredTotal} > owed ${owed}`).to.equal(true)
          expect(balance + unbooked).to.equal(r.plugin.deliveredTotal - owed - inFlight())
          expect(r.plugin.maxInFlight).to.be.at.most(1)
        }
        for (const s of steps) {
          if (s.kind === 'owe') {
            if (await r.owe(BigInt(s.amount))) owed += BigInt(s.amount)
          } else if (s.kind === 'hold') {
            const packet = await r.hold(BigInt(s.amount))
            if (packet !== undefined) held.push({ amount: BigInt(s.amount), answer: packet.answer })
          } else if (s.kind === 'answer') {
            const packet = held.shift()
            if (packet !== undefined && await packet.answer(s.fulfilled)) owed += packet.amount
          } else if (s.kind === 'outcomes') {
            r.plugin.outcomes.push(...s.outcomes)
          } else if (s.kind === 'tick') {
            await clock.tickAsync(s.ms)
            await r.middleware.settled('bob')
          } else if (s.kind === 'resolve') {
            if (r.middleware.getUnsettled().length > 0) await r.middleware.resolveSettlement('bob', truth())
            await r.middleware.settled('bob')
          } else {
            await r.plugin.disconnect()
            await r.plugin.connect()
            await flush()
            await r.middleware.settled('bob')
          }
          await check()
        }
        // The end: the packets in flight are rejected, the operator resolves truthfully, the plugin works again:
        // everything owed is paid, once.
        while (held.length > 0) await held.shift()!.answer(false)
        r.plugin.outcomes = []
        if (r.middleware.getUnsettled().length > 0) await r.middleware.resolveSettlement('bob', truth())
        await r.middleware.settled('bob')
        await clock.tickAsync(120_000)
        await r.middleware.settled('bob')
        await check()
        const final = await r.balance()
        expect(final >= -1000n, `balance ${final} still below the threshold`).to.equal(true)
        expect(await r.balance()).to.equal(r.plugin.deliveredTotal - owed)
        r.middleware.stop()
      }), { numRuns: 100 })
    })
  })
})
