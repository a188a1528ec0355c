import { expect } from 'chai'
import fc from 'fast-check'
// Named imports: a default import of this CommonJS package is undefined when tsx compiles a spec to CommonJS.
import { serializeIlpFulfill, serializeIlpPrepare, serializeIlpReject } from 'ilp-packet'
import { InvalidPacketError } from '@conn/types'
import {
  IlpCodecError, MAX_DATA_LENGTH, MAX_UINT64, envelopeContentsOffset, fulfillmentOf, isFulfill, isReject, isWellFormedReply,
  lengthPrefix, parseFulfill, parsePrepare, parseReject, patchPrepare, readInterledgerTime, readPrepareHead, rejectCodeOf,
  serializeFulfill, serializePrepare, serializeReject, MIN_INTERLEDGER_TIME, MAX_INTERLEDGER_TIME
} from '../src/index.ts'
import { ilpAddress } from './arbitraries.ts'

const CONDITION = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'hex')
const EXPIRES_AT = Date.UTC(2026, 0, 15, 12, 30, 45, 123)

interface Fields { amount: bigint, expiresAt: number, executionCondition: Buffer, destination: string, data: Buffer }

const FIELDS: Fields = {
  amount: 107n,
  expiresAt: EXPIRES_AT,
  executionCondition: CONDITION,
  destination: 'test.alice.bob',
  data: Buffer.from('hello')
}

/** ilp-packet's encoding of a Prepare, the reference for every byte. */
function serialize (fields: Partial<Fields> = {}): Buffer {
  const f = { ...FIELDS, ...fields }
  return serializeIlpPrepare({
    amount: f.amount.toString(),
    expiresAt: new Date(f.expiresAt),
    executionCondition: f.executionCondition,
    destination: f.destination,
    data: f.data
  })
}

/** An OER length prefix: one byte below 128, else 0x80 | count followed by the length in big-endian bytes. */
function lengthPrefix (length: number): Buffer {
  if (length < 0x80) return Buffer.from([length])
  const bytes: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function varOctets (content: Buffer): Buffer {
  return Buffer.concat([lengthPrefix(content.length), content])
}

/** A Prepare built field by field, so tests can put in what ilp-packet would never write. */
function handmade (opts: { amount?: bigint, timestamp?: string, destination?: string, data?: Buffer, afterData?: Buffer } = {}): Buffer {
  const amount = Buffer.alloc(8)
  amount.writeBigUInt64BE(opts.amount ?? FIELDS.amount)
  const contents = Buffer.concat([
    amount,
    Buffer.from(opts.timestamp ?? '20260115123045123', 'ascii'),
    CONDITION,
    varOctets(Buffer.from(opts.destination ?? FIELDS.destination, 'ascii')),
    varOctets(opts.data ?? FIELDS.data),
    opts.afterData ?? Buffer.alloc(0)
  ])
  return Buffer.concat([Buffer.from([12]), varOctets(contents)])
}

function f01 (raw: Buffer, message: string | RegExp): void {
  let error: unknown
  try {
    parsePrepare(raw)
  } catch (err) {
    error = err
  }
  expect(error, 'parsePrepare should throw').to.be.instanceOf(IlpCodecError)
  expect(error).to.be.instanceOf(InvalidPacketError)
  const err = error as InvalidPacketError
  expect(err.ilpErrorCode).to.equal('F01')
  if (typeof message === 'string') expect(err.message).to.equal(message)
  else expect(err.message).to.match(message)
}

describe('packet', () => {
  describe('parsePrepare', () => {
    it('rejects a destination with a non-ASCII byte (it must not read as a valid address)', () => {
      const raw = handmade({ destination: 'test.ai' })
      const at = raw.indexOf(Buffer.from('test.ai', 'ascii'))
      raw[at + 6] = 0xe9 // 'i' with the high bit set: 'ascii' decoding would read it back as 'i'
      f01(raw, 'packet has an invalid destination address.')
    })

    it('rejects non-canonical length prefixes, which the next hop could not parse', () => {
      const raw = handmade({ data: Buffer.from('abc') })
      // the data length 3 written in long form: 0x81 0x03
      const dataStart = raw.length - 4
      const longForm = Buffer.concat([raw.subarray(0, dataStart), Buffer.from([0x81, 0x03]), raw.subarray(dataStart + 1)])
      longForm[1] = longForm[1]! + 1 // the envelope grew by one byte
      f01(longForm, 'packet has a non-canonical length prefix.')
      // the envelope length in long form
      const contents = raw.subarray(2)
      f01(Buffer.concat([Buffer.from([12, 0x81, contents.length]), contents]), 'packet has a non-canonical length prefix.')
    })

    it('builds the same bytes by hand as ilp-packet (sanity check of the test encoder)', () => {
      expect(handmade().equals(serialize())).to.equal(true)
      expect(handmade({ data: Buffer.alloc(300, 1) }).equals(serialize({ data: Buffer.alloc(300, 1) }))).to.equal(true)
    })

    it('reads back every field ilp-packet wrote: amount as bigint, expiresAt in ms, condition, destination, data', () => {
      const raw = serialize()
      const prepare = parsePrepare(raw)
      expect(prepare.amount).to.equal(107n)
      expect(prepare.expiresAt).to.equal(EXPIRES_AT)
      expect(prepare.executionCondition.equals(CONDITION)).to.equal(true)
      expect(prepare.destination).to.equal('test.alice.bob')
      expect(prepare.data.toString()).to.equal('hello')
      expect(prepare.raw).to.equal(raw)
    })

    it('returns condition and data as views into the received bytes, not copies', () => {
      const raw = serialize()
      const prepare = parsePrepare(raw)
      raw[raw.length - 1] = 0x21 // the last byte of data: 'hello' -> 'hell!'
      raw[2 + 8 + 17] = CONDITION[0]! ^ 0xff // the first byte of the condition
      expect(prepare.data.toString()).to.equal('hell!')
      expect(prepare.executionCondition[0]).to.equal(CONDITION[0]! ^ 0xff)
    })

    it('round-trips amounts 0 and 2^64-1', () => {
      expect(parsePrepare(serialize({ amount: 0n })).amount).to.equal(0n)
      expect(parsePrepare(serialize({ amount: MAX_UINT64 })).amount).to.equal(18446744073709551615n)
    })

    it('round-trips empty data', () => {
      expect(parsePrepare(serialize({ data: Buffer.alloc(0) })).data.length).to.equal(0)
    })

    it('reads a packet whose envelope has a one-byte long-form length prefix (0x81)', () => {
      const data = Buffer.alloc(100, 0xab)
      const raw = serialize({ data })
      expect(raw[1]).to.equal(0x81)
      const prepare = parsePrepare(raw)
      expect(prepare.data.equals(data)).to.equal(true)
      expect(prepare.amount).to.equal(107n)
      expect(prepare.destination).to.equal('test.alice.bob')
    })

    it('reads a packet whose envelope has a two-byte long-form length prefix (0x82)', () => {
      const data = Buffer.alloc(1000, 0xcd)
      const raw = serialize({ data, destination: 'test.' + 'x'.repeat(200) })
      expect(raw[1]).to.equal(0x82)
      const prepare = parsePrepare(raw)
      expect(prepare.data.equals(data)).to.equal(true)
      expect(prepare.destination).to.equal('test.' + 'x'.repeat(200))
      expect(prepare.expiresAt).to.equal(EXPIRES_AT)
    })

    it('accepts data of 32767 bytes', () => {
      expect(MAX_DATA_LENGTH).to.equal(32767)
      const data = Buffer.alloc(32767, 3)
      expect(parsePrepare(serialize({ data })).data.equals(data)).to.equal(true)
    })

    it('rejects data of 32768 bytes with F01', () => {
      f01(serialize({ data: Buffer.alloc(32768) }), 'packet data is too long. length=32768 maximum=32767')
    })

    it('rejects a Fulfill with F01 "invalid packet type received. type=13"', () => {
      const fulfill = serializeIlpFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(0) })
      f01(fulfill, 'invalid packet type received. type=13')
    })

    it('rejects a Reject with F01 "invalid packet type received. type=14"', () => {
      const reject = serializeIlpReject({ code: 'F00', triggeredBy: 'test.a', message: 'x', data: Buffer.alloc(0) })
      f01(reject, 'invalid packet type received. type=14')
    })

    it('rejects an empty buffer with F01', () => {
      f01(Buffer.alloc(0), 'invalid packet type received. type=undefined')
    })

    it('rejects trailing bytes after the envelope', () => {
      f01(Buffer.concat([serialize(), Buffer.from([0])]), 'packet has trailing bytes after its envelope.')
    })

    it('rejects trailing bytes inside the envelope after the data', () => {
      f01(handmade({ afterData: Buffer.from([1, 2]) }), 'packet has trailing bytes after its data.')
    })

    it('rejects a packet cut short at any length with F01', () => {
      const raw = serialize()
      for (let length = 1; length < raw.length; length++) {
        expect(() => parsePrepare(raw.subarray(0, length)), `length ${length}`).to.throw(InvalidPacketError)
      }
      f01(raw.subarray(0, raw.length - 1), 'packet is truncated.')
      f01(raw.subarray(0, 1), 'packet is truncated.')
    })

    it('rejects an envelope whose length covers less than the fixed fields', () => {
      const raw = serialize()
      const short = Buffer.concat([Buffer.from([12, 20]), raw.subarray(2, 22)])
      f01(short, 'packet is truncated.')
    })

    it('rejects a destination length that runs past the end', () => {
      const raw = handmade()
      const destinationPrefix = 2 + 8 + 17 + 32
      const bad = Buffer.from(raw)
      bad[destinationPrefix] = 100
      f01(bad, 'packet is truncated.')
    })

    it('rejects a data length that runs past the end', () => {
      const raw = handmade({ data: Buffer.from('abc') })
      const bad = Buffer.from(raw)
      bad[raw.length - 4] = 4 // data length prefix claims 4 bytes, 3 follow
      f01(bad, 'packet is truncated.')
    })

    it('rejects long-form length prefixes with no length bytes (0x80) or more than 3 (0x84)', () => {
      f01(Buffer.from([12, 0x80]), 'packet has an invalid length prefix.')
      f01(Buffer.concat([Buffer.from([12, 0x84, 0, 0, 0, 60]), Buffer.alloc(60)]), 'packet has an invalid length prefix.')
    })

    for (const [timestamp, why] of [
      ['20261301000000000', 'month 13'],
      ['20260001000000000', 'month 0'],
      ['20260100000000000', 'day 0'],
      ['20260431000000000', '31 April'],
      ['20260229120000000', '29 February of a common year'],
      ['21000229120000000', '29 February 2100 (not a leap year)'],
      ['20260115240000000', 'hour 24'],
      ['20260115126000000', 'minute 60'],
      ['20260115125960000', 'second 60'],
      ['2026011512304512a', 'a letter'],
      ['2026-01-15T12:30Z', 'ISO text'],
      ['                 ', 'spaces']
    ] as const) {
      it(`rejects an invalid expiry "${timestamp}" (${why}) with F01`, () => {
        f01(handmade({ timestamp }), 'packet has an invalid expiry.')
      })
    }

    it('accepts 29 February of a leap year', () => {
      expect(parsePrepare(handmade({ timestamp: '20280229235959999' })).expiresAt).to.equal(Date.UTC(2028, 1, 29, 23, 59, 59, 999))
      expect(parsePrepare(handmade({ timestamp: '20000229000000000' })).expiresAt).to.equal(Date.UTC(2000, 1, 29))
    })

    for (const destination of ['foo', 'test.', '', 'test..a', 'test.a b', '.test']) {
      it(`rejects the invalid destination ${JSON.stringify(destination)} with F01`, () => {
        f01(handmade({ destination }), 'packet has an invalid destination address.')
      })
    }

    it('accepts destinations in every allocation scheme and with all allowed characters', () => {
      for (const destination of ['g.a', 'private.a', 'example.a', 'peer.config', 'self.a', 'local.a', 'test1.x', 'test.A-z_0~9.b']) {
        expect(parsePrepare(handmade({ destination })).destination).to.equal(destination)
      }
    })
  })

  describe('patchPrepare', () => {
    it('changes only amount and expiry: the result equals ilp-packet serializing the changed packet', () => {
      const raw = serialize()
      const newExpiry = Date.UTC(2026, 0, 15, 12, 30, 44, 7)
      const patched = patchPrepare(raw, 99n, newExpiry)
      expect(patched.equals(serialize({ amount: 99n, expiresAt: newExpiry }))).to.equal(true)
    })

    it('patches a packet with a long-form envelope length prefix at the right offset', () => {
      const fields = { data: Buffer.alloc(1000, 9), destination: 'test.' + 'y'.repeat(100) }
      const raw = serialize(fields)
      expect(raw[1]).to.equal(0x82)
      const newExpiry = Date.UTC(2027, 11, 31, 23, 59, 59, 999)
      const patched = patchPrepare(raw, MAX_UINT64, newExpiry)
      expect(patched.equals(serialize({ ...fields, amount: MAX_UINT64, expiresAt: newExpiry }))).to.equal(true)
      const parsed = parsePrepare(patched)
      expect(parsed.amount).to.equal(MAX_UINT64)
      expect(parsed.expiresAt).to.equal(newExpiry)
    })

    it('patches a packet with a one-byte long-form prefix', () => {
      const raw = serialize({ data: Buffer.alloc(100, 1) })
      expect(raw[1]).to.equal(0x81)
      const patched = patchPrepare(raw, 0n, EXPIRES_AT - 1000)
      expect(patched.equals(serialize({ data: Buffer.alloc(100, 1), amount: 0n, expiresAt: EXPIRES_AT - 1000 }))).to.equal(true)
    })

    it('does not modify the source buffer', () => {
      const raw = serialize()
      const copy = Buffer.from(raw)
      const patched = patchPrepare(raw, 1n, EXPIRES_AT + 5000)
      expect(raw.equals(copy)).to.equal(true)
      expect(patched).to.not.equal(raw)
      expect(patched.equals(raw)).to.equal(false)
    })
  })

  describe('serializePrepare', () => {
    it('returns the received bytes of a parsed Prepare', () => {
      const raw = serialize()
      expect(serializePrepare(parsePrepare(raw))).to.equal(raw)
    })

    it('encodes a Prepare without raw bytes exactly as ilp-packet does', () => {
      const { amount, expiresAt, executionCondition, destination, data } = FIELDS
      expect(serializePrepare({ amount, expiresAt, executionCondition, destination, data }).equals(serialize())).to.equal(true)
      expect(serializePrepare({ ...FIELDS, amount: MAX_UINT64 }).equals(serialize({ amount: MAX_UINT64 }))).to.equal(true)
    })

    it('throws a RangeError for amounts outside UInt64', () => {
      expect(() => serializePrepare({ ...FIELDS, amount: -1n })).to.throw(RangeError, 'amount is not a UInt64')
      expect(() => serializePrepare({ ...FIELDS, amount: MAX_UINT64 + 1n })).to.throw(RangeError, 'amount is not a UInt64')
    })
  })

  describe('properties', () => {
    const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b))
    const data = fc.oneof(bytes(0, 200), fc.constant(Buffer.alloc(MAX_DATA_LENGTH, 1)))

    it('a Prepare with any valid fields (any expiry 0000-9999) is written and read back as it was', () => {
      fc.assert(fc.property(fc.record({
        amount: fc.bigInt({ min: 0n, max: MAX_UINT64 }),
        expiresAt: fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME }),
        executionCondition: bytes(32, 32),
        destination: ilpAddress,
        data
      }), (f) => {
        const raw = serializePrepare(f)
        expect(parsePrepare(raw)).to.deep.equal({ ...f, raw })
        expect(readPrepareHead(raw)).to.deep.equal({ destination: f.destination, expiresAt: f.expiresAt, executionCondition: f.executionCondition })
      }), { numRuns: 300 })
    })

    it('patchPrepare writes exactly what serializing the changed Prepare writes', () => {
      fc.assert(fc.property(ilpAddress, bytes(0, 300), fc.bigInt({ min: 0n, max: MAX_UINT64 }), fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME }), (destination, d, amount, expiresAt) => {
        const f = { amount: 5n, expiresAt: EXPIRES_AT, executionCondition: CONDITION, destination, data: d }
        expect(patchPrepare(serializePrepare(f), amount, expiresAt).equals(serializePrepare({ ...f, amount, expiresAt }))).to.equal(true)
      }), { numRuns: 300 })
    })

    it('Fulfills and Rejects with any valid fields are written and read back as they were', () => {
      fc.assert(fc.property(bytes(32, 32), data, (fulfillment, d) => {
        expect(parseFulfill(serializeFulfill({ fulfillment, data: d }))).to.deep.equal({ fulfillment, data: d })
      }), { numRuns: 200 })
      const code = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), minLength: 3, maxLength: 3 })
      fc.assert(fc.property(code, fc.oneof(ilpAddress, fc.constant('')), fc.string({ unit: 'grapheme', maxLength: 50 }), data, (c, triggeredBy, message, d) => {
        const fields = { code: c, triggeredBy, message, data: d }
        const reject = serializeReject(fields)
        expect(parseReject(reject)).to.deep.equal(fields)
        expect(rejectCodeOf(reject)).to.equal(c)
        expect(isWellFormedReply(reject)).to.equal(true)
      }), { numRuns: 200 })
    })
  })

  describe('readPrepareHead', () => {
    it('reads destination, expiry and condition as parsePrepare does, without reading amount or data', () => {
      const raw = serialize()
      const head = readPrepareHead(raw)
      expect(head).to.deep.equal({ destination: 'test.alice.bob', expiresAt: EXPIRES_AT, executionCondition: CONDITION })
      // data that parsePrepare would refuse is not looked at
      const bad = handmade({ afterData: Buffer.from([1]) })
      expect(readPrepareHead(bad).destination).to.equal('test.alice.bob')
      expect(() => parsePrepare(bad)).to.throw(IlpCodecError, 'packet has trailing bytes after its data.')
    })

    it('refuses what parsePrepare refuses in the head, with the same messages', () => {
      const raw = handmade({ destination: 'test.ai' })
      raw[raw.indexOf(Buffer.from('test.ai', 'ascii')) + 6] = 0xe9
      expect(() => readPrepareHead(raw)).to.throw(IlpCodecError, 'packet has an invalid destination address.')
      expect(() => readPrepareHead(handmade({ timestamp: '20261301000000000' }))).to.throw(IlpCodecError, 'packet has an invalid expiry.')
      expect(() => readPrepareHead(Buffer.concat([serialize(), Buffer.of(0)]))).to.throw(IlpCodecError, 'packet has trailing bytes after its envelope.')
    })
  })

  describe('Fulfill', () => {
    it('serializes a Fulfill whose fields read back (as views), byte for byte as ilp-packet writes it', () => {
      const fulfillment = Buffer.alloc(32, 9)
      const fulfill = serializeFulfill({ fulfillment, data: Buffer.from('hi') })
      expect(fulfill.equals(serializeIlpFulfill({ fulfillment, data: Buffer.from('hi') }))).to.equal(true)
      expect(isFulfill(fulfill)).to.equal(true)
      expect(isReject(fulfill)).to.equal(false)
      expect(fulfillmentOf(fulfill).equals(fulfillment)).to.equal(true)
      const parsed = parseFulfill(fulfill)
      expect(parsed.fulfillment.equals(fulfillment)).to.equal(true)
      expect(parsed.data.toString()).to.equal('hi')
      fulfill[fulfill.length - 1] = 0x6f // 'i' -> 'o' in the packet shows in the parsed data
      expect(parsed.data.toString()).to.equal('ho')
    })

    it('refuses trailing bytes, truncation, long data and another type with F01', () => {
      const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.from('abc') })
      expect(() => parseFulfill(Buffer.concat([fulfill, Buffer.of(0)]))).to.throw(IlpCodecError, 'packet has trailing bytes after its envelope.')
      const inner = Buffer.concat([Buffer.of(13, fulfill[1]! + 1), fulfill.subarray(2), Buffer.of(0)])
      expect(() => parseFulfill(inner)).to.throw(IlpCodecError, 'packet has trailing bytes after its data.')
      for (let n = 0; n < fulfill.length; n++) expect(() => parseFulfill(fulfill.subarray(0, n)), `${n} bytes`).to.throw(IlpCodecError)
      const long = Buffer.concat([Buffer.of(13), lengthPrefix(32 + 3 + 32768), Buffer.alloc(32), lengthPrefix(32768), Buffer.alloc(32768)])
      expect(() => parseFulfill(long)).to.throw(IlpCodecError, 'packet data is too long. length=32768 maximum=32767')
      expect(() => parseFulfill(serialize())).to.throw(IlpCodecError, 'invalid packet type received. type=12')
    })

    it('refuses to serialize a fulfillment that is not 32 bytes or data over 32767 bytes (RangeError)', () => {
      expect(() => serializeFulfill({ fulfillment: Buffer.alloc(31), data: Buffer.alloc(0) })).to.throw(RangeError)
      expect(() => serializeFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(32768) })).to.throw(RangeError)
    })
  })

  describe('Reject', () => {
    it('serializes a Reject that reads back field for field', () => {
      const data = Buffer.alloc(300, 7) // long enough to need a long-form length prefix
      const reject = serializeReject({ code: 'T04', triggeredBy: 'test.conn', message: 'exceeded maximum balance. ✓', data })
      expect(isReject(reject)).to.equal(true)
      expect(isFulfill(reject)).to.equal(false)
      expect(rejectCodeOf(reject)).to.equal('T04')
      expect(parseReject(reject)).to.deep.equal({ code: 'T04', triggeredBy: 'test.conn', message: 'exceeded maximum balance. ✓', data })
    })

    it('encodes a Reject byte for byte as ilp-packet does (its test vector)', () => {
      const reject = serializeReject({ code: 'F99', triggeredBy: 'example.bob', message: 'Some error', data: Buffer.from('050403020100', 'hex') })
      expect(reject.toString('hex')).to.equal('0e214639390b6578616d706c652e626f620a536f6d65206572726f7206050403020100')
    })

    it('reads an empty triggeredBy (ilp-packet allows it too)', () => {
      expect(parseReject(serializeReject({ code: 'F02', triggeredBy: '', message: '', data: Buffer.alloc(0) })).triggeredBy).to.equal('')
    })

    it('refuses a triggeredBy with a byte of 0x80 or more, which ascii decoding would turn into a valid address', () => {
      const reject = serializeReject({ code: 'F02', triggeredBy: 'test.ai', message: 'x', data: Buffer.alloc(0) })
      reject[reject.indexOf(Buffer.from('test.ai')) + 6] = 0xe9
      expect(() => parseReject(reject)).to.throw(IlpCodecError, 'packet has an invalid triggeredBy address.')
    })

    it('refuses an invalid triggeredBy, a non-ASCII code, truncation and trailing bytes with F01', () => {
      const bad = Buffer.concat([Buffer.of(14, 3 + 5 + 1 + 1), Buffer.from('F02'), lengthPrefix(4), Buffer.from('test'), Buffer.of(0, 0)])
      expect(() => parseReject(bad)).to.throw(IlpCodecError, 'packet has an invalid triggeredBy address.')
      const reject = serializeReject({ code: 'F02', triggeredBy: 'test.a', message: 'x', data: Buffer.alloc(0) })
      const code = Buffer.from(reject)
      code[2] = 0xc6 // 'F' with the high bit set
      expect(() => parseReject(code)).to.throw(IlpCodecError, 'packet has an invalid error code.')
      for (let n = 0; n < reject.length; n++) expect(() => parseReject(reject.subarray(0, n)), `${n} bytes`).to.throw(IlpCodecError)
      expect(() => parseReject(Buffer.concat([reject, Buffer.of(0)]))).to.throw(IlpCodecError, 'packet has trailing bytes after its envelope.')
    })

    it('refuses to serialize a code that is not three ASCII characters or data over 32767 bytes (RangeError)', () => {
      const fields = { code: 'F02', triggeredBy: 'test.a', message: '', data: Buffer.alloc(0) }
      expect(() => serializeReject({ ...fields, code: 'F2' })).to.throw(RangeError)
      expect(() => serializeReject({ ...fields, code: 'F0é' })).to.throw(RangeError)
      expect(() => serializeReject({ ...fields, data: Buffer.alloc(32768) })).to.throw(RangeError)
    })

    it('writes any triggeredBy as given (a connector without an address says "unknown"); reading it back is refused', () => {
      const reject = serializeReject({ code: 'F01', triggeredBy: 'unknown', message: 'm', data: Buffer.alloc(0) })
      expect(serializeIlpReject({ code: 'F01', triggeredBy: 'unknown', message: 'm', data: Buffer.alloc(0) }).equals(reject)).to.equal(true)
      expect(() => parseReject(reject)).to.throw(IlpCodecError, 'packet has an invalid triggeredBy address.')
    })
  })

  describe('isWellFormedReply', () => {
    it('accepts a Fulfill or Reject whose envelope length matches its bytes, and nothing else', () => {
      const fulfill = serializeFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(200) })
      const reject = serializeReject({ code: 'F02', triggeredBy: 'test.a', message: 'x', data: Buffer.alloc(0) })
      expect(isWellFormedReply(fulfill)).to.equal(true)
      expect(isWellFormedReply(reject)).to.equal(true)
      expect(isWellFormedReply(serialize())).to.equal(false)
      expect(isWellFormedReply(fulfill.subarray(0, fulfill.length - 1))).to.equal(false)
      expect(isWellFormedReply(Buffer.concat([reject, Buffer.of(0)]))).to.equal(false)
      expect(isWellFormedReply(Buffer.of(13, 0x81, 5, 1, 2, 3, 4, 5))).to.equal(false) // non-canonical
      expect(isWellFormedReply('a string')).to.equal(false)
      expect(isWellFormedReply(undefined)).to.equal(false)
    })
  })

  describe('envelopeContentsOffset', () => {
    it('is 2 after a short length and 2 + n after a long one of n bytes', () => {
      const short = serializeFulfill({ fulfillment: Buffer.alloc(32, 1), data: Buffer.alloc(0) })
      const long = serializeFulfill({ fulfillment: Buffer.alloc(32, 1), data: Buffer.alloc(300) })
      expect(envelopeContentsOffset(short)).to.equal(2)
      expect(envelopeContentsOffset(long)).to.equal(4)
      expect(long.subarray(envelopeContentsOffset(long), envelopeContentsOffset(long) + 32).equals(Buffer.alloc(32, 1))).to.equal(true)
      expect(envelopeContentsOffset(Buffer.of(13, 0x82, 3, 0xe8))).to.equal(4)
    })
  })
})
