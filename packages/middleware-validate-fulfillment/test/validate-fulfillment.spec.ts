import { createHash } from 'node:crypto'
import { expect } from 'chai'
import sinon from 'sinon'
import {
  WrongConditionError, serializeFulfill, serializeReject,
  type Account, type Logger, type MiddlewareApi, type PacketContext
} from '@conn/types'
import manifest, { ValidateFulfillment } from '../src/index.ts'

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

const account: Account = {
  id: 'bob',
  relation: 'peer',
  assetCode: 'USD',
  assetScale: 9,
  config: { relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 },
  plugin: {} as any
}

function makeCtx (executionCondition = CONDITION): PacketContext {
  return {
    account,
    prepare: {
      amount: 100n,
      expiresAt: Date.now() + 30_000,
      executionCondition,
      destination: 'test.bob.x',
      data: Buffer.alloc(0)
    },
    incoming: undefined
  }
}

function stubLogger (): Logger & Record<'debug' | 'warn', sinon.SinonStub> {
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

/** Runs the middleware with `next` answering `reply`; returns the reply or the error thrown. */
async function run (middleware: ValidateFulfillment, reply: Buffer, ctx = makeCtx()): Promise<Buffer | unknown> {
  try {
    return await middleware.outgoingData(ctx, async () => reply)
  } catch (err) {
    return err
  }
}

function expectF05 (result: unknown): void {
  expect(result).to.be.instanceOf(WrongConditionError)
  expect(result).to.include({ ilpErrorCode: 'F05', message: 'fulfillment did not match expected value.' })
}

describe('validate-fulfillment', () => {
  describe('manifest', () => {
    it('is a middleware manifest named validateFulfillment for types ^0.1.0 whose create() returns one', async () => {
      expect(manifest.kind).to.equal('middleware')
      expect(manifest.name).to.equal('validateFulfillment')
      expect(manifest.types).to.equal('^0.1.0')
      const middleware = await manifest.create({}, { logger: stubLogger() } as unknown as MiddlewareApi)
      expect(middleware).to.be.instanceOf(ValidateFulfillment)
      expect(middleware.name).to.equal('validateFulfillment')
      expect(middleware.outgoingData).to.be.a('function')
      expect(middleware.incomingData).to.equal(undefined)
    })
  })

  it('passes a Fulfill with the right fulfillment through as the same Buffer', async () => {
    const fulfill = serializeFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('receipt') })
    expect(await run(new ValidateFulfillment(), fulfill)).to.equal(fulfill)
  })

  it('passes a right Fulfill whose data needs a long length prefix', async () => {
    const fulfill = serializeFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(1000, 3) })
    expect(fulfill[1]).to.be.greaterThanOrEqual(0x80)
    expect(await run(new ValidateFulfillment(), fulfill)).to.equal(fulfill)
  })

  it('throws WrongConditionError F05 "fulfillment did not match expected value." for a wrong fulfillment', async () => {
    const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32, 8), data: Buffer.alloc(0) })
    expectF05(await run(new ValidateFulfillment(), fulfill))
  })

  it('passes a Reject through untouched, whatever the condition', async () => {
    const reject = serializeReject({ code: 'F02', triggeredBy: 'test.remote', message: 'no route', data: Buffer.alloc(0) })
    expect(await run(new ValidateFulfillment(), reject, makeCtx(Buffer.alloc(32, 0)))).to.equal(reject)
  })

  it('throws F05 for a truncated Fulfill whose fulfillment is shorter than 32 bytes', async () => {
    const fulfill = serializeFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) })
    expectF05(await run(new ValidateFulfillment(), fulfill.subarray(0, 20)))
    expectF05(await run(new ValidateFulfillment(), Buffer.of(13)))
  })

  it('throws F05 for a short fulfillment even when its SHA-256 is the condition', async () => {
    const preimage = Buffer.from('short preimage')
    const reply = Buffer.concat([Buffer.of(13, preimage.length), preimage])
    expectF05(await run(new ValidateFulfillment(), reply, makeCtx(createHash('sha256').update(preimage).digest())))
  })

  it('propagates an error thrown by next unchanged', async () => {
    const failure = new Error('failed to send packet: closed')
    let caught: unknown
    try {
      await new ValidateFulfillment().outgoingData(makeCtx(), async () => { throw failure })
    } catch (err) {
      caught = err
    }
    expect(caught).to.equal(failure)
  })

  describe('logging', () => {
    it('warns on the first wrong fulfillment from an account, then logs repeats at debug', async () => {
      const logger = stubLogger()
      const middleware = new ValidateFulfillment(logger)
      const wrong = serializeFulfill({ fulfillment: Buffer.alloc(32, 8), data: Buffer.alloc(0) })
      expectF05(await run(middleware, wrong))
      expect(logger.warn.callCount).to.equal(1)
      expect(logger.warn.firstCall.args[0]).to.deep.equal({
        account: 'bob',
        fulfillment: Buffer.alloc(32, 8).toString('base64'),
        executionCondition: CONDITION.toString('base64')
      })
      expectF05(await run(middleware, wrong))
      expect(logger.warn.callCount).to.equal(1)
      expect(logger.debug.callCount).to.equal(1)
    })

    it('warns again for an account that was removed and added back', async () => {
      const logger = stubLogger()
      const middleware = new ValidateFulfillment(logger)
      const wrong = serializeFulfill({ fulfillment: Buffer.alloc(32, 8), data: Buffer.alloc(0) })
      await run(middleware, wrong)
      middleware.removeAccount(account)
      await run(middleware, wrong)
      expect(logger.warn.callCount).to.equal(2)
    })

    it('logs nothing for a right fulfillment', async () => {
      const logger = stubLogger()
      await run(new ValidateFulfillment(logger), serializeFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) }))
      expect(logger.warn.callCount + logger.debug.callCount).to.equal(0)
    })
  })
})
