import { expect } from 'chai'
import sinon from 'sinon'
import { TransferTimedOutError, type PacketContext, TYPES_RANGE } from '@conn/types'
import { deferred, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject, rejectionOf } from '@conn/testkit'
import manifest, { Expire } from '../src/index.ts'

const NOW = 1_700_000_000_000

const account = fakeAccount({ id: 'bob' })

function makeCtx (expiresAt: number): PacketContext {
  return packetContext({ account, expiresAt })
}

/** Settles `promise` into a value we can inspect without an unhandled rejection. */
function settle<T> (promise: Promise<T>): { state: () => 'pending' | 'fulfilled' | 'rejected', value: () => T | undefined, error: () => unknown } {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending'
  let value: T | undefined
  let error: unknown
  promise.then((v) => { state = 'fulfilled'; value = v }, (e: unknown) => { state = 'rejected'; error = e })
  return { state: () => state, value: () => value, error: () => error }
}

const FULFILL = fulfill(Buffer.alloc(32, 2))

describe('expire', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => { clock = sinon.useFakeTimers({ now: NOW }) })
  afterEach(() => { clock.restore() })

  describe('manifest', () => {
    it('is a middleware manifest named expire for the installed types range whose create() returns an Expire', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'expire', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(Expire)
    })
  })

  it('passes a reply that arrives before expiry through unchanged and clears its timer', async () => {
    const reply = deferred<Buffer>()
    const next = sinon.stub().returns(reply.promise)
    const ctx = makeCtx(NOW + 5000)
    const result = settle(new Expire().outgoingData(ctx, next))
    expect(next.calledOnceWithExactly(ctx)).to.equal(true)
    expect(clock.countTimers()).to.equal(1)

    await clock.tickAsync(4999)
    reply.resolve(FULFILL)
    await clock.tickAsync(0)
    expect(result.state()).to.equal('fulfilled')
    expect(result.value()).to.equal(FULFILL)
    expect(clock.countTimers()).to.equal(0)
  })

  it('passes a Reject packet from the next hop through unchanged', async () => {
    const rejected = reject({ code: 'T04', triggeredBy: 'test.remote', message: 'full' })
    const reply = await new Expire().outgoingData(makeCtx(NOW + 5000), async () => rejected)
    expect(reply).to.equal(rejected)
  })

  it('rejects with TransferTimedOutError R00 "packet expired." when no reply comes by expiresAt', async () => {
    const reply = deferred<Buffer>()
    const result = settle(new Expire().outgoingData(makeCtx(NOW + 5000), async () => await reply.promise))

    await clock.tickAsync(4999)
    expect(result.state()).to.equal('pending')
    await clock.tickAsync(1)
    expect(result.state()).to.equal('rejected')
    const err = result.error()
    expect(err).to.be.instanceOf(TransferTimedOutError)
    expect(err).to.include({ ilpErrorCode: 'R00', message: 'packet expired.' })
  })

  it('ignores a reply that arrives after the timeout: the result stays R00', async () => {
    const reply = deferred<Buffer>()
    const result = settle(new Expire().outgoingData(makeCtx(NOW + 1000), async () => await reply.promise))
    await clock.tickAsync(1000)
    reply.resolve(FULFILL)
    await clock.tickAsync(10)
    expect(result.state()).to.equal('rejected')
    expect(result.error()).to.include({ ilpErrorCode: 'R00' })
    expect(result.value()).to.equal(undefined)
  })

  it('ignores an error that arrives after the timeout: the result stays R00', async () => {
    const reply = deferred<Buffer>()
    const result = settle(new Expire().outgoingData(makeCtx(NOW + 1000), async () => await reply.promise))
    await clock.tickAsync(1000)
    reply.reject(new Error('failed to send packet: closed'))
    await clock.tickAsync(10)
    expect(result.error()).to.include({ ilpErrorCode: 'R00', message: 'packet expired.' })
  })

  it('propagates an error from next unchanged and clears the timer (no pending timers left)', async () => {
    const failure = new Error('failed to send packet: socket closed')
    const reply = deferred<Buffer>()
    const result = settle(new Expire().outgoingData(makeCtx(NOW + 5000), async () => await reply.promise))
    expect(clock.countTimers()).to.equal(1)
    await clock.tickAsync(100)
    reply.reject(failure)
    await clock.tickAsync(0)
    expect(result.state()).to.equal('rejected')
    expect(result.error()).to.equal(failure)
    expect(clock.countTimers()).to.equal(0)
  })

  it('propagates an error that next throws synchronously (the pipeline makes it a rejection), leaving no timer behind', () => {
    const failure = new Error('not a promise')
    const next = (): Promise<Buffer> => { throw failure }
    expect(() => new Expire().outgoingData(makeCtx(NOW + 5000), next)).to.throw(failure)
    expect(clock.countTimers()).to.equal(0)
  })

  it('rejects an already-expired packet with R00 at once, without calling next', async () => {
    for (const expiresAt of [NOW - 1, NOW]) {
      const next = sinon.stub().resolves(FULFILL)
      const caught = await rejectionOf(new Expire().outgoingData(makeCtx(expiresAt), next))
      expect(caught).to.be.instanceOf(TransferTimedOutError)
      expect(caught).to.include({ ilpErrorCode: 'R00', message: 'packet expired.' })
      expect(next.callCount).to.equal(0)
      expect(clock.countTimers()).to.equal(0)
    }
  })

  it('keeps waiting for a packet that expires beyond the longest timer Node allows (2^31-1 ms)', async () => {
    const reply = deferred<Buffer>()
    const result = settle(new Expire().outgoingData(makeCtx(NOW + 2 ** 32), async () => await reply.promise))
    await clock.tickAsync(60_000)
    expect(result.state()).to.equal('pending')
    reply.resolve(FULFILL)
    await clock.tickAsync(0)
    expect(result.value()).to.equal(FULFILL)
    expect(clock.countTimers()).to.equal(0)
  })

  it('times each packet against its own expiry', async () => {
    const expire = new Expire()
    const short = settle(expire.outgoingData(makeCtx(NOW + 1000), async () => await new Promise<Buffer>(() => {})))
    const longReply = deferred<Buffer>()
    const long = settle(expire.outgoingData(makeCtx(NOW + 3000), async () => await longReply.promise))
    await clock.tickAsync(1000)
    expect(short.state()).to.equal('rejected')
    expect(long.state()).to.equal('pending')
    longReply.resolve(FULFILL)
    await clock.tickAsync(0)
    expect(long.value()).to.equal(FULFILL)
  })
  middlewareConformance(manifest, { handlers: ['outgoingData'] })
})
