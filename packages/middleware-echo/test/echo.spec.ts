import { expect } from 'chai'
import sinon from 'sinon'
import { lengthPrefix } from '@conn/codec'
import { InvalidPacketError, type NextData, type PacketContext, TYPES_RANGE } from '@conn/types'
import { fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, rejectionOf } from '@conn/testkit'
import manifest, { ECHO_PREFIX, Echo } from '../src/index.ts'

const OWN_ADDRESS = 'test.conn'
const alice = fakeAccount()
const CONDITION = Buffer.alloc(32, 5)
const EXPIRES_AT = 1_700_000_010_000

function makeCtx (destination: string, data: Buffer): PacketContext {
  return packetContext({ account: alice, amount: 42n, expiresAt: EXPIRES_AT, executionCondition: CONDITION, destination, data, raw: Buffer.from('raw bytes') })
}

function echoRequest (sourceAddress: string): Buffer {
  const address = Buffer.from(sourceAddress, 'ascii')
  return Buffer.concat([Buffer.from(ECHO_PREFIX, 'ascii'), Buffer.of(0), lengthPrefix(address.length), address])
}

const FULFILL = fulfill(Buffer.alloc(32, 2))

describe('echo', () => {
  let echo: Echo
  let next: sinon.SinonStub<Parameters<NextData>, ReturnType<NextData>>

  beforeEach(() => {
    echo = new Echo(fakeApi())
    next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
  })

  describe('manifest', () => {
    it('is a middleware manifest named echo for the installed types range whose create() returns an Echo', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'echo', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(Echo)
    })
  })

  describe('echo request', () => {
    it('replaces the Prepare with an echo response to the source address (same amount, expiry, condition; no raw) and returns next\'s reply', async () => {
      const ctx = makeCtx(OWN_ADDRESS, echoRequest('test.conn.alice'))
      const reply = await echo.incomingData(ctx, next)
      expect(reply).to.equal(FULFILL)
      expect(next.callCount).to.equal(1)
      const sent = next.firstCall.args[0]
      expect(sent).to.equal(ctx)
      expect(sent.prepare.destination).to.equal('test.conn.alice')
      expect(sent.prepare.amount).to.equal(42n)
      expect(sent.prepare.expiresAt).to.equal(EXPIRES_AT)
      expect(sent.prepare.executionCondition.equals(CONDITION)).to.equal(true)
      expect(sent.prepare.data.toString('latin1')).to.equal('ECHOECHOECHOECHO\x01')
      expect(sent.prepare.raw).to.equal(undefined)
    })

    it('reads a source address with a long-form length (200 bytes) and ignores bytes after it', async () => {
      const address = 'test.' + 'a'.repeat(195)
      const data = Buffer.concat([echoRequest(address), Buffer.from('trailing')])
      await echo.incomingData(makeCtx(OWN_ADDRESS, data), next)
      expect(next.firstCall.args[0].prepare.destination).to.equal(address)
    })

    it('compares with the own address at packet time (an address learned later counts)', async () => {
      let own = 'unknown'
      echo = new Echo(fakeApi({ getOwnAddress: () => own }))
      own = 'test.parent.conn'
      await echo.incomingData(makeCtx('test.parent.conn', echoRequest('test.x')), next)
      expect(next.firstCall.args[0].prepare.destination).to.equal('test.x')
    })
  })

  describe('other destinations', () => {
    it('passes a Prepare to another address through untouched, whatever its data', async () => {
      const ctx = makeCtx('test.conn.bob', echoRequest('test.conn.alice'))
      const prepare = ctx.prepare
      expect(await echo.incomingData(ctx, next)).to.equal(FULFILL)
      expect(next.firstCall.args[0].prepare).to.equal(prepare)
    })

    it('passes through a Prepare to a child of the own address (test.conn.x is not test.conn)', async () => {
      const ctx = makeCtx('test.conn.x', Buffer.alloc(0))
      await echo.incomingData(ctx, next)
      expect(next.firstCall.args[0].prepare.destination).to.equal('test.conn.x')
    })
  })

  describe('errors', () => {
    it('rejects data shorter than 17 bytes with F01 "packet data too short for echo request. length=16"', async () => {
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, Buffer.from(ECHO_PREFIX)), next))
      expect(err).to.be.instanceOf(InvalidPacketError)
      expect(err.ilpErrorCode).to.equal('F01')
      expect(err.message).to.equal('packet data too short for echo request. length=16')
      expect(next.callCount).to.equal(0)
    })

    it('rejects empty data with F01 "... length=0"', async () => {
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, Buffer.alloc(0)), next))
      expect(err.message).to.equal('packet data too short for echo request. length=0')
    })

    it('rejects data without the prefix with F01 "packet data does not start with ECHO prefix."', async () => {
      const data = echoRequest('test.conn.alice')
      data[15] = 0x58 // 'X'
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
      expect(err.ilpErrorCode).to.equal('F01')
      expect(err.message).to.equal('packet data does not start with ECHO prefix.')
      expect(next.callCount).to.equal(0)
    })

    it('rejects an echo response (type 1) or any other type with F01 "unexpected ping response."', async () => {
      for (const type of [1, 2, 255]) {
        const data = echoRequest('test.conn.alice')
        data[16] = type
        const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
        expect(err.ilpErrorCode).to.equal('F01')
        expect(err.message).to.equal('unexpected ping response.')
      }
      expect(next.callCount).to.equal(0)
    })

    it('rejects a request with no source address with F01', async () => {
      const data = Buffer.concat([Buffer.from(ECHO_PREFIX), Buffer.of(0)])
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
      expect(err.ilpErrorCode).to.equal('F01')
      expect(err.message).to.equal('echo request has no source address.')
    })

    it('rejects a truncated source address with F01', async () => {
      const data = echoRequest('test.conn.alice').subarray(0, 25)
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
      expect(err.ilpErrorCode).to.equal('F01')
      expect(err.message).to.equal('echo request source address is truncated.')
    })

    it('rejects an invalid long-form length (length of length 0 or 3) with F01', async () => {
      for (const lengthByte of [0x80, 0x83]) {
        const data = Buffer.concat([Buffer.from(ECHO_PREFIX), Buffer.of(0, lengthByte, 0, 0, 5), Buffer.from('test.x')])
        const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
        expect(err.ilpErrorCode).to.equal('F01')
        expect(err.message).to.equal('echo request has an invalid source address length.')
      }
    })

    it('rejects a non-canonical length (5 written as 0x81 0x05) with F01, as the codec reads every length', async () => {
      const data = Buffer.concat([Buffer.from(ECHO_PREFIX), Buffer.of(0, 0x81, 5), Buffer.from('test.x')])
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
      expect(err.message).to.equal('echo request has an invalid source address length.')
    })

    it('rejects a source address with a byte of 0x80 or more (it is not read as ASCII) with F01', async () => {
      const data = echoRequest('test.conn.alice')
      data[data.length - 1] = 0xe5 // 'e' | 0x80
      const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, data), next))
      expect(err.message).to.equal('echo request source address is not a valid ILP address.')
      expect(next.callCount).to.equal(0)
    })

    it('rejects a source address that is not an ILP address with F01, and one over 1023 bytes', async () => {
      for (const address of ['', 'nope', 'test.', 'test..x', 'test.a b', 'g']) {
        const err = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, echoRequest(address)), next))
        expect(err.ilpErrorCode, address).to.equal('F01')
        expect(err.message, address).to.equal('echo request source address is not a valid ILP address.')
      }
      const long = await rejectionOf<InvalidPacketError>(echo.incomingData(makeCtx(OWN_ADDRESS, echoRequest('test.' + 'a'.repeat(1019))), next))
      expect(long.message).to.equal('echo request source address is too long. length=1024')
      expect(next.callCount).to.equal(0)
    })

    it('accepts a source address of exactly 1023 bytes', async () => {
      const address = 'test.' + 'a'.repeat(1018)
      await echo.incomingData(makeCtx(OWN_ADDRESS, echoRequest(address)), next)
      expect(next.firstCall.args[0].prepare.destination).to.equal(address)
    })
  })
  middlewareConformance(manifest, { handlers: ['incomingData'] })
})
