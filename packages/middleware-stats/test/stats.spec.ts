import { expect } from 'chai'
import sinon from 'sinon'
import {
  BadRequestError, serializeFulfill, serializeReject,
  type Account, type Counter, type CounterChild, type Gauge, type GaugeChild, type LabelValues, type MetricOptions,
  type Metrics, type MiddlewareApi, type MoneyContext, type NextData, type NextMoney, type PacketContext
} from '@conn/types'
import manifest, { Stats } from '../src/index.ts'

/** A tiny Metrics: every series is a number keyed by the metric name and its sorted labels. */
class FakeMetrics implements Metrics {
  readonly values = new Map<string, number>()
  readonly options = new Map<string, MetricOptions & { type: 'counter' | 'gauge' }>()

  private key (name: string, labels: LabelValues): string {
    return name + JSON.stringify(Object.keys(labels).sort().map((k) => [k, String(labels[k])]))
  }

  private check (name: string, labels: LabelValues): void {
    const names = this.options.get(name)!.labelNames
    for (const label of Object.keys(labels)) {
      if (!names.includes(label)) throw new Error(`label ${label} not declared on ${name}`)
    }
  }

  /** The value of one series, or undefined if it was never touched. */
  get (name: string, labels: LabelValues): number | undefined {
    return this.values.get(this.key(name, labels))
  }

  counter (options: MetricOptions): Counter {
    this.options.set(options.name, { ...options, type: 'counter' })
    const inc = (labels: LabelValues, value = 1): void => {
      this.check(options.name, labels)
      if (value < 0) throw new Error('counters only go up')
      const key = this.key(options.name, labels)
      this.values.set(key, (this.values.get(key) ?? 0) + value)
    }
    return { inc, labels: (labels): CounterChild => ({ inc: (value?: number) => inc(labels, value) }) }
  }

  gauge (options: MetricOptions): Gauge {
    this.options.set(options.name, { ...options, type: 'gauge' })
    const set = (labels: LabelValues, value: number): void => {
      this.check(options.name, labels)
      this.values.set(this.key(options.name, labels), value)
    }
    const add = (labels: LabelValues, value: number): void => {
      const key = this.key(options.name, labels)
      this.values.set(key, (this.values.get(key) ?? 0) + value)
    }
    return {
      set,
      labels: (labels): GaugeChild => ({
        set: (value: number) => set(labels, value),
        inc: (value = 1) => add(labels, value),
        dec: (value = 1) => add(labels, -value)
      })
    }
  }
}

function makeApi (metrics: Metrics): MiddlewareApi {
  const logger = { trace () {}, debug () {}, info () {}, warn () {}, error () {}, fatal () {}, isLevelEnabled: () => false, child: () => logger }
  return {
    logger,
    store: { get: async () => undefined, put: async () => {}, del: async () => {} },
    getOwnAddress: () => 'test.conn',
    getAccount: () => undefined,
    getAccounts: () => [],
    sendMoney: async () => {},
    balances: { get: async () => 0n, adjust: async () => 0n },
    metrics
  }
}

function makeAccount (id: string, assetCode = 'USD', assetScale = 9): Account {
  return {
    id,
    relation: 'child',
    assetCode,
    assetScale,
    config: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode, assetScale },
    plugin: {} as any
  }
}

function makeCtx (account: Account): PacketContext {
  return {
    account,
    prepare: { amount: 10n, expiresAt: Date.now() + 10_000, executionCondition: Buffer.alloc(32), destination: 'test.bob', data: Buffer.alloc(0) },
    incoming: undefined
  }
}

const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(0) })
function reject (code: string): Buffer {
  return serializeReject({ code, triggeredBy: 'test.bob', message: 'no', data: Buffer.alloc(0) })
}
const replying = (reply: Buffer): NextData => async () => reply
const throwing: NextData = async () => { throw new BadRequestError('boom') }

const IN = 'ilp_connector_incoming_ilp_packets'
const OUT = 'ilp_connector_outgoing_ilp_packets'
const alice = makeAccount('alice')
const bob = makeAccount('bob', 'EUR', 2)
const aliceLabels = { account: 'alice', asset: 'USD', scale: 9 }
const bobLabels = { account: 'bob', asset: 'EUR', scale: 2 }

describe('stats', () => {
  let metrics: FakeMetrics
  let stats: Stats

  beforeEach(() => {
    metrics = new FakeMetrics()
    stats = new Stats(makeApi(metrics))
    stats.addAccount(alice)
    stats.addAccount(bob)
  })

  describe('manifest', () => {
    it('is a middleware manifest named stats for types ^0.1.0 whose create() returns a Stats with all four handlers', async () => {
      expect(manifest.kind).to.equal('middleware')
      expect(manifest.name).to.equal('stats')
      expect(manifest.types).to.equal('^0.1.0')
      const middleware = await manifest.create({}, makeApi(new FakeMetrics()))
      expect(middleware).to.be.instanceOf(Stats)
      expect(middleware.name).to.equal('stats')
      for (const handler of ['incomingData', 'outgoingData', 'incomingMoney', 'outgoingMoney'] as const) {
        expect(middleware[handler], handler).to.be.a('function')
      }
    })
  })

  it('declares the reference metrics with their label names (plus the two money totals)', () => {
    const declared = Object.fromEntries([...metrics.options].map(([name, o]) => [name, [o.type, [...o.labelNames].sort()]]))
    expect(declared).to.deep.equal({
      ilp_connector_incoming_ilp_packets: ['counter', ['account', 'asset', 'code', 'result', 'scale']],
      ilp_connector_outgoing_ilp_packets: ['counter', ['account', 'asset', 'code', 'result', 'scale']],
      ilp_connector_incoming_money: ['gauge', ['account', 'asset', 'result', 'scale']],
      ilp_connector_outgoing_money: ['gauge', ['account', 'asset', 'result', 'scale']],
      conn_incoming_money_total: ['counter', ['account', 'asset', 'result', 'scale']],
      conn_outgoing_money_total: ['counter', ['account', 'asset', 'result', 'scale']]
    })
  })

  it('starts each account\'s fulfilled and failed packet series at 0', () => {
    expect(metrics.get(IN, { ...bobLabels, result: 'fulfilled', code: '' })).to.equal(0)
    expect(metrics.get(OUT, { ...bobLabels, result: 'failed', code: '' })).to.equal(0)
  })

  describe('incomingData', () => {
    it('counts a Fulfill as result=fulfilled code="" under the account, asset and scale, and returns the reply', async () => {
      expect(await stats.incomingData(makeCtx(alice), replying(fulfill))).to.equal(fulfill)
      await stats.incomingData(makeCtx(alice), replying(fulfill))
      expect(metrics.get(IN, { ...aliceLabels, result: 'fulfilled', code: '' })).to.equal(2)
      expect(metrics.get(OUT, { ...aliceLabels, result: 'fulfilled', code: '' })).to.equal(0)
    })

    it('counts a Reject as result=rejected with its code', async () => {
      await stats.incomingData(makeCtx(bob), replying(reject('F02')))
      expect(metrics.get(IN, { ...bobLabels, result: 'rejected', code: 'F02' })).to.equal(1)
    })

    it('counts a thrown error as result=failed code="" and rethrows it', async () => {
      const err = await stats.incomingData(makeCtx(alice), throwing).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(BadRequestError)
      expect(metrics.get(IN, { ...aliceLabels, result: 'failed', code: '' })).to.equal(1)
    })
  })

  describe('outgoingData', () => {
    it('counts fulfilled, rejected by code and failed under the next hop', async () => {
      await stats.outgoingData(makeCtx(bob), replying(fulfill))
      await stats.outgoingData(makeCtx(bob), replying(reject('T04')))
      await stats.outgoingData(makeCtx(bob), replying(reject('T04')))
      await stats.outgoingData(makeCtx(bob), replying(reject('F99')))
      await stats.outgoingData(makeCtx(bob), throwing).catch(() => {})
      expect(metrics.get(OUT, { ...bobLabels, result: 'fulfilled', code: '' })).to.equal(1)
      expect(metrics.get(OUT, { ...bobLabels, result: 'rejected', code: 'T04' })).to.equal(2)
      expect(metrics.get(OUT, { ...bobLabels, result: 'rejected', code: 'F99' })).to.equal(1)
      expect(metrics.get(OUT, { ...bobLabels, result: 'failed', code: '' })).to.equal(1)
      expect(metrics.get(IN, { ...bobLabels, result: 'rejected', code: 'T04' })).to.equal(undefined)
    })

    it('labels malformed codes and codes beyond 32 distinct ones per account as code="other"', async () => {
      await stats.outgoingData(makeCtx(bob), replying(reject('x!y')))
      for (let i = 0; i < 40; i++) {
        await stats.outgoingData(makeCtx(bob), replying(reject('F' + i.toString(36).toUpperCase().padStart(2, '0'))))
      }
      const codes = [...metrics.values.keys()].filter((k) => k.startsWith(OUT) && k.includes('"rejected"') && k.includes('"bob"'))
      expect(codes).to.have.length(32)
      expect(metrics.get(OUT, { ...bobLabels, result: 'rejected', code: 'other' })).to.equal(1 + 9)
      expect(stats.getStats().bob!.outgoing.rejected).to.equal(41)
    })
  })

  describe('money', () => {
    async function money (handler: 'incomingMoney' | 'outgoingMoney', amount: bigint, next: NextMoney = async () => {}): Promise<unknown> {
      const ctx: MoneyContext = { account: alice, amount }
      return await stats[handler](ctx, next).catch((e: unknown) => e)
    }

    it('sets ilp_connector_incoming_money{result=succeeded} to the LAST amount (reference) and adds it to conn_incoming_money_total', async () => {
      await money('incomingMoney', 100n)
      await money('incomingMoney', 30n)
      expect(metrics.get('ilp_connector_incoming_money', { ...aliceLabels, result: 'succeeded' })).to.equal(30)
      expect(metrics.get('conn_incoming_money_total', { ...aliceLabels, result: 'succeeded' })).to.equal(130)
    })

    it('records a throwing outgoing money handler as result=failed and rethrows', async () => {
      const error = new Error('settlement failed')
      expect(await money('outgoingMoney', 70n, async () => { throw error })).to.equal(error)
      expect(metrics.get('ilp_connector_outgoing_money', { ...aliceLabels, result: 'failed' })).to.equal(70)
      expect(metrics.get('conn_outgoing_money_total', { ...aliceLabels, result: 'failed' })).to.equal(70)
      expect(metrics.get('conn_outgoing_money_total', { ...aliceLabels, result: 'succeeded' })).to.equal(0)
      expect(metrics.get('ilp_connector_outgoing_money', { ...aliceLabels, result: 'succeeded' })).to.equal(undefined)
    })
  })

  describe('getStats', () => {
    it('returns a plain snapshot per account: packets by result and code, money totals as exact decimal strings', async () => {
      await stats.incomingData(makeCtx(alice), replying(fulfill))
      await stats.incomingData(makeCtx(alice), replying(reject('F99')))
      await stats.outgoingData(makeCtx(bob), replying(reject('T04')))
      await stats.outgoingData(makeCtx(bob), throwing).catch(() => {})
      await stats.incomingMoney({ account: alice, amount: 18446744073709551615n }, async () => {})
      await stats.incomingMoney({ account: alice, amount: 1n }, async () => {})
      const snapshot = stats.getStats()
      expect(snapshot).to.deep.equal({
        alice: {
          incoming: { fulfilled: 1, rejected: 1, failed: 0, rejectedByCode: { F99: 1 } },
          outgoing: { fulfilled: 0, rejected: 0, failed: 0, rejectedByCode: {} },
          incomingMoney: { succeeded: '18446744073709551616', failed: '0' },
          outgoingMoney: { succeeded: '0', failed: '0' }
        },
        bob: {
          incoming: { fulfilled: 0, rejected: 0, failed: 0, rejectedByCode: {} },
          outgoing: { fulfilled: 0, rejected: 1, failed: 1, rejectedByCode: { T04: 1 } },
          incomingMoney: { succeeded: '0', failed: '0' },
          outgoingMoney: { succeeded: '0', failed: '0' }
        }
      })
      snapshot.alice!.incoming.fulfilled = 99
      expect(stats.getStats().alice!.incoming.fulfilled).to.equal(1)
    })

    it('drops a removed account from the snapshot; a packet for an account it was not given adds it', async () => {
      stats.removeAccount(bob)
      expect(Object.keys(stats.getStats())).to.deep.equal(['alice'])
      const carl = makeAccount('carl')
      await stats.outgoingData(makeCtx(carl), replying(fulfill))
      expect(stats.getStats().carl!.outgoing.fulfilled).to.equal(1)
      expect(metrics.get(OUT, { account: 'carl', asset: 'USD', scale: 9, result: 'fulfilled', code: '' })).to.equal(1)
    })
  })

  it('binds label children once per account, not per packet', async () => {
    const counter = metrics.counter({ name: IN, help: '', labelNames: ['result', 'account', 'asset', 'scale', 'code'] })
    const spy = sinon.spy(counter, 'labels')
    const fresh = new Stats(makeApi({ counter: () => counter, gauge: (o) => metrics.gauge(o) }))
    fresh.addAccount(alice)
    const bound = spy.callCount
    for (let i = 0; i < 5; i++) {
      await fresh.incomingData(makeCtx(alice), replying(fulfill))
      await fresh.incomingData(makeCtx(alice), replying(reject('T04')))
    }
    expect(spy.callCount - bound).to.equal(1) // the T04 child, bound on first use
  })
})
