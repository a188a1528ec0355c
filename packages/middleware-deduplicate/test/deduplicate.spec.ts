import { expect } from 'chai'
import sinon from 'sinon'
import { lengthPrefix } from '@conn/codec'
import { TransferTimedOutError, type NextData, TYPES_RANGE } from '@conn/types'
import { deferred, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject } from '@conn/testkit'
import manifest, { Deduplicate } from '../src/index.ts'
import { MAX_SETTLED, keyOf } from '../src/deduplicate.ts'
import { SLOT_BYTES } from '../src/settled-ring.ts'

const NOW = 1_700_000_000_000
/** The real setImmediate, to let Node report unhandled rejections while sinon fakes the timers. */
const realSetImmediate = globalThis.setImmediate

/** OER var-octet-string. */
function varOctets (bytes: Buffer): Buffer {
  return Buffer.concat([lengthPrefix(bytes.length), bytes])
}

/** A serialized Prepare as the reference encodes it (amount and expiry are arbitrary bytes here). */
function rawPrepare (fields: { amount: bigint, destination: string, data: Buffer, executionCondition: Buffer }): Buffer {
  const amount = Buffer.alloc(8)
  amount.writeBigUInt64BE(fields.amount)
  const contents = Buffer.concat([
    amount, Buffer.from('20231114221320000', 'ascii'), fields.executionCondition,
    varOctets(Buffer.from(fields.destination, 'ascii')), varOctets(fields.data)
  ])
  return Buffer.concat([Buffer.of(12), varOctets(contents)])
}

const FULFILL = fulfill(Buffer.alloc(32, 2), Buffer.from('ok'))

describe('deduplicate', () => {
  let clock: sinon.SinonFakeTimers
  let dedup: Deduplicate
  const bob = fakeAccount({ id: 'bob' })

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: NOW })
    dedup = new Deduplicate(fakeApi())
    dedup.addAccount(bob)
  })
  afterEach(() => {
    dedup.stop()
    clock.restore()
  })

  describe('manifest', () => {
    it('is a middleware manifest named deduplicate for the installed types range whose create() returns a Deduplicate', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'deduplicate', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(Deduplicate)
    })
  })

  describe('key', () => {
    it('is the condition followed by a 32-bit hash of destination and data', () => {
      const fields = { amount: 5n, destination: 'test.bob.x', data: Buffer.alloc(200, 7), executionCondition: Buffer.alloc(32, 9) }
      const key = keyOf(packetContext({ account: bob, ...fields }))
      expect(key).to.have.length(34)
      expect(Buffer.from(key.slice(0, 32), 'latin1').equals(fields.executionCondition)).to.equal(true)
      // any change of destination or data changes the key
      expect(keyOf(packetContext({ account: bob, ...fields, destination: 'test.bob.y' }))).to.not.equal(key)
      expect(keyOf(packetContext({ account: bob, ...fields, data: Buffer.alloc(200, 8) }))).to.not.equal(key)
      expect(keyOf(packetContext({ account: bob, ...fields, executionCondition: Buffer.alloc(32, 1) }))).to.not.equal(key)
    })

    it('is the same whether computed from raw or from the fields (short and long OER lengths)', () => {
      for (const data of [Buffer.from('x'), Buffer.alloc(300, 3)]) {
        const fields = { amount: 5n, destination: 'test.bob.x', data, executionCondition: Buffer.alloc(32, 9) }
        const withRaw = packetContext({ account: bob, ...fields })
        withRaw.prepare.raw = rawPrepare(fields)
        expect(keyOf(packetContext({ account: bob, ...fields }))).to.equal(keyOf(withRaw))
      }
    })

    it('differs when the boundary between destination and data moves (length prefixes are hashed)', () => {
      const a = packetContext({ account: bob, destination: 'test.ab', data: Buffer.from('c') })
      const b = packetContext({ account: bob, destination: 'test.a', data: Buffer.from('bc') })
      expect(keyOf(a)).to.not.equal(keyOf(b))
    })

    it('ignores amount and expiry', () => {
      expect(keyOf(packetContext({ account: bob, amount: 1n, expiresAt: NOW }))).to.equal(keyOf(packetContext({ account: bob, amount: 9n, expiresAt: NOW + 5 })))
    })
  })

  describe('outgoingData', () => {
    it('forwards a duplicate with the same amount and expiry once; both get the same reply', async () => {
      const answer = deferred<Buffer>()
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().returns(answer.promise)
      const first = dedup.outgoingData(packetContext({ account: bob }), next)
      const second = dedup.outgoingData(packetContext({ account: bob }), next)
      answer.resolve(FULFILL)
      expect(await first).to.equal(FULFILL)
      expect(await second).to.equal(FULFILL)
      expect(next.callCount).to.equal(1)
    })

    it('shares a finished reply with a later duplicate with a smaller amount and an earlier expiry', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob, amount: 100n, expiresAt: NOW + 10_000 }), next)
      expect(await dedup.outgoingData(packetContext({ account: bob, amount: 99n, expiresAt: NOW + 9_000 }), next)).to.deep.equal(FULFILL)
      expect(next.callCount).to.equal(1)
    })

    it('forwards again a duplicate with a larger amount, then shares that one', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob, amount: 100n }), next)
      await dedup.outgoingData(packetContext({ account: bob, amount: 101n }), next)
      expect(next.callCount).to.equal(2)
      expect(next.secondCall.args[0].prepare.amount).to.equal(101n)
      await dedup.outgoingData(packetContext({ account: bob, amount: 101n }), next)
      expect(next.callCount).to.equal(2)
    })

    it('forwards again a duplicate with a later expiry', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob, expiresAt: NOW + 10_000 }), next)
      await dedup.outgoingData(packetContext({ account: bob, expiresAt: NOW + 10_001 }), next)
      expect(next.callCount).to.equal(2)
    })

    it('forwards packets that differ in condition, destination or data', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      await dedup.outgoingData(packetContext({ account: bob, executionCondition: Buffer.alloc(32, 2) }), next)
      await dedup.outgoingData(packetContext({ account: bob, destination: 'test.bob.other' }), next)
      await dedup.outgoingData(packetContext({ account: bob, data: Buffer.from('other') }), next)
      expect(next.callCount).to.equal(4)
      expect(dedup.size('bob')).to.equal(4)
    })

    it('keeps one cache per next hop: the same packet to another account is forwarded', async () => {
      const carl = fakeAccount({ id: 'carl' })
      dedup.addAccount(carl)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      await dedup.outgoingData(packetContext({ account: carl }), next)
      expect(next.callCount).to.equal(2)
      expect(next.secondCall.args[0].account.id).to.equal('carl')
    })

    it('shares a Reject reply byte for byte', async () => {
      const rejected = reject({ code: 'F99', triggeredBy: 'test.bob', message: 'no' })
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(rejected)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      expect(await dedup.outgoingData(packetContext({ account: bob }), next)).to.deep.equal(rejected)
      expect(next.callCount).to.equal(1)
    })

    it(`shares a reply longer than the ${SLOT_BYTES} bytes kept inline (kept by reference)`, async () => {
      const long = fulfill(Buffer.alloc(32, 2), Buffer.alloc(SLOT_BYTES * 4, 7))
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(long)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      expect(await dedup.outgoingData(packetContext({ account: bob }), next)).to.deep.equal(long)
      expect(next.callCount).to.equal(1)
    })

    it('gives each duplicate its own copy of a settled reply: changing one changes no other', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(Buffer.from(FULFILL))
      await dedup.outgoingData(packetContext({ account: bob }), next)
      const first = await dedup.outgoingData(packetContext({ account: bob }), next)
      first.fill(0)
      expect(await dedup.outgoingData(packetContext({ account: bob }), next)).to.deep.equal(FULFILL)
      expect(next.callCount).to.equal(1)
    })

    it('replaces a settled packet by the one forwarded again (larger amount) and keeps one entry for both', async () => {
      const first = reject({ code: 'T04', triggeredBy: 'test.bob', message: 'first' })
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().onFirstCall().resolves(first).resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob, amount: 100n }), next)
      expect(await dedup.outgoingData(packetContext({ account: bob, amount: 200n }), next)).to.equal(FULFILL)
      expect(await dedup.outgoingData(packetContext({ account: bob, amount: 150n }), next)).to.deep.equal(FULFILL)
      expect(next.callCount).to.equal(2)
      expect(dedup.size('bob')).to.equal(1)
    })

    it('makes every duplicate throw the error the forwarded packet failed with, with no unhandled rejection', async () => {
      const unhandled = sinon.spy()
      process.on('unhandledRejection', unhandled)
      try {
        const answer = deferred<Buffer>()
        const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().returns(answer.promise)
        const error = new TransferTimedOutError('packet expired.')
        const first = dedup.outgoingData(packetContext({ account: bob }), next).catch((err: unknown) => err)
        answer.reject(error)
        expect(await first).to.equal(error)
        // The cached promise stays rejected; a later duplicate gets the same error.
        const second = await dedup.outgoingData(packetContext({ account: bob }), next).catch((err: unknown) => err)
        expect(second).to.equal(error)
        expect(next.callCount).to.equal(1)
        await clock.tickAsync(0)
        await new Promise((resolve) => realSetImmediate(resolve))
        expect(unhandled.callCount).to.equal(0)
      } finally {
        process.off('unhandledRejection', unhandled)
      }
    })

    it('forwards without caching for an account it was not given', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      const dave = fakeAccount({ id: 'dave' })
      await dedup.outgoingData(packetContext({ account: dave }), next)
      await dedup.outgoingData(packetContext({ account: dave }), next)
      expect(next.callCount).to.equal(2)
      expect(dedup.size('dave')).to.equal(0)
    })
  })

  describe('cleanup', () => {
    it('drops an entry once expiresAt + packetLifetime has passed, at the next cleanupInterval tick (defaults 30 s each)', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob, expiresAt: NOW + 10_000 }), next)
      await clock.tickAsync(30_000) // now = expiresAt + 20 s: kept
      expect(dedup.size('bob')).to.equal(1)
      await clock.tickAsync(30_000) // now = expiresAt + 50 s > expiresAt + 30 s: dropped
      expect(dedup.size('bob')).to.equal(0)
      await dedup.outgoingData(packetContext({ account: bob, expiresAt: NOW + 10_000 }), next)
      expect(next.callCount).to.equal(2)
    })

    it('uses the account\'s cleanupInterval and packetLifetime', async () => {
      const fast = fakeAccount({ id: 'fast', config: { deduplicate: { cleanupInterval: 100, packetLifetime: 50 } } })
      dedup.addAccount(fast)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: fast, expiresAt: NOW + 1000 }), next)
      await clock.tickAsync(1000)
      expect(dedup.size('fast')).to.equal(1) // now = expiresAt, not yet + 50
      await clock.tickAsync(100)
      expect(dedup.size('fast')).to.equal(0)
    })

    it('gives an omitted field its default: only packetLifetime set -> cleanup every 30 s', async () => {
      const partial = fakeAccount({ id: 'partial', config: { deduplicate: { packetLifetime: 10 } } })
      dedup.addAccount(partial)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: partial, expiresAt: NOW + 100 }), next)
      await clock.tickAsync(29_999)
      expect(dedup.size('partial')).to.equal(1)
      await clock.tickAsync(1)
      expect(dedup.size('partial')).to.equal(0)
    })

    it('gives an omitted field its default: only cleanupInterval set -> packetLifetime 30 s', async () => {
      const partial = fakeAccount({ id: 'partial', config: { deduplicate: { cleanupInterval: 1000 } } })
      dedup.addAccount(partial)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: partial, expiresAt: NOW }), next)
      await clock.tickAsync(30_000)
      expect(dedup.size('partial')).to.equal(1) // expiresAt + 30 s is not < now
      await clock.tickAsync(1000)
      expect(dedup.size('partial')).to.equal(0)
    })

    it('starts an unref()\'d timer per account, and stops it on removeAccount and on stop()', () => {
      const carl = fakeAccount({ id: 'carl' })
      dedup.addAccount(carl)
      expect(clock.countTimers()).to.equal(2)
      dedup.removeAccount(carl)
      expect(clock.countTimers()).to.equal(1)
      dedup.stop()
      expect(clock.countTimers()).to.equal(0)
    })

    it('unref()s its timers so they never keep the process alive', () => {
      dedup.stop()
      clock.restore()
      const real = new Deduplicate(fakeApi())
      const setIntervalSpy = sinon.spy(globalThis, 'setInterval')
      try {
        real.addAccount(fakeAccount({ id: 'x' }))
        const timer = setIntervalSpy.firstCall.returnValue as unknown as NodeJS.Timeout
        expect(timer.hasRef()).to.equal(false)
      } finally {
        setIntervalSpy.restore()
        real.stop()
        clock = sinon.useFakeTimers({ now: NOW })
      }
    })

    it('forgets an account\'s packets when it is removed', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      dedup.removeAccount(bob)
      dedup.addAccount(bob)
      await dedup.outgoingData(packetContext({ account: bob }), next)
      expect(next.callCount).to.equal(2)
    })
  })
  describe('bounded memory', () => {
    /** A packet of its own (distinct condition), fulfilled at once. */
    const packet = (i: number) => {
      const executionCondition = Buffer.alloc(32)
      executionCondition.writeUInt32BE(i)
      return packetContext({ account: bob, executionCondition })
    }

    it(`keeps at most ${MAX_SETTLED} settled packets per next hop, forgetting the oldest; a forgotten one is forwarded again`, async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
      const held = deferred<Buffer>()
      const inFlight = dedup.outgoingData(packet(-1 >>> 0), async () => await held.promise) // the oldest, never settled
      for (let i = 0; i <= MAX_SETTLED; i++) await dedup.outgoingData(packet(i), next)
      expect(dedup.size('bob')).to.equal(MAX_SETTLED + 1) // the settled ones and the one in flight
      // the first settled ones are gone: a duplicate of packet 0 goes to the next hop again
      const calls = next.callCount
      await dedup.outgoingData(packet(0), next)
      expect(next.callCount).to.equal(calls + 1)
      // the newest are remembered: a duplicate of the last one does not
      await dedup.outgoingData(packet(MAX_SETTLED), next)
      expect(next.callCount).to.equal(calls + 1)
      // the packet in flight was never evicted: its duplicate still shares it
      const duplicate = dedup.outgoingData(packet(-1 >>> 0), next)
      held.resolve(FULFILL)
      expect(await duplicate).to.equal(FULFILL)
      expect(await inFlight).to.equal(FULFILL)
      expect(next.callCount).to.equal(calls + 1)
    })
  })

  middlewareConformance(manifest, { handlers: ['outgoingData'] })
})
