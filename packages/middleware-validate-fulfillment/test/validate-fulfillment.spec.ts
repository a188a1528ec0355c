import { createHash } from 'node:crypto'
import { expect } from 'chai'
import { WrongConditionError, type PacketContext, TYPES_RANGE } from '@conn/types'
import {
  DEFAULT_CONDITION as CONDITION, DEFAULT_FULFILLMENT as FULFILLMENT, RecordingLogger, fakeAccount, fakeApi, fulfill,
  middlewareConformance, packetContext, reject, rejectionOf
} from '@conn/testkit'
import manifest, { ValidateFulfillment } from '../src/index.ts'

const account = fakeAccount({ id: 'bob', relation: 'peer' })

function makeCtx (executionCondition = CONDITION): PacketContext {
  return packetContext({ account, executionCondition, destination: 'test.bob.x' })
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
    it('is a middleware manifest named validateFulfillment for the installed types range whose create() returns a ValidateFulfillment', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'validateFulfillment', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(ValidateFulfillment)
    })
  })

  it('passes a Fulfill with the right fulfillment through as the same Buffer', async () => {
    const reply = fulfill(FULFILLMENT, Buffer.from('receipt'))
    expect(await run(new ValidateFulfillment(), reply)).to.equal(reply)
  })

  it('passes a right Fulfill whose data needs a long length prefix', async () => {
    const reply = fulfill(FULFILLMENT, Buffer.alloc(1000, 3))
    expect(reply[1]).to.be.greaterThanOrEqual(0x80)
    expect(await run(new ValidateFulfillment(), reply)).to.equal(reply)
  })

  it('throws WrongConditionError F05 "fulfillment did not match expected value." for a wrong fulfillment', async () => {
    const reply = fulfill(Buffer.alloc(32, 8))
    expectF05(await run(new ValidateFulfillment(), reply))
  })

  it('passes a Reject through untouched, whatever the condition', async () => {
    const rejected = reject({ code: 'F02', triggeredBy: 'test.remote', message: 'no route' })
    expect(await run(new ValidateFulfillment(), rejected, makeCtx(Buffer.alloc(32, 0)))).to.equal(rejected)
  })

  it('throws F05 for a truncated Fulfill whose fulfillment is shorter than 32 bytes', async () => {
    const reply = fulfill(FULFILLMENT)
    expectF05(await run(new ValidateFulfillment(), reply.subarray(0, 20)))
    expectF05(await run(new ValidateFulfillment(), Buffer.of(13)))
  })

  it('throws F05 for a short fulfillment even when its SHA-256 is the condition', async () => {
    const preimage = Buffer.from('short preimage')
    const reply = Buffer.concat([Buffer.of(13, preimage.length), preimage])
    expectF05(await run(new ValidateFulfillment(), reply, makeCtx(createHash('sha256').update(preimage).digest())))
  })

  it('propagates an error thrown by next unchanged', async () => {
    const failure = new Error('failed to send packet: closed')
    expect(await rejectionOf(new ValidateFulfillment().outgoingData(makeCtx(), async () => { throw failure }))).to.equal(failure)
  })

  describe('logging', () => {
    it('warns on the first wrong fulfillment from an account, then logs repeats at debug', async () => {
      const logger = new RecordingLogger()
      const middleware = new ValidateFulfillment(logger)
      const wrong = fulfill(Buffer.alloc(32, 8))
      expectF05(await run(middleware, wrong))
      expect(logger.at('warn').length).to.equal(1)
      expect(logger.at('warn')[0]!.obj).to.deep.equal({
        account: 'bob',
        fulfillment: Buffer.alloc(32, 8).toString('base64'),
        executionCondition: CONDITION.toString('base64')
      })
      expectF05(await run(middleware, wrong))
      expect(logger.at('warn').length).to.equal(1)
      expect(logger.at('debug').length).to.equal(1)
    })

    it('warns again for an account that was removed and added back', async () => {
      const logger = new RecordingLogger()
      const middleware = new ValidateFulfillment(logger)
      const wrong = fulfill(Buffer.alloc(32, 8))
      await run(middleware, wrong)
      middleware.removeAccount(account)
      await run(middleware, wrong)
      expect(logger.at('warn').length).to.equal(2)
    })

    it('logs nothing for a right fulfillment', async () => {
      const logger = new RecordingLogger()
      await run(new ValidateFulfillment(logger), fulfill(FULFILLMENT))
      expect(logger.at('warn').length + logger.at('debug').length).to.equal(0)
    })
  })
  middlewareConformance(manifest, { handlers: ['outgoingData'] })
})
