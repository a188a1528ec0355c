import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import {
  BtpFormatError, decode, encode, encodeEmpty, encodeError, encodeIlp, generalizedTime, ilpOf, requestIdOfMalformed,
  TYPE_ERROR, TYPE_MESSAGE, TYPE_RESPONSE, TYPE_TRANSFER, type BtpFrameInput, type ProtocolData
} from '../src/codec.ts'
import { BtpPacket } from './helpers.ts'

const ilp = (data: Buffer): ProtocolData => ({ protocolName: 'ilp', contentType: 0, data })
const AUTH: ProtocolData[] = [
  { protocolName: 'auth', contentType: 0, data: Buffer.alloc(0) },
  { protocolName: 'auth_username', contentType: 1, data: Buffer.from('alice') },
  { protocolName: 'auth_token', contentType: 1, data: Buffer.from('s3cret') }
]
const MANY: ProtocolData[] = Array.from({ length: 300 }, (_, i) => ({ protocolName: `p${i}`, contentType: i % 3, data: Buffer.from([i & 0xff]) }))
const TIME = new Date('2024-02-29T23:59:58.123Z')

/** Every kind of frame, as btp-packet's input objects. */
const FRAMES: Array<{ what: string, frame: BtpFrameInput }> = [
  { what: 'MESSAGE with one ilp entry', frame: { type: TYPE_MESSAGE, requestId: 1, protocolData: [ilp(randomBytes(60))] } },
  { what: 'MESSAGE with a 200-byte packet (2-byte length prefix)', frame: { type: TYPE_MESSAGE, requestId: 0xffffffff, protocolData: [ilp(randomBytes(200))] } },
  { what: 'MESSAGE with a 70000-byte packet (4-byte length prefix)', frame: { type: TYPE_MESSAGE, requestId: 7, protocolData: [ilp(randomBytes(70000))] } },
  { what: 'MESSAGE with the auth sub-protocols', frame: { type: TYPE_MESSAGE, requestId: 42, protocolData: AUTH } },
  { what: 'MESSAGE with 300 entries (2-byte count)', frame: { type: TYPE_MESSAGE, requestId: 3, protocolData: MANY } },
  { what: 'MESSAGE with 255 entries (1-byte count)', frame: { type: TYPE_MESSAGE, requestId: 3, protocolData: MANY.slice(0, 255) } },
  { what: 'RESPONSE without protocol data', frame: { type: TYPE_RESPONSE, requestId: 0, protocolData: [] } },
  { what: 'RESPONSE with an ilp entry', frame: { type: TYPE_RESPONSE, requestId: 99, protocolData: [ilp(randomBytes(33))] } },
  {
    what: 'ERROR with all fields and protocol data',
    frame: { type: TYPE_ERROR, requestId: 5, protocolData: [ilp(Buffer.from('x'))], error: { code: 'F00', name: 'NotAcceptedError', triggeredAt: TIME, data: '{"message":"nope é"}' } }
  },
  {
    what: 'ERROR with a 300-byte data string',
    frame: { type: TYPE_ERROR, requestId: 6, protocolData: [], error: { code: 'T00', name: 'UnreachableError', triggeredAt: TIME, data: 'x'.repeat(300) } }
  },
  { what: 'TRANSFER of 0', frame: { type: TYPE_TRANSFER, requestId: 8, protocolData: [], amount: '0' } },
  { what: 'TRANSFER of the largest uint64', frame: { type: TYPE_TRANSFER, requestId: 9, protocolData: AUTH, amount: '18446744073709551615' } }
]

/** The object btp-packet takes for `frame`. */
function refInput (frame: BtpFrameInput): any {
  const protocolData = frame.protocolData
  if (frame.type === TYPE_TRANSFER) return { type: frame.type, requestId: frame.requestId, data: { amount: frame.amount, protocolData } }
  if (frame.type === TYPE_ERROR) {
    const e = frame.error!
    return { type: frame.type, requestId: frame.requestId, data: { code: e.code, name: e.name, triggeredAt: e.triggeredAt.toISOString(), data: e.data, protocolData } }
  }
  return { type: frame.type, requestId: frame.requestId, data: { protocolData } }
}

describe('codec', () => {
  describe('encode', () => {
    for (const { what, frame } of FRAMES) {
      it(`writes the bytes btp-packet writes: ${what}`, () => {
        expect(encode(frame).equals(BtpPacket.serialize(refInput(frame)))).to.equal(true)
      })
    }

    it('encodeIlp writes btp-packet\'s MESSAGE and RESPONSE with one ilp entry, for packets of 0 to 70000 bytes', () => {
      for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
        const packet = randomBytes(size)
        for (const type of [TYPE_MESSAGE, TYPE_RESPONSE]) {
          const ref = BtpPacket.serialize({ type, requestId: 123456, data: { protocolData: [ilp(packet)] } } as any)
          expect(encodeIlp(type, 123456, packet).equals(ref), `type ${type} size ${size}`).to.equal(true)
        }
      }
    })

    it('encodeEmpty and encodeError write btp-packet\'s serializeResponse and serializeError', () => {
      expect(encodeEmpty(TYPE_RESPONSE, 77).equals(BtpPacket.serializeResponse(77, []))).to.equal(true)
      const error = { code: 'F00', name: 'NotAcceptedError', triggeredAt: TIME, data: 'invalid auth_token' }
      expect(encodeError(78, error).equals(BtpPacket.serializeError({ ...error, triggeredAt: TIME.toISOString() }, 78, []))).to.equal(true)
    })

    it('writes triggeredAt as btp-packet\'s generalized time with milliseconds', () => {
      expect(generalizedTime(new Date('2017-01-02T03:04:05.006Z'))).to.equal('20170102030405.006Z')
    })

    it('refuses what btp-packet refuses: a code that is not 3 characters, an amount beyond uint64, a bad request id', () => {
      expect(() => encodeError(1, { code: 'F0', name: 'x', triggeredAt: TIME, data: '' })).to.throw(RangeError, 'error code must be 3 characters')
      expect(() => encode({ type: TYPE_TRANSFER, requestId: 1, protocolData: [], amount: '18446744073709551616' })).to.throw(RangeError)
      expect(() => encode({ type: TYPE_TRANSFER, requestId: 1, protocolData: [], amount: '-1' })).to.throw(RangeError)
      expect(() => encode({ type: TYPE_MESSAGE, requestId: 2 ** 32, protocolData: [] })).to.throw(RangeError, 'requestId')
      expect(() => encode({ type: 3, requestId: 1, protocolData: [] })).to.throw(RangeError, 'unknown BTP packet type')
    })
  })

  describe('decode', () => {
    for (const { what, frame } of FRAMES) {
      it(`reads btp-packet's bytes and btp-packet reads ours: ${what}`, () => {
        const bytes = BtpPacket.serialize(refInput(frame))
        const ours = decode(bytes)
        const ref = BtpPacket.deserialize(bytes) as any
        expect(ours.type).to.equal(ref.type)
        expect(ours.requestId).to.equal(ref.requestId)
        expect(ours.protocolData).to.deep.equal(ref.data.protocolData)
        if (frame.type === TYPE_TRANSFER) expect(ours.amount).to.equal(ref.data.amount)
        if (frame.type === TYPE_ERROR) {
          expect(ours.error).to.deep.equal({ code: ref.data.code, name: ref.data.name, triggeredAt: ref.data.triggeredAt, data: ref.data.data })
          expect(ours.error!.triggeredAt.getTime()).to.equal(TIME.getTime())
        }
        expect(BtpPacket.deserialize(encode(frame))).to.deep.equal(ref)
      })
    }

    it('returns views of the packet bytes, and ilpOf finds the ilp entry', () => {
      const packet = randomBytes(40)
      const bytes = encodeIlp(TYPE_MESSAGE, 1, packet)
      const frame = decode(bytes)
      expect(ilpOf(frame)!.equals(packet)).to.equal(true)
      expect(ilpOf(frame)!.buffer).to.equal(bytes.buffer)
      expect(ilpOf(decode(encodeEmpty(TYPE_RESPONSE, 1)))).to.equal(undefined)
    })

    it('rejects every truncation of every frame with a BtpFormatError', () => {
      for (const { frame } of FRAMES) {
        const bytes = encode(frame)
        if (bytes.length > 1000) continue
        for (let n = 0; n < bytes.length; n++) {
          expect(() => decode(bytes.subarray(0, n)), `${n} of ${bytes.length} bytes`).to.throw(BtpFormatError)
        }
      }
    })

    it('rejects trailing bytes after the contents and inside them', () => {
      const bytes = encodeIlp(TYPE_MESSAGE, 1, Buffer.from('abc'))
      expect(() => decode(Buffer.concat([bytes, Buffer.of(0)]))).to.throw(BtpFormatError, 'contents are')
      // contents one byte longer than the protocol data: bump the contents length and append a byte
      const padded = Buffer.concat([bytes, Buffer.of(0)])
      padded[5] = padded[5]! + 1
      expect(() => decode(padded)).to.throw(BtpFormatError, 'unexpected bytes after the protocol data')
    })

    it('rejects a non-canonical length prefix, an unknown type, a count beyond the packet', () => {
      // contents length 8 written in long form (0x81 0x08)
      const bytes = encodeEmpty(TYPE_RESPONSE, 1)
      const longForm = Buffer.concat([bytes.subarray(0, 5), Buffer.of(0x81, 3), bytes.subarray(6)])
      expect(() => decode(longForm)).to.throw(BtpFormatError, 'not canonical')
      const unknown = Buffer.from(bytes)
      unknown[0] = 3
      expect(() => decode(unknown)).to.throw(BtpFormatError, 'unknown BTP packet type 3')
      const count = Buffer.from(bytes)
      count[7] = 5
      expect(() => decode(count)).to.throw(BtpFormatError, 'protocol data count 5 exceeds the packet')
      const countLength = Buffer.from(bytes)
      countLength[6] = 0
      expect(() => decode(countLength)).to.throw(BtpFormatError, 'invalid protocol data count length 0')
    })

    it('throws only BtpFormatError on 20000 random and mutated inputs', function () {
      this.timeout(60_000) // half a second alone; CI may run it beside every other package's tests
      const seeds = FRAMES.slice(0, 9).map((f) => encode(f.frame))
      for (let i = 0; i < 20000; i++) {
        let input: Buffer
        if (i % 2 === 0) {
          input = randomBytes(i % 64)
          if (input.length > 0) input[0] = [1, 2, 6, 7][i % 4]!
        } else {
          input = Buffer.from(seeds[i % seeds.length]!)
          input[i % input.length] = (input[i % input.length]! + 1 + (i % 255)) & 0xff
        }
        try {
          decode(input)
        } catch (err) {
          expect(err).to.be.instanceOf(BtpFormatError)
        }
      }
    })

    it('requestIdOfMalformed reads the id of a MESSAGE or TRANSFER only', () => {
      expect(requestIdOfMalformed(Buffer.of(6, 0, 0, 1, 2))).to.equal(258)
      expect(requestIdOfMalformed(Buffer.of(7, 0, 0, 0, 9, 99))).to.equal(9)
      expect(requestIdOfMalformed(Buffer.of(1, 0, 0, 1, 2))).to.equal(undefined)
      expect(requestIdOfMalformed(Buffer.of(6, 0, 0))).to.equal(undefined)
    })
  })
})
