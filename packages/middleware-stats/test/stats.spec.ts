import { expect } from 'chai'
import sinon from 'sinon'
import { BadRequestError, type MoneyContext, type NextData, type NextMoney, TYPES_RANGE } from '@conn/types'
import { RecordingMetrics, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject } from '@conn/testkit'
import manifest, { Stats } from '../src/index.ts'

const FULFILL = fulfill()
const replying = (reply: Buffer): NextData => async () => reply
const throwing: NextData = async () => { throw new BadRequestError('boom') }

const IN = 'ilp_connector_incoming_ilp_packets'
const OUT = 'ilp_connector_outgoing_ilp_packets'
const alice = fakeAccount({ id: 'alice' })
const bob = fakeAccount({ id: 'bob', assetCode: 'EUR', assetScale: 2 })
const aliceLabels = { account: 'alice', asset: 'USD', scale: 9 }
const bobLabels = { account: 'bob', asset: 'EUR', scale: 2 }

describe('stats', () => {
  let metrics: RecordingMetrics
  let stats: Stats

  beforeEach(() => {
    metrics = new RecordingMetrics()
    stats = new Stats(fakeApi({ metrics }))
    stats.addAccount(alice)
    stats.addAccount(bob)
  })

  describe('manifest', () => {
    it('is a middleware manifest named stats for the installed types range whose create() returns a Stats', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'stats', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(Stats)
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
    expect(metrics.value(IN, { ...bobLabels, result: 'fulfilled', code: '' })).to.equal(0)
    expect(metrics.value(OUT, { ...bobLabels, result: 'failed', code: '' })).to.equal(0)
  })

  describe('incomingData', () => {
    it('counts a Fulfill as result=fulfilled code="" under the account, asset and scale, and returns the reply', async () => {
      expect(await stats.incomingData(packetContext({ account: alice }), replying(FULFILL))).to.equal(FULFILL)
      await stats.incomingData(packetContext({ account: alice }), replying(FULFILL))
      expect(metrics.value(IN, { ...aliceLabels, result: 'fulfilled', code: '' })).to.equal(2)
      expect(metrics.value(OUT, { ...aliceLabels, result: 'fulfilled', code: '' })).to.equal(0)
    })

    it('counts a Reject as result=rejected with its code', async () => {
      await stats.incomingData(packetContext({ account: bob }), replying(reject({ code: 'F02', message: 'no' })))
      expect(metrics.value(IN, { ...bobLabels, result: 'rejected', code: 'F02' })).to.equal(1)
    })

    it('counts a thrown error as result=failed code="" and rethrows it', async () => {
      const err = await stats.incomingData(packetContext({ account: alice }), throwing).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(BadRequestError)
      expect(metrics.value(IN, { ...aliceLabels, result: 'failed', code: '' })).to.equal(1)
    })
  })

  describe('outgoingData', () => {
    it('counts fulfilled, rejected by code and failed under the next hop', async () => {
      await stats.outgoingData(packetContext({ account: bob }), replying(FULFILL))
      await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'T04', message: 'no' })))
      await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'T04', message: 'no' })))
      await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'F99', message: 'no' })))
      await stats.outgoingData(packetContext({ account: bob }), throwing).catch(() => {})
      expect(metrics.value(OUT, { ...bobLabels, result: 'fulfilled', code: '' })).to.equal(1)
      expect(metrics.value(OUT, { ...bobLabels, result: 'rejected', code: 'T04' })).to.equal(2)
      expect(metrics.value(OUT, { ...bobLabels, result: 'rejected', code: 'F99' })).to.equal(1)
      expect(metrics.value(OUT, { ...bobLabels, result: 'failed', code: '' })).to.equal(1)
      expect(metrics.value(IN, { ...bobLabels, result: 'rejected', code: 'T04' })).to.equal(undefined)
    })

    it('labels malformed codes and codes beyond 32 distinct ones per account as code="other"', async () => {
      await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'x!y', message: 'no' })))
      for (let i = 0; i < 40; i++) {
        await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'F' + i.toString(36).toUpperCase().padStart(2, '0'), message: 'no' })))
      }
      const codes = metrics.series(OUT).filter((series) => series.labels.result === 'rejected' && series.labels.account === 'bob')
      expect(codes).to.have.length(32)
      expect(metrics.value(OUT, { ...bobLabels, result: 'rejected', code: 'other' })).to.equal(1 + 9)
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
      expect(metrics.value('ilp_connector_incoming_money', { ...aliceLabels, result: 'succeeded' })).to.equal(30)
      expect(metrics.value('conn_incoming_money_total', { ...aliceLabels, result: 'succeeded' })).to.equal(130)
    })

    it('records a throwing outgoing money handler as result=failed and rethrows', async () => {
      const error = new Error('settlement failed')
      expect(await money('outgoingMoney', 70n, async () => { throw error })).to.equal(error)
      expect(metrics.value('ilp_connector_outgoing_money', { ...aliceLabels, result: 'failed' })).to.equal(70)
      expect(metrics.value('conn_outgoing_money_total', { ...aliceLabels, result: 'failed' })).to.equal(70)
      expect(metrics.value('conn_outgoing_money_total', { ...aliceLabels, result: 'succeeded' })).to.equal(0)
      expect(metrics.value('ilp_connector_outgoing_money', { ...aliceLabels, result: 'succeeded' })).to.equal(undefined)
    })
  })

  describe('getStats', () => {
    it('returns a plain snapshot per account: packets by result and code, money totals as exact decimal strings', async () => {
      await stats.incomingData(packetContext({ account: alice }), replying(FULFILL))
      await stats.incomingData(packetContext({ account: alice }), replying(reject({ code: 'F99', message: 'no' })))
      await stats.outgoingData(packetContext({ account: bob }), replying(reject({ code: 'T04', message: 'no' })))
      await stats.outgoingData(packetContext({ account: bob }), throwing).catch(() => {})
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
      const carl = fakeAccount({ id: 'carl' })
      await stats.outgoingData(packetContext({ account: carl }), replying(FULFILL))
      expect(stats.getStats().carl!.outgoing.fulfilled).to.equal(1)
      expect(metrics.value(OUT, { account: 'carl', asset: 'USD', scale: 9, result: 'fulfilled', code: '' })).to.equal(1)
    })
  })

  it('binds label children once per account, not per packet', async () => {
    const counter = metrics.counter({ name: IN, help: '', labelNames: ['result', 'account', 'asset', 'scale', 'code'] })
    const spy = sinon.spy(counter, 'labels')
    const fresh = new Stats(fakeApi({ metrics: { counter: () => counter, gauge: (o) => metrics.gauge(o) } }))
    fresh.addAccount(alice)
    const bound = spy.callCount
    for (let i = 0; i < 5; i++) {
      await fresh.incomingData(packetContext({ account: alice }), replying(FULFILL))
      await fresh.incomingData(packetContext({ account: alice }), replying(reject({ code: 'T04', message: 'no' })))
    }
    expect(spy.callCount - bound).to.equal(1) // the T04 child, bound on first use
  })
  middlewareConformance(manifest, { handlers: ['incomingData', 'outgoingData', 'incomingMoney', 'outgoingMoney'] })
})
