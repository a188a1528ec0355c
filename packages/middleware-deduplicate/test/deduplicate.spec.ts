import { createHash } from 'node:crypto'
import { expect } from 'chai'
import sinon from 'sinon'
import {
  TransferTimedOutError, serializeFulfill, serializeReject,
  type Account, type AccountConfig, type Logger, type MiddlewareApi, type NextData, type PacketContext
} from '@conn/types'
import manifest, { Deduplicate } from '../src/index.ts'
import { keyOf } from '../src/deduplicate.ts'

const NOW = 1_700_000_000_000
/** The real setImmediate, to let Node report unhandled rejections while sinon fakes the timers. */
const realSetImmediate = globalThis.setImmediate

function stubLogger (): Logger {
  const logger = {
    trace: sinon.stub(), debug: sinon.stub(), info: sinon.stub(), warn: sinon.stub(), error: sinon.stub(), fatal: sinon.stub(),
    isLevelEnabled: sinon.stub().returns(true),
    child: sinon.stub()
  }
  logger.child.returns(logger)
  return logger
}

function makeApi (): MiddlewareApi {
  return {
    logger: stubLogger(),
    store: { get: async () => undefined, put: async () => {}, del: async () => {} },
    getOwnAddress: () => 'test.conn',
    getAccount: () => undefined,
    getAccounts: () => [],
    sendMoney: async () => {},
    balances: { get: async () => 0n, adjust: async () => 0n },
    metrics: {} as MiddlewareApi['metrics']
  }
}

function makeAccount (id: string, deduplicate?: AccountConfig['deduplicate']): Account {
  const config: AccountConfig = { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 }
  if (deduplicate !== undefined) config.deduplicate = deduplicate
  return { id, relation: 'child', assetCode: 'USD', assetScale: 9, config, plugin: {} as any }
}

interface PrepareFields { amount?: bigint, expiresAt?: number, destination?: string, data?: Buffer, condition?: Buffer }

function makeCtx (account: Account, fields: PrepareFields = {}): PacketContext {
  return {
    account,
    prepare: {
      amount: fields.amount ?? 100n,
      expiresAt: fields.expiresAt ?? NOW + 10_000,
      executionCondition: fields.condition ?? Buffer.alloc(32, 1),
      destination: fields.destination ?? 'test.bob',
      data: fields.data ?? Buffer.from('hello')
    },
    incoming: undefined
  }
}

/** OER var-octet-string (short and long form). */
function varOctets (bytes: Buffer): Buffer {
  if (bytes.length < 0x80) return Buffer.concat([Buffer.of(bytes.length), bytes])
  const length = Buffer.alloc(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([Buffer.of(0x82), length, bytes])
}

/** A serialized Prepare as the reference encodes it (amount and expiry are arbitrary bytes here). */
function rawPrepare (fields: { amount: bigint, destination: string, data: Buffer, condition: Buffer }): Buffer {
  const amount = Buffer.alloc(8)
  amount.writeBigUInt64BE(fields.amount)
  const contents = Buffer.concat([
    amount, Buffer.from('20231114221320000', 'ascii'), fields.condition,
    varOctets(Buffer.from(fields.destination, 'ascii')), varOctets(fields.data)
  ])
  return Buffer.concat([Buffer.of(12), varOctets(contents)])
}

function deferred<T> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32, 2), data: Buffer.from('ok') })

describe('deduplicate', () => {
  let clock: sinon.SinonFakeTimers
  let dedup: Deduplicate
  const bob = makeAccount('bob')

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: NOW })
    dedup = new Deduplicate(makeApi())
    dedup.addAccount(bob)
  })
  afterEach(() => {
    dedup.stop()
    clock.restore()
  })

  describe('manifest', () => {
    it('is a middleware manifest named deduplicate for types ^0.1.0 whose create() returns a Deduplicate with outgoingData only', async () => {
      expect(manifest.kind).to.equal('middleware')
      expect(manifest.name).to.equal('deduplicate')
      expect(manifest.types).to.equal('^0.1.0')
      const middleware = await manifest.create({}, makeApi())
      expect(middleware).to.be.instanceOf(Deduplicate)
      expect(middleware.name).to.equal('deduplicate')
      expect(middleware.outgoingData).to.be.a('function')
      expect(middleware.incomingData).to.equal(undefined)
    })
  })

  describe('key', () => {
    it('is the first 16 bytes of SHA-256 over the Prepare contents after amount and expiry, read from raw', () => {
      const fields = { amount: 5n, destination: 'test.bob.x', data: Buffer.alloc(200, 7), condition: Buffer.alloc(32, 9) }
      const raw = rawPrepare(fields)
      const contents = raw.subarray(raw[1]! < 0x80 ? 2 : 2 + (raw[1]! & 0x7f))
      const expected = createHash('sha256').update(contents.subarray(25)).digest().subarray(0, 16)
      const ctx = makeCtx(bob, fields)
      ctx.prepare.raw = raw
      expect(Buffer.from(keyOf(ctx), 'latin1').equals(expected)).to.equal(true)
    })

    it('is the same whether computed from raw or from the fields (short and long OER lengths)', () => {
      for (const data of [Buffer.from('x'), Buffer.alloc(300, 3)]) {
        const fields = { amount: 5n, destination: 'test.bob.x', data, condition: Buffer.alloc(32, 9) }
        const withRaw = makeCtx(bob, fields)
        withRaw.prepare.raw = rawPrepare(fields)
        expect(keyOf(makeCtx(bob, fields))).to.equal(keyOf(withRaw))
      }
    })

    it('differs when the boundary between destination and data moves (length prefixes are hashed)', () => {
      const a = makeCtx(bob, { destination: 'test.ab', data: Buffer.from('c') })
      const b = makeCtx(bob, { destination: 'test.a', data: Buffer.from('bc') })
      expect(keyOf(a)).to.not.equal(keyOf(b))
    })

    it('ignores amount and expiry', () => {
      expect(keyOf(makeCtx(bob, { amount: 1n, expiresAt: NOW }))).to.equal(keyOf(makeCtx(bob, { amount: 9n, expiresAt: NOW + 5 })))
    })
  })

  describe('outgoingData', () => {
    it('forwards a duplicate with the same amount and expiry once; both get the same reply', async () => {
      const answer = deferred<Buffer>()
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().returns(answer.promise)
      const first = dedup.outgoingData(makeCtx(bob), next)
      const second = dedup.outgoingData(makeCtx(bob), next)
      answer.resolve(fulfill)
      expect(await first).to.equal(fulfill)
      expect(await second).to.equal(fulfill)
      expect(next.callCount).to.equal(1)
    })

    it('shares a finished reply with a later duplicate with a smaller amount and an earlier expiry', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob, { amount: 100n, expiresAt: NOW + 10_000 }), next)
      expect(await dedup.outgoingData(makeCtx(bob, { amount: 99n, expiresAt: NOW + 9_000 }), next)).to.equal(fulfill)
      expect(next.callCount).to.equal(1)
    })

    it('forwards again a duplicate with a larger amount, then shares that one', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob, { amount: 100n }), next)
      await dedup.outgoingData(makeCtx(bob, { amount: 101n }), next)
      expect(next.callCount).to.equal(2)
      expect(next.secondCall.args[0].prepare.amount).to.equal(101n)
      await dedup.outgoingData(makeCtx(bob, { amount: 101n }), next)
      expect(next.callCount).to.equal(2)
    })

    it('forwards again a duplicate with a later expiry', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob, { expiresAt: NOW + 10_000 }), next)
      await dedup.outgoingData(makeCtx(bob, { expiresAt: NOW + 10_001 }), next)
      expect(next.callCount).to.equal(2)
    })

    it('forwards packets that differ in condition, destination or data', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob), next)
      await dedup.outgoingData(makeCtx(bob, { condition: Buffer.alloc(32, 2) }), next)
      await dedup.outgoingData(makeCtx(bob, { destination: 'test.bob.other' }), next)
      await dedup.outgoingData(makeCtx(bob, { data: Buffer.from('other') }), next)
      expect(next.callCount).to.equal(4)
      expect(dedup.size('bob')).to.equal(4)
    })

    it('keeps one cache per next hop: the same packet to another account is forwarded', async () => {
      const carl = makeAccount('carl')
      dedup.addAccount(carl)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob), next)
      await dedup.outgoingData(makeCtx(carl), next)
      expect(next.callCount).to.equal(2)
      expect(next.secondCall.args[0].account.id).to.equal('carl')
    })

    it('shares a Reject reply as is', async () => {
      const reject = serializeReject({ code: 'F99', triggeredBy: 'test.bob', message: 'no', data: Buffer.alloc(0) })
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(reject)
      await dedup.outgoingData(makeCtx(bob), next)
      expect(await dedup.outgoingData(makeCtx(bob), next)).to.equal(reject)
      expect(next.callCount).to.equal(1)
    })

    it('makes every duplicate throw the error the forwarded packet failed with, with no unhandled rejection', async () => {
      const unhandled = sinon.spy()
      process.on('unhandledRejection', unhandled)
      try {
        const answer = deferred<Buffer>()
        const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().returns(answer.promise)
        const error = new TransferTimedOutError('packet expired.')
        const first = dedup.outgoingData(makeCtx(bob), next).catch((err: unknown) => err)
        answer.reject(error)
        expect(await first).to.equal(error)
        // The cached promise stays rejected; a later duplicate gets the same error.
        const second = await dedup.outgoingData(makeCtx(bob), next).catch((err: unknown) => err)
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
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      const dave = makeAccount('dave')
      await dedup.outgoingData(makeCtx(dave), next)
      await dedup.outgoingData(makeCtx(dave), next)
      expect(next.callCount).to.equal(2)
      expect(dedup.size('dave')).to.equal(0)
    })
  })

  describe('cleanup', () => {
    it('drops an entry once expiresAt + packetLifetime has passed, at the next cleanupInterval tick (defaults 30 s each)', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob, { expiresAt: NOW + 10_000 }), next)
      await clock.tickAsync(30_000) // now = expiresAt + 20 s: kept
      expect(dedup.size('bob')).to.equal(1)
      await clock.tickAsync(30_000) // now = expiresAt + 50 s > expiresAt + 30 s: dropped
      expect(dedup.size('bob')).to.equal(0)
      await dedup.outgoingData(makeCtx(bob, { expiresAt: NOW + 10_000 }), next)
      expect(next.callCount).to.equal(2)
    })

    it('uses the account\'s cleanupInterval and packetLifetime', async () => {
      const fast = makeAccount('fast', { cleanupInterval: 100, packetLifetime: 50 })
      dedup.addAccount(fast)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(fast, { expiresAt: NOW + 1000 }), next)
      await clock.tickAsync(1000)
      expect(dedup.size('fast')).to.equal(1) // now = expiresAt, not yet + 50
      await clock.tickAsync(100)
      expect(dedup.size('fast')).to.equal(0)
    })

    it('gives an omitted field its default: only packetLifetime set -> cleanup every 30 s', async () => {
      const partial = makeAccount('partial', { packetLifetime: 10 })
      dedup.addAccount(partial)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(partial, { expiresAt: NOW + 100 }), next)
      await clock.tickAsync(29_999)
      expect(dedup.size('partial')).to.equal(1)
      await clock.tickAsync(1)
      expect(dedup.size('partial')).to.equal(0)
    })

    it('gives an omitted field its default: only cleanupInterval set -> packetLifetime 30 s', async () => {
      const partial = makeAccount('partial', { cleanupInterval: 1000 })
      dedup.addAccount(partial)
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(partial, { expiresAt: NOW }), next)
      await clock.tickAsync(30_000)
      expect(dedup.size('partial')).to.equal(1) // expiresAt + 30 s is not < now
      await clock.tickAsync(1000)
      expect(dedup.size('partial')).to.equal(0)
    })

    it('starts an unref()\'d timer per account, and stops it on removeAccount and on stop()', () => {
      const carl = makeAccount('carl')
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
      const real = new Deduplicate(makeApi())
      const setIntervalSpy = sinon.spy(globalThis, 'setInterval')
      try {
        real.addAccount(makeAccount('x'))
        const timer = setIntervalSpy.firstCall.returnValue as unknown as NodeJS.Timeout
        expect(timer.hasRef()).to.equal(false)
      } finally {
        setIntervalSpy.restore()
        real.stop()
        clock = sinon.useFakeTimers({ now: NOW })
      }
    })

    it('forgets an account\'s packets when it is removed', async () => {
      const next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(fulfill)
      await dedup.outgoingData(makeCtx(bob), next)
      dedup.removeAccount(bob)
      dedup.addAccount(bob)
      await dedup.outgoingData(makeCtx(bob), next)
      expect(next.callCount).to.equal(2)
    })
  })
})
