import { expect } from 'chai'
import sinon from 'sinon'
import { parseReject } from '@conn/codec'
import { InsufficientLiquidityError, PeerUnreachableError, UnreachableError,
  type MoneyContext, type NextData, TYPES_RANGE } from '@conn/types'
import { RecordingLogger, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject } from '@conn/testkit'
import manifest, { ErrorHandler } from '../src/index.ts'

const OWN_ADDRESS = 'test.conn'
const account = fakeAccount()

/** Runs one packet through the error handler with `next` doing whatever `behaviour` does. */
async function run (handler: ErrorHandler, behaviour: NextData): Promise<Buffer> {
  return await handler.incomingData(packetContext({ account }), behaviour)
}

function throwing (value: unknown): NextData {
  return async () => { throw value }
}

describe('error-handler', () => {
  describe('manifest', () => {
    it('is a middleware manifest named errorHandler for the installed types range whose create() returns an ErrorHandler', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'errorHandler', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(ErrorHandler)
    })
  })

  describe('incomingData', () => {
    it('turns a thrown IlpError into a Reject with its code, message, data and triggeredBy = our address', async () => {
      const data = Buffer.from('details')
      const reply = await run(new ErrorHandler(fakeApi()), throwing(new InsufficientLiquidityError('exceeded maximum balance.', { data })))
      expect(parseReject(reply)).to.deep.equal({
        code: 'T04', triggeredBy: OWN_ADDRESS, message: 'exceeded maximum balance.', data
      })
    })

    it('asks for our address at rejection time, so an address learned later is used', async () => {
      let address = 'unknown'
      const api = fakeApi({ getOwnAddress: () => address })
      const handler = new ErrorHandler(api)
      address = 'test.learned'
      const reply = await run(handler, throwing(new UnreachableError('no route found.')))
      expect(parseReject(reply).triggeredBy).to.equal('test.learned')
    })

    it('keeps the triggeredBy an error carries', async () => {
      const err = new PeerUnreachableError('no connection to account. account=bob', { triggeredBy: 'test.other' })
      const reply = await run(new ErrorHandler(fakeApi()), throwing(err))
      expect(parseReject(reply)).to.include({ code: 'T01', triggeredBy: 'test.other' })
    })

    it('turns a plain Error into T00 with a generic message: the peer never sees the internal detail', async () => {
      const reply = await run(new ErrorHandler(fakeApi()), throwing(new Error('failed to send packet: ECONNRESET 10.0.0.7:7768')))
      expect(parseReject(reply)).to.deep.equal({
        code: 'T00', triggeredBy: OWN_ADDRESS, message: 'internal error.', data: Buffer.alloc(0)
      })
    })

    it('turns a non-object throw into the same generic T00', async () => {
      const handler = new ErrorHandler(fakeApi())
      for (const value of ['oops', 42, null, undefined]) {
        expect(parseReject(await run(handler, throwing(value)))).to.include({ code: 'T00', message: 'internal error.' })
      }
    })

    it('rejects with the generic T00 when next resolves with something other than a Buffer', async () => {
      const handler = new ErrorHandler(fakeApi())
      for (const value of [undefined, 'a string', new Uint8Array([13, 0])]) {
        const reply = await run(handler, async () => value as unknown as Buffer)
        expect(parseReject(reply)).to.deep.equal({
          code: 'T00', triggeredBy: OWN_ADDRESS, message: 'internal error.', data: Buffer.alloc(0)
        })
      }
    })

    it('honours a reference-style error object with ilpErrorCode, message and ilpErrorData', async () => {
      const ilpErrorData = Buffer.from('0102', 'hex')
      const reply = await run(new ErrorHandler(fakeApi()),
        throwing({ ilpErrorCode: 'T04', message: 'exceeded money bandwidth, throttling.', ilpErrorData }))
      expect(parseReject(reply)).to.deep.equal({
        code: 'T04', triggeredBy: OWN_ADDRESS, message: 'exceeded money bandwidth, throttling.', data: ilpErrorData
      })
    })

    it('treats an error with an invalid code (X99) as not an ILP error: the generic T00, not its message', async () => {
      const err = Object.assign(new Error('bad code'), { ilpErrorCode: 'X99' })
      const reply = await run(new ErrorHandler(fakeApi()), throwing(err))
      expect(parseReject(reply)).to.include({ code: 'T00', message: 'internal error.' })
    })

    it('drops data over 32767 bytes and keeps data of exactly 32767 bytes', async () => {
      const handler = new ErrorHandler(fakeApi())
      const tooBig = await run(handler, throwing(new InsufficientLiquidityError('big', { data: Buffer.alloc(32768, 7) })))
      expect(parseReject(tooBig)).to.include({ code: 'T04', message: 'big' })
      expect(parseReject(tooBig).data.length).to.equal(0)
      const max = await run(handler, throwing(new InsufficientLiquidityError('max', { data: Buffer.alloc(32767, 7) })))
      expect(parseReject(max).data).to.deep.equal(Buffer.alloc(32767, 7))
    })

    it('passes a Fulfill from next through unchanged (the same Buffer)', async () => {
      const fulfilled = fulfill(Buffer.alloc(32, 2), Buffer.from('ok'))
      const reply = await run(new ErrorHandler(fakeApi()), async () => fulfilled)
      expect(reply).to.equal(fulfilled)
    })

    it('passes a Reject packet from next through unchanged, with the remote triggeredBy', async () => {
      const rejected = reject({ code: 'F02', triggeredBy: 'test.remote', message: 'no route' })
      const reply = await run(new ErrorHandler(fakeApi()), async () => rejected)
      expect(reply).to.equal(rejected)
    })
  })

  describe('logging', () => {
    it('logs the first unexpected (non-ILP) error of a message at warn with the account and packet, repeats at debug', async () => {
      const logger = new RecordingLogger()
      const handler = new ErrorHandler(fakeApi({ logger }))
      const err = new Error('database is down')
      const ctx = packetContext({ account })
      await handler.incomingData(ctx, throwing(err))
      expect(logger.at('warn').length).to.equal(1)
      expect(logger.at('warn')[0]!.obj).to.deep.equal({ account: 'alice', destination: ctx.prepare.destination, amount: String(ctx.prepare.amount), err })
      expect(logger.at('debug').length).to.equal(0)

      await run(handler, throwing(new Error('database is down')))
      await run(handler, throwing(new Error('database is down')))
      expect(logger.at('warn').length).to.equal(1)
      expect(logger.at('debug').length).to.equal(2)
      expect(logger.at('debug')[0]!.obj).to.deep.include({ account: 'alice', reason: 'database is down' })

      await run(handler, throwing(new Error('disk is full')))
      expect(logger.at('warn').length).to.equal(2)
    })

    it('warns for at most 100 distinct messages, then logs new ones at debug', async () => {
      const logger = new RecordingLogger()
      const handler = new ErrorHandler(fakeApi({ logger }))
      for (let i = 0; i < 101; i++) await run(handler, throwing(new Error(`failure ${i}`)))
      expect(logger.at('warn').length).to.equal(100)
      expect(logger.at('debug').length).to.equal(1)
      expect(logger.at('debug')[0]!.obj).to.include({ reason: 'failure 100' })
    })

    it('treats an invalid code like an unexpected error: warn once', async () => {
      const logger = new RecordingLogger()
      const handler = new ErrorHandler(fakeApi({ logger }))
      await run(handler, throwing(Object.assign(new Error('bad code'), { ilpErrorCode: 'X99' })))
      expect(logger.at('warn').length).to.equal(1)
    })

    it('logs ILP errors at debug only, with account, code and reason', async () => {
      const logger = new RecordingLogger()
      const handler = new ErrorHandler(fakeApi({ logger }))
      await run(handler, throwing(new InsufficientLiquidityError('exceeded maximum balance.')))
      await run(handler, throwing(new InsufficientLiquidityError('exceeded maximum balance.')))
      expect(logger.at('warn').length).to.equal(0)
      expect(logger.at('debug').length).to.equal(2)
      expect(logger.at('debug')[0]!.obj).to.deep.equal({ account: 'alice', code: 'T04', reason: 'exceeded maximum balance.' })
    })

    it('does not log at debug when debug is disabled', async () => {
      const logger = new RecordingLogger({ level: 'info' })
      const handler = new ErrorHandler(fakeApi({ logger }))
      const reply = await run(handler, throwing(new UnreachableError('no route found.')))
      expect(parseReject(reply).code).to.equal('F02')
      expect(logger.at('debug').length).to.equal(0)
    })
  })

  describe('incomingMoney', () => {
    const moneyCtx: MoneyContext = { account, amount: 500n }

    it('resolves when next resolves, without logging', async () => {
      const logger = new RecordingLogger()
      const next = sinon.stub().resolves()
      await new ErrorHandler(fakeApi({ logger })).incomingMoney(moneyCtx, next)
      expect(next.calledOnceWithExactly(moneyCtx)).to.equal(true)
      expect(logger.at('warn').length).to.equal(0)
    })

    it('rethrows the error from next and logs it at warn with account and amount', async () => {
      const logger = new RecordingLogger()
      const err = new InsufficientLiquidityError('exceeded maximum balance.')
      let caught: unknown
      try {
        await new ErrorHandler(fakeApi({ logger })).incomingMoney(moneyCtx, async () => { throw err })
      } catch (e) {
        caught = e
      }
      expect(caught).to.equal(err)
      expect(logger.at('warn').length).to.equal(1)
      expect(logger.at('warn')[0]!.obj).to.deep.equal({ account: 'alice', amount: '500', err })
    })

    it('rethrows a non-object throw as an Error "Non-object thrown: <value>"', async () => {
      let caught: unknown
      try {
        await new ErrorHandler(fakeApi()).incomingMoney(moneyCtx, async () => { throw 'nope' as unknown as Error })
      } catch (e) {
        caught = e
      }
      expect(caught).to.be.instanceOf(Error)
      expect((caught as Error).message).to.equal('Non-object thrown: nope')
    })
  })
  middlewareConformance(manifest, { handlers: ['incomingData', 'incomingMoney'] })
})
