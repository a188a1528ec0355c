import { expect } from 'chai'
import sinon from 'sinon'
import { InsufficientLiquidityError, type Account, type AccountConfig, type NextData, TYPES_RANGE } from '@conn/types'
import { fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject } from '@conn/testkit'
import manifest, { Throughput, throughputSettings } from '../src/index.ts'

const FULFILL = fulfill(Buffer.alloc(32, 7))
const MAX_UINT64 = 2n ** 64n - 1n

describe('throughput', () => {
  let clock: sinon.SinonFakeTimers
  let middleware: Throughput
  let next: sinon.SinonStub<Parameters<NextData>, ReturnType<NextData>>

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_700_000_000_000 })
    middleware = new Throughput(fakeApi())
    next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
  })
  afterEach(() => { clock.restore() })

  function account (id: string, throughput?: AccountConfig['throughput']): Account {
    const acc = fakeAccount({ id, config: throughput === undefined ? {} : { throughput } })
    middleware.addAccount(acc)
    return acc
  }

  /** 'ok' if the packet went on, else the T04 message. */
  async function send (direction: 'incoming' | 'outgoing', acc: Account, amount: bigint): Promise<string> {
    const handler = direction === 'incoming' ? middleware.incomingData : middleware.outgoingData
    try {
      expect(await handler(packetContext({ account: acc, amount }), next)).to.equal(FULFILL)
      return 'ok'
    } catch (err) {
      expect(err).to.be.instanceOf(InsufficientLiquidityError)
      expect((err as InsufficientLiquidityError).ilpErrorCode).to.equal('T04')
      return (err as Error).message
    }
  }
  const T04 = 'exceeded money bandwidth, throttling.'

  it('is a middleware manifest named throughput for the installed types range whose create() returns a Throughput', async () => {
    expect(manifest).to.include({ kind: 'middleware', name: 'throughput', types: TYPES_RANGE })
    expect(await manifest.create({}, fakeApi())).to.be.instanceOf(Throughput)
  })

  it('defaults refillPeriod to 1000 ms and leaves a direction without an amount unlimited', () => {
    expect(throughputSettings(fakeAccount({ id: 'a' }))).to.deep.equal({ refillPeriod: 1000, incomingAmount: undefined, outgoingAmount: undefined })
    expect(throughputSettings(fakeAccount({ id: 'a', config: { throughput: { incomingAmount: '500' } } })))
      .to.deep.equal({ refillPeriod: 1000, incomingAmount: 500n, outgoingAmount: undefined })
    expect(throughputSettings(fakeAccount({ id: 'a', config: { throughput: { refillPeriod: 200, outgoingAmount: '7' } } })))
      .to.deep.equal({ refillPeriod: 200, incomingAmount: undefined, outgoingAmount: 7n })
  })

  describe('incoming', () => {
    it('passes packets summing to exactly incomingAmount, then rejects one more unit with T04 "exceeded money bandwidth, throttling." without calling next', async () => {
      const alice = account('alice', { incomingAmount: '1000' })
      expect(await send('incoming', alice, 600n)).to.equal('ok')
      expect(await send('incoming', alice, 400n)).to.equal('ok')
      expect(await send('incoming', alice, 1n)).to.equal(T04)
      expect(next.callCount).to.equal(2)
    })

    it('rejects a single packet above incomingAmount even with a full bucket, and takes nothing for it', async () => {
      const alice = account('alice', { incomingAmount: '1000' })
      expect(await send('incoming', alice, 1001n)).to.equal(T04)
      expect(middleware.available('alice', 'incoming')).to.equal(1000n)
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
    })

    it('refills incomingAmount per refillPeriod: 500 units after half a period, never more than incomingAmount', async () => {
      const alice = account('alice', { incomingAmount: '1000', refillPeriod: 1000 })
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
      clock.tick(500)
      expect(await send('incoming', alice, 501n)).to.equal(T04)
      expect(await send('incoming', alice, 500n)).to.equal('ok')
      clock.tick(3_600_000)
      expect(await send('incoming', alice, 1001n)).to.equal(T04)
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
    })

    it('uses the configured refillPeriod (200 ms: empty, full again 200 ms later)', async () => {
      const alice = account('alice', { incomingAmount: '1000', refillPeriod: 200 })
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
      clock.tick(199)
      expect(await send('incoming', alice, 1000n)).to.equal(T04)
      clock.tick(1)
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
    })

    it('always passes a 0-amount packet, even with an empty bucket', async () => {
      const alice = account('alice', { incomingAmount: '1000' })
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
      expect(await send('incoming', alice, 0n)).to.equal('ok')
      expect(next.callCount).to.equal(2)
    })

    it('does not give tokens back when the packet is rejected further on (the reference does not either)', async () => {
      const alice = account('alice', { incomingAmount: '1000' })
      next.resolves(reject({ code: 'F99', triggeredBy: 'test.bob', message: 'no' }))
      await middleware.incomingData(packetContext({ account: alice, amount: 700n }), next)
      next.rejects(new Error('downstream failed'))
      await middleware.incomingData(packetContext({ account: alice, amount: 300n }), next).catch(() => {})
      expect(middleware.available('alice', 'incoming')).to.equal(0n)
    })

    it('counts amounts exactly up to 2^64-1 (BigInt tokens)', async () => {
      const alice = account('alice', { incomingAmount: String(MAX_UINT64) })
      expect(await send('incoming', alice, MAX_UINT64 - 1n)).to.equal('ok')
      expect(await send('incoming', alice, 2n)).to.equal(T04)
      expect(await send('incoming', alice, 1n)).to.equal('ok')
      expect(middleware.available('alice', 'incoming')).to.equal(0n)
    })

    it('does not limit an account without throughput, nor the incoming side of one with only outgoingAmount', async () => {
      const alice = account('alice')
      const bob = account('bob', { outgoingAmount: '10' })
      expect(await send('incoming', alice, MAX_UINT64)).to.equal('ok')
      expect(await send('incoming', bob, MAX_UINT64)).to.equal('ok')
      expect(middleware.available('alice', 'incoming')).to.equal(undefined)
    })
  })

  describe('outgoing', () => {
    it('limits Prepares to the next hop by its outgoingAmount with T04, and leaves its incoming side alone', async () => {
      const bob = account('bob', { outgoingAmount: '1000' })
      expect(await send('outgoing', bob, 1000n)).to.equal('ok')
      expect(await send('outgoing', bob, 1n)).to.equal(T04)
      expect(await send('outgoing', bob, 0n)).to.equal('ok')
      expect(await send('incoming', bob, 5000n)).to.equal('ok')
      expect(next.callCount).to.equal(3)
    })

    it('keeps the two directions in separate buckets', async () => {
      const alice = account('alice', { incomingAmount: '1000', outgoingAmount: '1000' })
      expect(await send('incoming', alice, 1000n)).to.equal('ok')
      expect(await send('incoming', alice, 1n)).to.equal(T04)
      expect(middleware.available('alice', 'outgoing')).to.equal(1000n)
      expect(await send('outgoing', alice, 1000n)).to.equal('ok')
    })
  })

  describe('accounts', () => {
    it('keeps buckets per account: bob still passes after alice is throttled', async () => {
      const alice = account('alice', { incomingAmount: '100' })
      const bob = account('bob', { incomingAmount: '100' })
      expect(await send('incoming', alice, 100n)).to.equal('ok')
      expect(await send('incoming', alice, 1n)).to.equal(T04)
      expect(await send('incoming', bob, 100n)).to.equal('ok')
    })

    it('drops the buckets on removeAccount; added again, the account starts full with its new amounts', async () => {
      const alice = account('alice', { incomingAmount: '100' })
      expect(await send('incoming', alice, 100n)).to.equal('ok')
      middleware.removeAccount(alice)
      expect(middleware.available('alice', 'incoming')).to.equal(undefined)
      const again = account('alice', { incomingAmount: '300' })
      expect(middleware.available('alice', 'incoming')).to.equal(300n)
      expect(await send('incoming', again, 300n)).to.equal('ok')
    })

    it('reads the configuration of an account it was never told about on its first packet', async () => {
      const stranger = fakeAccount({ id: 'stranger', config: { throughput: { outgoingAmount: '10' } } })
      expect(await send('outgoing', stranger, 11n)).to.equal(T04)
      expect(middleware.available('stranger', 'outgoing')).to.equal(10n)
    })
  })
  middlewareConformance(manifest, { handlers: ['incomingData', 'outgoingData'] })
})
