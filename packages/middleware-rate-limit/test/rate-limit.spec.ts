import { expect } from 'chai'
import sinon from 'sinon'
import { RateLimitedError, type Account, type AccountConfig, type MoneyContext, type NextData, type NextMoney, TYPES_RANGE } from '@conn/types'
import { RecordingLogger, RecordingMetrics, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, rejectionOf } from '@conn/testkit'
import manifest, { RateLimit, rateLimitSettings } from '../src/index.ts'

const FULFILL = fulfill(Buffer.alloc(32, 7))

describe('rate-limit', () => {
  let clock: sinon.SinonFakeTimers
  let metrics: RecordingMetrics
  let limiter: RateLimit
  let next: sinon.SinonStub<Parameters<NextData>, ReturnType<NextData>>
  let nextMoney: sinon.SinonStub<Parameters<NextMoney>, ReturnType<NextMoney>>

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000 })
    metrics = new RecordingMetrics()
    limiter = new RateLimit(fakeApi({ metrics }))
    next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
    nextMoney = sinon.stub<Parameters<NextMoney>, ReturnType<NextMoney>>().resolves()
  })
  afterEach(() => { clock.restore() })

  function account (id: string, rateLimit?: AccountConfig['rateLimit']): Account {
    const acc = fakeAccount({ id, config: rateLimit === undefined ? {} : { rateLimit } })
    limiter.addAccount(acc)
    return acc
  }

  /** Sends `count` packets from the account; returns how many passed before the first T05 (and stops there). */
  async function burst (acc: Account, count: number): Promise<number> {
    for (let i = 0; i < count; i++) {
      try {
        await limiter.incomingData(packetContext({ account: acc }), next)
      } catch (err) {
        expect(err).to.be.instanceOf(RateLimitedError)
        return i
      }
    }
    return count
  }

  describe('manifest', () => {
    it('is a middleware manifest named rateLimit for the installed types range whose create() returns a RateLimit', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'rateLimit', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(RateLimit)
    })
  })

  describe('settings', () => {
    it('defaults to 10000 tokens per 1000 ms with capacity 10000 when the account has no rateLimit', () => {
      expect(rateLimitSettings(fakeAccount({ id: 'a' }))).to.deep.equal({ refillPeriod: 1000, refillCount: 10000, capacity: 10000 })
    })

    it('fills each missing field on its own; capacity follows refillCount; capacity 0 stays 0', () => {
      expect(rateLimitSettings(fakeAccount({ id: 'a', config: { rateLimit: { refillCount: 5 } } }))).to.deep.equal({ refillPeriod: 1000, refillCount: 5, capacity: 5 })
      expect(rateLimitSettings(fakeAccount({ id: 'a', config: { rateLimit: { refillPeriod: 60000 } } }))).to.deep.equal({ refillPeriod: 60000, refillCount: 10000, capacity: 10000 })
      expect(rateLimitSettings(fakeAccount({ id: 'a', config: { rateLimit: { capacity: 0 } } }))).to.deep.equal({ refillPeriod: 1000, refillCount: 10000, capacity: 0 })
    })
  })

  describe('incoming data', () => {
    it('passes exactly `capacity` packets of a burst, then rejects the next with T05 "too many requests, throttling." and empty data without calling next', async () => {
      const alice = account('alice', { capacity: 3, refillCount: 1, refillPeriod: 60000 })
      for (let i = 0; i < 3; i++) expect(await limiter.incomingData(packetContext({ account: alice }), next)).to.equal(FULFILL)
      const err = await rejectionOf<RateLimitedError>(limiter.incomingData(packetContext({ account: alice }), next))
      expect(err).to.be.instanceOf(RateLimitedError)
      expect(err.ilpErrorCode).to.equal('T05')
      expect(err.message).to.equal('too many requests, throttling.')
      expect(err.data.length).to.equal(0)
      expect(next.callCount).to.equal(3)
    })

    it('refills refillCount tokens per refillPeriod: nothing at 59999 ms, one packet at 60000 ms', async () => {
      const alice = account('alice', { capacity: 3, refillCount: 1, refillPeriod: 60000 })
      expect(await burst(alice, 4)).to.equal(3)
      clock.tick(59_999)
      expect(await burst(alice, 1)).to.equal(0)
      clock.tick(1)
      expect(await burst(alice, 2)).to.equal(1)
    })

    it('never holds more than capacity, however long it waits', async () => {
      const alice = account('alice', { capacity: 5, refillCount: 1, refillPeriod: 1000 })
      expect(await burst(alice, 6)).to.equal(5)
      clock.tick(3_600_000)
      expect(await burst(alice, 10)).to.equal(5)
    })

    it('applies the defaults to an account without rateLimit: 10000 at once, then 1000 more after 100 ms (1 s period, not 60 s)', async () => {
      const alice = account('alice')
      expect(await burst(alice, 10_001)).to.equal(10_000)
      clock.tick(100)
      expect(await burst(alice, 1_001)).to.equal(1_000)
    })

    it('rejects the very first packet when capacity is 0', async () => {
      const alice = account('alice', { capacity: 0, refillCount: 1, refillPeriod: 1000 })
      expect(await burst(alice, 1)).to.equal(0)
      expect(next.called).to.equal(false)
      // A bucket of capacity 0 stays empty however long it waits.
      clock.tick(10_000)
      expect(await burst(alice, 1)).to.equal(0)
    })

    it('keeps a bucket per account: bob still passes after alice is throttled', async () => {
      const alice = account('alice', { capacity: 2, refillCount: 1, refillPeriod: 60000 })
      const bob = account('bob', { capacity: 2, refillCount: 1, refillPeriod: 60000 })
      expect(await burst(alice, 3)).to.equal(2)
      expect(await burst(bob, 3)).to.equal(2)
      expect(next.callCount).to.equal(4)
    })

    it('counts a packet rejected further in (next throws): its token is not given back', async () => {
      const alice = account('alice', { capacity: 2, refillCount: 1, refillPeriod: 60000 })
      next.rejects(new Error('downstream failed'))
      const err = await rejectionOf<RateLimitedError>(limiter.incomingData(packetContext({ account: alice }), next))
      expect(err.message).to.equal('downstream failed')
      next.resolves(FULFILL)
      expect(await burst(alice, 2)).to.equal(1)
    })

    it('increments ilp_connector_rate_limited_ilp_packets{account,asset,scale} once per rejected packet', async () => {
      const alice = fakeAccount({ id: 'alice', config: { rateLimit: { capacity: 1, refillCount: 1, refillPeriod: 60000 } }, assetCode: 'EUR', assetScale: 4 })
      limiter.addAccount(alice)
      expect(await burst(alice, 1)).to.equal(1)
      for (let i = 0; i < 3; i++) await rejectionOf<RateLimitedError>(limiter.incomingData(packetContext({ account: alice }), next))
      expect(metrics.options.get('ilp_connector_rate_limited_ilp_packets')?.labelNames).to.deep.equal(['account', 'asset', 'scale'])
      expect(metrics.value('ilp_connector_rate_limited_ilp_packets', { account: 'alice', asset: 'EUR', scale: 4 })).to.equal(3)
      expect(metrics.value('ilp_connector_rate_limited_money', { account: 'alice', asset: 'EUR', scale: 4 })).to.equal(undefined)
    })
  })

  describe('incoming money', () => {
    function money (acc: Account): MoneyContext { return { account: acc, amount: 100n } }

    it('takes one token per money call from the same bucket as packets; then T05 without calling next', async () => {
      const alice = account('alice', { capacity: 3, refillCount: 1, refillPeriod: 60000 })
      expect(await burst(alice, 1)).to.equal(1)
      await limiter.incomingMoney(money(alice), nextMoney)
      await limiter.incomingMoney(money(alice), nextMoney)
      expect(nextMoney.callCount).to.equal(2)
      const err = await rejectionOf<RateLimitedError>(limiter.incomingMoney(money(alice), nextMoney))
      expect(err).to.be.instanceOf(RateLimitedError)
      expect(err.ilpErrorCode).to.equal('T05')
      expect(err.message).to.equal('too many requests, throttling.')
      expect(nextMoney.callCount).to.equal(2)
      // The packet side is empty too.
      expect(await burst(alice, 1)).to.equal(0)
    })

    it('increments ilp_connector_rate_limited_money{account,asset,scale} for each refused money call', async () => {
      const alice = account('alice', { capacity: 0 })
      await rejectionOf<RateLimitedError>(limiter.incomingMoney(money(alice), nextMoney))
      await rejectionOf<RateLimitedError>(limiter.incomingMoney(money(alice), nextMoney))
      expect(metrics.options.get('ilp_connector_rate_limited_money')?.labelNames).to.deep.equal(['account', 'asset', 'scale'])
      expect(metrics.value('ilp_connector_rate_limited_money', { account: 'alice', asset: 'USD', scale: 9 })).to.equal(2)
      expect(metrics.value('ilp_connector_rate_limited_ilp_packets', { account: 'alice', asset: 'USD', scale: 9 })).to.equal(undefined)
    })
  })

  describe('accounts', () => {
    it('drops the bucket on removeAccount; added again, the account starts with a full bucket of its new settings', async () => {
      const alice = account('alice', { capacity: 2, refillCount: 1, refillPeriod: 60000 })
      expect(await burst(alice, 3)).to.equal(2)
      expect(limiter.available('alice')).to.equal(0n)
      limiter.removeAccount(alice)
      expect(limiter.available('alice')).to.equal(undefined)
      const again = account('alice', { capacity: 4, refillCount: 1, refillPeriod: 60000 })
      expect(limiter.available('alice')).to.equal(4n)
      expect(await burst(again, 5)).to.equal(4)
    })

    it('limits an account it was never told about by its own rateLimit (state made on its first packet)', async () => {
      const stranger = fakeAccount({ id: 'stranger', config: { rateLimit: { capacity: 1, refillCount: 1, refillPeriod: 60000 } } })
      expect(await burst(stranger, 2)).to.equal(1)
      expect(limiter.available('stranger')).to.equal(0n)
    })

    it('warns once at addAccount when capacity is 0 (every call from it will be refused)', () => {
      const logger = new RecordingLogger()
      const quiet = new RateLimit(fakeApi({ logger }))
      quiet.addAccount(fakeAccount({ id: 'alice', config: { rateLimit: { capacity: 0 } } }))
      quiet.addAccount(fakeAccount({ id: 'bob' }))
      expect(logger.at('warn')).to.have.length(1)
      expect(logger.at('warn')[0]!.obj).to.deep.equal({ account: 'alice' })
    })
  })
  middlewareConformance(manifest, { handlers: ['incomingData', 'incomingMoney'] })
})
