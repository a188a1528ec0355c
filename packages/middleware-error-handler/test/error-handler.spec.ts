import { expect } from 'chai'
import sinon from 'sinon'
import {
  InsufficientLiquidityError, PeerUnreachableError, UnreachableError, readReject, serializeFulfill, serializeReject,
  type Account, type Logger, type MiddlewareApi, type MoneyContext, type NextData, type PacketContext
} from '@conn/types'
import manifest, { ErrorHandler } from '../src/index.ts'

const OWN_ADDRESS = 'test.conn'

function stubLogger (): Logger & Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', sinon.SinonStub> {
  const logger = {
    trace: sinon.stub(),
    debug: sinon.stub(),
    info: sinon.stub(),
    warn: sinon.stub(),
    error: sinon.stub(),
    fatal: sinon.stub(),
    isLevelEnabled: sinon.stub().returns(true),
    child: sinon.stub()
  }
  logger.child.returns(logger)
  return logger
}

function makeApi (logger: Logger = stubLogger()): MiddlewareApi {
  return {
    logger,
    store: { get: async () => undefined, put: async () => {}, del: async () => {} },
    getOwnAddress: () => OWN_ADDRESS,
    getAccount: () => undefined,
    getAccounts: () => [],
    sendMoney: async () => {}
  }
}

const account: Account = {
  id: 'alice',
  relation: 'child',
  assetCode: 'USD',
  assetScale: 9,
  config: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 },
  plugin: {} as any
}

function makeCtx (): PacketContext {
  return {
    account,
    prepare: {
      amount: 100n,
      expiresAt: Date.now() + 30_000,
      executionCondition: Buffer.alloc(32, 1),
      destination: 'test.bob',
      data: Buffer.alloc(0)
    },
    incoming: undefined
  }
}

/** Runs one packet through the error handler with `next` doing whatever `behaviour` does. */
async function run (handler: ErrorHandler, behaviour: NextData): Promise<Buffer> {
  return await handler.incomingData(makeCtx(), behaviour)
}

function throwing (value: unknown): NextData {
  return async () => { throw value }
}

describe('error-handler', () => {
  describe('manifest', () => {
    it('is a middleware manifest named errorHandler for types ^0.1.0 whose create() returns an errorHandler', async () => {
      expect(manifest.kind).to.equal('middleware')
      expect(manifest.name).to.equal('errorHandler')
      expect(manifest.types).to.equal('^0.1.0')
      const middleware = await manifest.create({}, makeApi())
      expect(middleware).to.be.instanceOf(ErrorHandler)
      expect(middleware.name).to.equal('errorHandler')
      expect(middleware.incomingData).to.be.a('function')
      expect(middleware.incomingMoney).to.be.a('function')
      expect(middleware.outgoingData).to.equal(undefined)
    })
  })

  describe('incomingData', () => {
    it('turns a thrown IlpError into a Reject with its code, message, data and triggeredBy = our address', async () => {
      const data = Buffer.from('details')
      const reply = await run(new ErrorHandler(makeApi()), throwing(new InsufficientLiquidityError('exceeded maximum balance.', { data })))
      expect(readReject(reply)).to.deep.equal({
        code: 'T04', triggeredBy: OWN_ADDRESS, message: 'exceeded maximum balance.', data
      })
    })

    it('asks for our address at rejection time, so an address learned later is used', async () => {
      let address = 'unknown'
      const api = { ...makeApi(), getOwnAddress: () => address }
      const handler = new ErrorHandler(api)
      address = 'test.learned'
      const reply = await run(handler, throwing(new UnreachableError('no route found.')))
      expect(readReject(reply).triggeredBy).to.equal('test.learned')
    })

    it('keeps the triggeredBy an error carries', async () => {
      const err = new PeerUnreachableError('no connection to account. account=bob', { triggeredBy: 'test.other' })
      const reply = await run(new ErrorHandler(makeApi()), throwing(err))
      expect(readReject(reply)).to.include({ code: 'T01', triggeredBy: 'test.other' })
    })

    it('turns a plain Error into F00 with its message and empty data', async () => {
      const reply = await run(new ErrorHandler(makeApi()), throwing(new Error('something broke')))
      expect(readReject(reply)).to.deep.equal({
        code: 'F00', triggeredBy: OWN_ADDRESS, message: 'something broke', data: Buffer.alloc(0)
      })
    })

    it('turns a non-object throw into F00 "Non-object thrown: <value>"', async () => {
      const handler = new ErrorHandler(makeApi())
      expect(readReject(await run(handler, throwing('oops')))).to.include({ code: 'F00', message: 'Non-object thrown: oops' })
      expect(readReject(await run(handler, throwing(42)))).to.include({ code: 'F00', message: 'Non-object thrown: 42' })
      expect(readReject(await run(handler, throwing(null)))).to.include({ code: 'F00', message: 'Non-object thrown: null' })
      expect(readReject(await run(handler, throwing(undefined)))).to.include({ code: 'F00', message: 'Non-object thrown: undefined' })
    })

    it('rejects with F00 "handler did not return a value." when next resolves with something other than a Buffer', async () => {
      const handler = new ErrorHandler(makeApi())
      for (const value of [undefined, 'a string', new Uint8Array([13, 0])]) {
        const reply = await run(handler, async () => value as unknown as Buffer)
        expect(readReject(reply)).to.deep.equal({
          code: 'F00', triggeredBy: OWN_ADDRESS, message: 'handler did not return a value.', data: Buffer.alloc(0)
        })
      }
    })

    it('honours a reference-style error object with ilpErrorCode, message and ilpErrorData', async () => {
      const ilpErrorData = Buffer.from('0102', 'hex')
      const reply = await run(new ErrorHandler(makeApi()),
        throwing({ ilpErrorCode: 'T04', message: 'exceeded money bandwidth, throttling.', ilpErrorData }))
      expect(readReject(reply)).to.deep.equal({
        code: 'T04', triggeredBy: OWN_ADDRESS, message: 'exceeded money bandwidth, throttling.', data: ilpErrorData
      })
    })

    it('rejects with F00 and the error message when the error carries an invalid code (X99)', async () => {
      const err = Object.assign(new Error('bad code'), { ilpErrorCode: 'X99' })
      const reply = await run(new ErrorHandler(makeApi()), throwing(err))
      expect(readReject(reply)).to.include({ code: 'F00', message: 'bad code' })
    })

    it('drops data over 32767 bytes and keeps data of exactly 32767 bytes', async () => {
      const handler = new ErrorHandler(makeApi())
      const tooBig = await run(handler, throwing(new InsufficientLiquidityError('big', { data: Buffer.alloc(32768, 7) })))
      expect(readReject(tooBig)).to.include({ code: 'T04', message: 'big' })
      expect(readReject(tooBig).data.length).to.equal(0)
      const max = await run(handler, throwing(new InsufficientLiquidityError('max', { data: Buffer.alloc(32767, 7) })))
      expect(readReject(max).data).to.deep.equal(Buffer.alloc(32767, 7))
    })

    it('passes a Fulfill from next through unchanged (the same Buffer)', async () => {
      const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32, 2), data: Buffer.from('ok') })
      const reply = await run(new ErrorHandler(makeApi()), async () => fulfill)
      expect(reply).to.equal(fulfill)
    })

    it('passes a Reject packet from next through unchanged, with the remote triggeredBy', async () => {
      const reject = serializeReject({ code: 'F02', triggeredBy: 'test.remote', message: 'no route', data: Buffer.alloc(0) })
      const reply = await run(new ErrorHandler(makeApi()), async () => reject)
      expect(reply).to.equal(reject)
    })
  })

  describe('logging', () => {
    it('logs the first unexpected (non-ILP) error of a message at warn, and repeats of it at debug', async () => {
      const logger = stubLogger()
      const handler = new ErrorHandler(makeApi(logger))
      const err = new Error('database is down')
      await run(handler, throwing(err))
      expect(logger.warn.callCount).to.equal(1)
      expect(logger.warn.firstCall.args[0]).to.deep.equal({ account: 'alice', err })
      expect(logger.debug.callCount).to.equal(0)

      await run(handler, throwing(new Error('database is down')))
      await run(handler, throwing(new Error('database is down')))
      expect(logger.warn.callCount).to.equal(1)
      expect(logger.debug.callCount).to.equal(2)
      expect(logger.debug.firstCall.args[0]).to.deep.equal({ account: 'alice', code: 'F00', reason: 'database is down' })

      await run(handler, throwing(new Error('disk is full')))
      expect(logger.warn.callCount).to.equal(2)
    })

    it('warns for at most 100 distinct messages, then logs new ones at debug', async () => {
      const logger = stubLogger()
      const handler = new ErrorHandler(makeApi(logger))
      for (let i = 0; i < 101; i++) await run(handler, throwing(new Error(`failure ${i}`)))
      expect(logger.warn.callCount).to.equal(100)
      expect(logger.debug.callCount).to.equal(1)
      expect(logger.debug.firstCall.args[0]).to.include({ code: 'F00', reason: 'failure 100' })
    })

    it('treats an invalid code like an unexpected error: warn once', async () => {
      const logger = stubLogger()
      const handler = new ErrorHandler(makeApi(logger))
      await run(handler, throwing(Object.assign(new Error('bad code'), { ilpErrorCode: 'X99' })))
      expect(logger.warn.callCount).to.equal(1)
    })

    it('logs ILP errors at debug only, with account, code and reason', async () => {
      const logger = stubLogger()
      const handler = new ErrorHandler(makeApi(logger))
      await run(handler, throwing(new InsufficientLiquidityError('exceeded maximum balance.')))
      await run(handler, throwing(new InsufficientLiquidityError('exceeded maximum balance.')))
      expect(logger.warn.callCount).to.equal(0)
      expect(logger.debug.callCount).to.equal(2)
      expect(logger.debug.firstCall.args[0]).to.deep.equal({ account: 'alice', code: 'T04', reason: 'exceeded maximum balance.' })
    })

    it('does not log at debug when debug is disabled', async () => {
      const logger = stubLogger()
      logger.isLevelEnabled = sinon.stub().returns(false)
      const handler = new ErrorHandler(makeApi(logger))
      const reply = await run(handler, throwing(new UnreachableError('no route found.')))
      expect(readReject(reply).code).to.equal('F02')
      expect(logger.debug.callCount).to.equal(0)
    })
  })

  describe('incomingMoney', () => {
    const moneyCtx: MoneyContext = { account, amount: 500n }

    it('resolves when next resolves, without logging', async () => {
      const logger = stubLogger()
      const next = sinon.stub().resolves()
      await new ErrorHandler(makeApi(logger)).incomingMoney(moneyCtx, next)
      expect(next.calledOnceWithExactly(moneyCtx)).to.equal(true)
      expect(logger.warn.callCount).to.equal(0)
    })

    it('rethrows the error from next and logs it at warn with account and amount', async () => {
      const logger = stubLogger()
      const err = new InsufficientLiquidityError('exceeded maximum balance.')
      let caught: unknown
      try {
        await new ErrorHandler(makeApi(logger)).incomingMoney(moneyCtx, async () => { throw err })
      } catch (e) {
        caught = e
      }
      expect(caught).to.equal(err)
      expect(logger.warn.callCount).to.equal(1)
      expect(logger.warn.firstCall.args[0]).to.deep.equal({ account: 'alice', amount: '500', err })
    })

    it('rethrows a non-object throw as an Error "Non-object thrown: <value>"', async () => {
      let caught: unknown
      try {
        await new ErrorHandler(makeApi()).incomingMoney(moneyCtx, async () => { throw 'nope' as unknown as Error })
      } catch (e) {
        caught = e
      }
      expect(caught).to.be.instanceOf(Error)
      expect((caught as Error).message).to.equal('Non-object thrown: nope')
    })
  })
})
