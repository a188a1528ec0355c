import { expect } from 'chai'
import sinon from 'sinon'
import {
  TransferTimedOutError, serializeFulfill, serializeReject,
  type Account, type MiddlewareApi, type PacketContext
} from '@conn/types'
import manifest, { Expire } from '../src/index.ts'

const NOW = 1_700_000_000_000

const account: Account = {
  id: 'bob',
  relation: 'child',
  assetCode: 'USD',
  assetScale: 9,
  config: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 },
  plugin: {} as any
}

function makeCtx (expiresAt: number): PacketContext {
  return {
    account,
    prepare: {
      amount: 100n,
      expiresAt,
      executionCondition: Buffer.alloc(32, 1),
      destination: 'test.bob',
      data: Buffer.alloc(0)
    },
    incoming: undefined
  }
}

/** A promise with its resolve and reject, to answer `next` at a chosen time. */
function deferred<T> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Settles `promise` into a value we can inspect without an unhandled rejection. */
function settle<T> (promise: Promise<T>): { state: () => 'pending' | 'fulfilled' | 'rejected', value: () => T | undefined, error: () => unknown } {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending'
  let value: T | undefined
  let error: unknown
  promise.then((v) => { state = 'fulfilled'; value = v }, (e: unknown) => { state = 'rejected'; error = e })
  return { state: () => state, value: () => value, error: () => error }
}

const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32, 2), data: Buffer.alloc(0) })

describe('expire', () => {
  let clock: sinon.SinonFakeTimers

  beforeEach(() => { clock = sinon.useFakeTimers({ now: NOW }) })
  afterEach(() => { clock.restore() })

  describe('manifest', () => {
    it('is a middleware manifest named expire for types ^0.1.0 whose create() returns an expire middleware', async () => {
      expect(manifest.kind).to.equal('middleware')
      expect(manifest.name).to.equal('expire')
      expect(manifest.types).to.equal('^0.1.0')
      const middleware = await manifest.create({}, {} as MiddlewareApi)
      expect(middleware).to.be.instanceOf(Expire)
      expect(middleware.name).to.equal('expire')
      expect(middleware.outgoingData).to.be.a('function')
      expect(middleware.incomingData).to.equal(undefined)
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
    reply.resolve(fulfill)
    await clock.tickAsync(0)
    expect(result.state()).to.equal('fulfilled')
    expect(result.value()).to.equal(fulfill)
    expect(clock.countTimers()).to.equal(0)
  })

  it('passes a Reject packet from the next hop through unchanged', async () => {
    const reject = serializeReject({ code: 'T04', triggeredBy: 'test.remote', message: 'full', data: Buffer.alloc(0) })
    const reply = await new Expire().outgoingData(makeCtx(NOW + 5000), async () => reject)
    expect(reply).to.equal(reject)
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
    reply.resolve(fulfill)
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

  it('propagates an error that next throws synchronously, leaving no timer behind', async () => {
    const failure = new Error('not a promise')
    const next = (): Promise<Buffer> => { throw failure }
    let caught: unknown
    try {
      await new Expire().outgoingData(makeCtx(NOW + 5000), next)
    } catch (e) {
      caught = e
    }
    expect(caught).to.equal(failure)
    expect(clock.countTimers()).to.equal(0)
  })

  it('rejects an already-expired packet with R00 at once, without calling next', async () => {
    for (const expiresAt of [NOW - 1, NOW]) {
      const next = sinon.stub().resolves(fulfill)
      let caught: unknown
      try {
        await new Expire().outgoingData(makeCtx(expiresAt), next)
      } catch (e) {
        caught = e
      }
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
    reply.resolve(fulfill)
    await clock.tickAsync(0)
    expect(result.value()).to.equal(fulfill)
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
    longReply.resolve(fulfill)
    await clock.tickAsync(0)
    expect(long.value()).to.equal(fulfill)
  })
})
