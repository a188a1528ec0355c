/**
 * Differential tests against the libraries this codec replaces: ilp-packet 3.1.3 and ilp-protocol-ildcp 2.2.3.
 * On valid input both must agree field for field and byte for byte, in both directions. On mutated input
 * (truncations, byte flips, changed length prefixes, bytes appended after or inside the envelope) ours throws
 * nothing but an IlpCodecError; whatever ours accepts the library accepts with the same fields; and where the
 * library accepts what ours refuses, the case must fall in one of the categories listed in the README, each
 * checked here independently of the message ours gave.
 */
import { expect } from 'chai'
import fc from 'fast-check'
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import type { IlpFulfillFields, IlpPrepare, IlpRejectFields } from '@conn/types'
import {
  IlpCodecError, MAX_UINT64, parseFulfill, parseIldcpResponse, parsePrepare, parseReject, readIldcpReply,
  serializeFulfill, serializeIldcpRequest, serializeIldcpResponse, serializePrepare, serializeReject, serveIldcp
} from '../src/index.ts'
import { ilpAddress } from './arbitraries.ts'

const RUNS = 300
const MUTATED_RUNS = 1500

// ---- independent helpers -------------------------------------------------------------------------

function prefixSize (length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 4
}

function prefix (length: number): Buffer {
  if (length < 0x80) return Buffer.of(length)
  const bytes: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** The contents of a packet with a canonical envelope. */
function contentsOf (packet: Buffer): Buffer {
  return packet.subarray(1 + prefixSize(packet.length - 1 - prefixSize(packet.length - 1)))
}

function wrap (type: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.of(type), prefix(contents.length), contents])
}

/** A real UTC calendar time in 17 digits: what RFC 27 allows; ilp-packet rolls impossible dates over instead. */
function isRealTimestamp (bytes: Buffer): boolean {
  const text = bytes.toString('latin1')
  if (!/^[0-9]{17}$/.test(text)) return false
  const n = (from: number, to: number): number => Number(text.slice(from, to))
  const date = new Date(0)
  date.setUTCFullYear(n(0, 4), n(4, 6) - 1, n(6, 8))
  date.setUTCHours(n(8, 10), n(10, 12), n(12, 14), n(14, 17))
  return date.getUTCFullYear() === n(0, 4) && date.getUTCMonth() === n(4, 6) - 1 && date.getUTCDate() === n(6, 8) &&
    date.getUTCHours() === n(8, 10) && date.getUTCMinutes() === n(10, 12) && date.getUTCSeconds() === n(12, 14)
}

const hasHighByte = (bytes: Buffer): boolean => bytes.some((b) => b >= 0x80)

// ---- what ours and theirs make of bytes -----------------------------------------------------------

type Outcome<T> = { ok: true, value: T } | { ok: false, error: unknown }

function attempt<T> (fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** Ours may only ever throw its typed error. */
function ours<T> (fn: () => T): Outcome<T> {
  const outcome = attempt(fn)
  if (!outcome.ok) {
    expect(outcome.error, String(outcome.error)).to.be.instanceOf(IlpCodecError)
    expect((outcome.error as IlpCodecError).ilpErrorCode).to.equal('F01')
  }
  return outcome
}

/** The categories where conn refuses what ilp-packet accepts (the README lists them). */
const seen = new Map<string, number>()
function stricter (category: string): void {
  seen.set(category, (seen.get(category) ?? 0) + 1)
}

/** Where ours refused a packet the library read: the reason must be one of the documented categories. */
function explainRefusal (raw: Buffer, error: IlpCodecError, fields: Record<string, Buffer | undefined>): void {
  const message = error.message
  const contentsStart = 1 + prefixSize(raw.length - 1 - prefixSize(raw.length - 1))
  if (message === 'packet has trailing bytes after its envelope.') {
    expect(fieldAt(raw, 1)![1]).to.be.lessThan(raw.length) // the envelope ends before the bytes do
    stricter('trailing bytes after the envelope')
  } else if (message === 'packet has trailing bytes after its data.') {
    expect(fields.data).to.not.equal(undefined)
    stricter('trailing bytes inside the envelope, after the data')
  } else if (message.startsWith('packet data is too long.')) {
    expect(fields.data!.length).to.be.greaterThan(32767)
    stricter('data over 32767 bytes')
  } else if (message === 'packet has an invalid expiry.') {
    expect(isRealTimestamp(raw.subarray(contentsStart + 8, contentsStart + 25))).to.equal(false)
    stricter('expiry that is not a real calendar time in 17 digits (ilp-packet rolls 31 April over to 1 May, reads "+1" or " 1" as 1)')
  } else if (message === 'packet has an invalid destination address.') {
    expect(hasHighByte(fields.destination!)).to.equal(true)
    stricter('address with a byte of 0x80 or more (ilp-packet decodes as ascii, which clears the high bit)')
  } else if (message === 'packet has an invalid triggeredBy address.') {
    expect(hasHighByte(fields.triggeredBy!)).to.equal(true)
    stricter('address with a byte of 0x80 or more (ilp-packet decodes as ascii, which clears the high bit)')
  } else if (message === 'packet has an invalid error code.') {
    expect(hasHighByte(fields.code!)).to.equal(true)
    stricter('reject code with a byte of 0x80 or more')
  } else {
    expect.fail(`ours refused what ilp-packet read, for an undocumented reason: ${message} (${raw.toString('hex')})`)
  }
}

// ---- arbitraries ----------------------------------------------------------------------------------

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b))
const data = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 100, maxLength: 300 }) // across the 128-byte boundary of the long form
).map((b) => Buffer.from(b))
// years 1000-9999: ilp-packet writes years below 1000 without padding (16 digits or fewer)
// and not the epoch itself, which ilp-packet refuses ("invalid date": it tests the time for truthiness)
const expiresAt = fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }).filter((t) => t !== 0)
const amount = fc.oneof(fc.bigInt({ min: 0n, max: MAX_UINT64 }), fc.constantFrom(0n, MAX_UINT64, 1n))

const prepareFields = fc.record({ amount, expiresAt, executionCondition: bytes32, destination: ilpAddress, data })
const fulfillFields = fc.record({ fulfillment: bytes32, data })
const rejectFields = fc.record({
  code: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 3, maxLength: 3 }),
  triggeredBy: fc.oneof(ilpAddress, fc.constant('')),
  message: fc.string({ unit: 'grapheme', maxLength: 30 }),
  data
})

/** A packet, the offsets (within its contents) of its length-prefixed fields, and of its timestamp if it has one. */
interface Sample { raw: Buffer, prefixes: number[], timestamp?: number }

function prepareSample (f: Omit<IlpPrepare, 'raw'>): Sample {
  const raw = IlpPacket.serializeIlpPrepare({ ...f, amount: f.amount.toString(), expiresAt: new Date(f.expiresAt) })
  return { raw, prefixes: [57, 57 + prefixSize(f.destination.length) + f.destination.length], timestamp: 8 }
}

function fulfillSample (f: IlpFulfillFields): Sample {
  return { raw: IlpPacket.serializeIlpFulfill(f), prefixes: [32] }
}

function rejectSample (f: IlpRejectFields): Sample {
  const raw = IlpPacket.serializeIlpReject(f)
  const message = 3 + prefixSize(f.triggeredBy.length) + f.triggeredBy.length
  const messageLength = Buffer.byteLength(f.message)
  return { raw, prefixes: [3, message, message + prefixSize(messageLength) + messageLength] }
}

/** A length prefix in another form: off by one, in the other form, non-canonical, 0x80, too many length bytes, any byte. */
function otherPrefix (length: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.constantFrom(prefix(length + 1), prefix(Math.max(0, length - 1)), prefix(length + 128), prefix(length ^ 0x80)),
    fc.constant(length < 0x80 ? Buffer.of(0x81, length) : Buffer.concat([Buffer.of(0x80 | (prefixSize(length))), Buffer.of(0), prefix(length).subarray(1)])),
    fc.constantFrom(Buffer.of(0x80), Buffer.of(0x84, 0, 0, 0, length & 0xff)),
    fc.integer({ min: 0, max: 255 }).map((b) => Buffer.of(b))
  )
}

/** 17 characters that might pass for a timestamp: digits, and what Number() also reads (sign, space, point, e). */
const timestampLike = fc.string({ unit: fc.constantFrom(...'0123456789012345678901234567890123456789 +-.e'), minLength: 17, maxLength: 17 })

/** Every kind of damage to a valid packet. */
function mutated (sample: Sample): fc.Arbitrary<Buffer> {
  const { raw, prefixes, timestamp } = sample
  const type = raw[0]!
  const contents = contentsOf(raw)
  const timestamps = timestamp === undefined
    ? []
    : [timestampLike.map((text) => {
        const c = Buffer.from(contents)
        c.write(text, timestamp, 'latin1')
        return wrap(type, c)
      })]
  return fc.oneof(
    ...timestamps,
    fc.nat(raw.length - 1).map((n) => raw.subarray(0, n)),
    fc.tuple(fc.nat(raw.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
      const b = Buffer.from(raw)
      b[at]! ^= x
      return b
    }),
    fc.tuple(fc.nat(contents.length - 1), fc.integer({ min: 0x80, max: 0xff })).map(([at, byte]) => {
      const c = Buffer.from(contents)
      c[at] = byte // a high byte anywhere, with the envelope intact
      return wrap(type, c)
    }),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((extra) => Buffer.concat([raw, extra])),
    fc.uint8Array({ minLength: 1, maxLength: 4 }).map((extra) => wrap(type, Buffer.concat([contents, extra]))),
    otherPrefix(contents.length).map((p) => Buffer.concat([Buffer.of(type), p, contents])),
    fc.constantFrom(...prefixes).chain((at) => {
      const length = readFieldLength(contents, at)
      return otherPrefix(length).map((p) => wrap(type, Buffer.concat([contents.subarray(0, at), p, contents.subarray(at + prefixSize(length))])))
    })
  )
}

function readFieldLength (contents: Buffer, at: number): number {
  const first = contents[at]!
  return first < 0x80 ? first : contents.readUIntBE(at + 1, first & 0x7f)
}

/** The var-octets field at `at` of `buf`, read as ilp-packet would (for explaining a refusal), or undefined. */
function fieldAt (buf: Buffer, at: number): [Buffer, number] | undefined {
  const first = buf[at]
  if (first === undefined) return undefined
  const size = first < 0x80 ? 0 : first & 0x7f
  if (at + 1 + size > buf.length) return undefined
  const length = size === 0 ? first : buf.readUIntBE(at + 1, Math.min(size, 6))
  const start = at + 1 + size
  return [buf.subarray(start, start + length), start + length]
}

/** The fields as ilp-packet's reader sees them in `raw`, for checking a refusal against what is really there. */
function fieldsAsRead (raw: Buffer): Record<string, Buffer | undefined> {
  const contents = fieldAt(raw, 1)?.[0]
  if (contents === undefined) return {}
  if (raw[0] === 12) {
    const destination = fieldAt(contents, 57)
    return { destination: destination?.[0], data: destination === undefined ? undefined : fieldAt(contents, destination[1])?.[0] }
  }
  if (raw[0] === 13) return { data: fieldAt(contents, 32)?.[0] }
  const triggeredBy = fieldAt(contents, 3)
  const message = triggeredBy === undefined ? undefined : fieldAt(contents, triggeredBy[1])
  return {
    code: contents.subarray(0, 3),
    triggeredBy: triggeredBy?.[0],
    data: message === undefined ? undefined : fieldAt(contents, message[1])?.[0]
  }
}

// ---- the tests ------------------------------------------------------------------------------------

describe('differential: ilp-packet 3.1.3', () => {
  after(() => {
    // The categories met on mutated input (every one is listed in the README).
    if (process.env.CODEC_CATEGORIES === '1') console.log(Object.fromEntries(seen))
  })

  describe('valid packets', () => {
    it('Prepare: the same bytes both ways, and each reads what the other wrote', () => {
      fc.assert(fc.property(prepareFields, (f) => {
        const theirs = IlpPacket.serializeIlpPrepare({ ...f, amount: f.amount.toString(), expiresAt: new Date(f.expiresAt) })
        expect(serializePrepare(f).equals(theirs)).to.equal(true)
        const parsed = parsePrepare(theirs)
        expect({ ...parsed, raw: undefined }).to.deep.equal({ ...f, raw: undefined })
        const read = IlpPacket.deserializeIlpPrepare(serializePrepare(f))
        expect(read.amount).to.equal(f.amount.toString())
        expect(read.expiresAt.getTime()).to.equal(f.expiresAt)
        expect(read.destination).to.equal(f.destination)
        expect(read.executionCondition.equals(f.executionCondition)).to.equal(true)
        expect(read.data.equals(f.data)).to.equal(true)
      }), { numRuns: RUNS })
    })

    it('Fulfill: the same bytes both ways, and each reads what the other wrote', () => {
      fc.assert(fc.property(fulfillFields, (f) => {
        const theirs = IlpPacket.serializeIlpFulfill(f)
        expect(serializeFulfill(f).equals(theirs)).to.equal(true)
        expect(parseFulfill(theirs)).to.deep.equal(f)
        expect(IlpPacket.deserializeIlpFulfill(serializeFulfill(f))).to.deep.equal(f)
      }), { numRuns: RUNS })
    })

    it('Reject: the same bytes both ways, and each reads what the other wrote', () => {
      fc.assert(fc.property(rejectFields, (f) => {
        const theirs = IlpPacket.serializeIlpReject(f)
        expect(serializeReject(f).equals(theirs)).to.equal(true)
        expect(parseReject(theirs)).to.deep.equal(f)
        expect(IlpPacket.deserializeIlpReject(serializeReject(f))).to.deep.equal(f)
      }), { numRuns: RUNS })
    })

    it('the largest fields: data of 32767 bytes and a 1023-character destination', () => {
      const f = { amount: MAX_UINT64, expiresAt: Date.UTC(2030, 0, 1), executionCondition: Buffer.alloc(32, 1), destination: 'g.' + 'a'.repeat(1021), data: Buffer.alloc(32767, 2) }
      const theirs = IlpPacket.serializeIlpPrepare({ ...f, amount: f.amount.toString(), expiresAt: new Date(f.expiresAt) })
      expect(serializePrepare(f).equals(theirs)).to.equal(true)
      expect(parsePrepare(theirs).data.equals(f.data)).to.equal(true)
    })
  })

  describe('mutated packets', () => {
    function check<T> (sample: fc.Arbitrary<Sample>, parse: (raw: Buffer) => T, theirsParse: (raw: Buffer) => unknown, same: (ours: T, theirs: any, raw: Buffer) => void, serialize: (value: T) => Buffer): void {
      fc.assert(fc.property(sample.chain((s) => mutated(s)), (raw) => {
        const mine = ours(() => parse(raw))
        const theirs = attempt(() => theirsParse(raw))
        if (mine.ok) {
          // what ours reads is canonical: written again, it is the same bytes (except a message that is not UTF-8,
          // read with U+FFFD in place of the bad bytes, as ilp-packet reads it)
          const message = (mine.value as { message?: string }).message
          if (message === undefined || !message.includes('\ufffd')) expect(serialize(mine.value).equals(raw), raw.toString('hex')).to.equal(true)
          expect(theirs.ok, 'ilp-packet refused what ours read: ' + raw.toString('hex')).to.equal(true)
          if (theirs.ok) same(mine.value, theirs.value, raw)
        } else if (theirs.ok) {
          explainRefusal(raw, mine.error as IlpCodecError, fieldsAsRead(raw))
        }
      }), { numRuns: MUTATED_RUNS })
    }

    it('Prepare: ours throws only IlpCodecError, accepts only what ilp-packet accepts, and reads it the same', () => {
      check(prepareFields.map(prepareSample), parsePrepare, IlpPacket.deserializeIlpPrepare, (mine, theirs: IlpPacket.IlpPrepare) => {
        expect(mine.amount.toString()).to.equal(theirs.amount)
        if (new Date(mine.expiresAt).getUTCFullYear() >= 100) expect(mine.expiresAt).to.equal(theirs.expiresAt.getTime())
        else expect(theirs.expiresAt.getUTCFullYear()).to.equal(1900 + new Date(mine.expiresAt).getUTCFullYear())
        expect(mine.destination).to.equal(theirs.destination)
        expect(mine.executionCondition.equals(theirs.executionCondition)).to.equal(true)
        expect(mine.data.equals(theirs.data)).to.equal(true)
      }, (p) => serializePrepare({ ...p, raw: undefined }))
    })

    it('Fulfill: ours throws only IlpCodecError, accepts only what ilp-packet accepts, and reads it the same', () => {
      check(fulfillFields.map(fulfillSample), parseFulfill, IlpPacket.deserializeIlpFulfill, (mine, theirs: IlpFulfillFields) => {
        expect(mine).to.deep.equal(theirs)
      }, serializeFulfill)
    })

    it('Reject: ours throws only IlpCodecError, accepts only what ilp-packet accepts, and reads it the same', () => {
      check(rejectFields.map(rejectSample), parseReject, IlpPacket.deserializeIlpReject, (mine, theirs: IlpRejectFields) => {
        expect(mine).to.deep.equal(theirs)
      }, serializeReject)
    })

    it('any bytes after a packet type byte: ours throws only IlpCodecError, and reads nothing ilp-packet refuses', () => {
      const anyPacket = fc.tuple(fc.constantFrom(12, 13, 14), fc.uint8Array({ maxLength: 80 })).map(([type, rest]) => Buffer.concat([Buffer.of(type), rest]))
      fc.assert(fc.property(anyPacket, (raw) => {
        const parse = raw[0] === 12 ? parsePrepare : raw[0] === 13 ? parseFulfill : parseReject
        const mine = ours(() => parse(raw))
        if (mine.ok) expect(attempt(() => IlpPacket.deserializeIlpPacket(raw)).ok).to.equal(true)
      }), { numRuns: MUTATED_RUNS })
    })

    it('the categories where ours is stricter are reached (the mutations exercise them)', () => {
      for (const category of ['trailing bytes after the envelope', 'trailing bytes inside the envelope, after the data']) {
        expect(seen.get(category) ?? 0, category).to.be.greaterThan(0)
      }
      expect([...seen.keys()].some((k) => k.startsWith('address with a byte of 0x80'))).to.equal(true)
      expect([...seen.keys()].some((k) => k.startsWith('expiry that is not'))).to.equal(true)
    })
  })

  describe('the documented differences, one example each', () => {
    const f = { amount: 1n, expiresAt: Date.UTC(2030, 0, 1), executionCondition: Buffer.alloc(32), destination: 'test.alice', data: Buffer.from('hi') }
    const theirs = (raw: Buffer): boolean => attempt(() => IlpPacket.deserializeIlpPrepare(raw)).ok

    it('31 April: ilp-packet reads 1 May, ours refuses', () => {
      const raw = serializePrepare(f)
      raw.write('20300431000000000', 2 + 8, 'latin1')
      expect(IlpPacket.deserializeIlpPrepare(raw).expiresAt.toISOString()).to.equal('2030-05-01T00:00:00.000Z')
      expect(() => parsePrepare(raw)).to.throw(IlpCodecError, 'packet has an invalid expiry.')
    })

    it('a destination byte 0xe9: ilp-packet reads "i", ours refuses', () => {
      const raw = serializePrepare(f)
      raw[raw.indexOf(Buffer.from('alice')) + 2] = 0xe9
      expect(IlpPacket.deserializeIlpPrepare(raw).destination).to.equal('test.alice')
      expect(() => parsePrepare(raw)).to.throw(IlpCodecError, 'packet has an invalid destination address.')
    })

    it('trailing bytes after the envelope: ilp-packet ignores them, ours refuses', () => {
      const raw = Buffer.concat([serializePrepare(f), Buffer.of(0)])
      expect(theirs(raw)).to.equal(true)
      expect(() => parsePrepare(raw)).to.throw(IlpCodecError, 'packet has trailing bytes after its envelope.')
    })

    it('data of 32768 bytes: ilp-packet reads it, ours refuses', () => {
      const raw = IlpPacket.serializeIlpPrepare({ ...f, amount: '1', expiresAt: new Date(f.expiresAt), data: Buffer.alloc(32768) })
      expect(theirs(raw)).to.equal(true)
      expect(() => parsePrepare(raw)).to.throw(IlpCodecError, 'packet data is too long. length=32768 maximum=32767')
    })

    it('the epoch itself, 19700101000000000: ilp-packet refuses it ("invalid date"), ours reads 0', () => {
      const raw = serializePrepare({ ...f, expiresAt: 0 })
      expect(theirs(raw)).to.equal(false)
      expect(parsePrepare(raw).expiresAt).to.equal(0)
    })
  })
})

describe('differential: ilp-protocol-ildcp 2.2.3', () => {
  const info = fc.record({ clientAddress: ilpAddress, assetScale: fc.integer({ min: 0, max: 255 }), assetCode: fc.string({ unit: 'grapheme', maxLength: 12 }) })

  it('requests: the same bytes', () => {
    fc.assert(fc.property(expiresAt, data, (time, d) => {
      expect(serializeIldcpRequest({ expiresAt: time, data: d }).equals(Ildcp.serializeIldcpRequest({ expiresAt: new Date(time), data: d }))).to.equal(true)
    }), { numRuns: RUNS })
  })

  it('responses: the same bytes both ways, and each reads what the other wrote', () => {
    fc.assert(fc.property(info, (i) => {
      const theirs = Ildcp.serializeIldcpResponse(i)
      expect(serializeIldcpResponse(i).equals(theirs)).to.equal(true)
      expect(parseIldcpResponse(theirs)).to.deep.equal(i)
      expect(Ildcp.deserializeIldcpResponse(serializeIldcpResponse(i))).to.deep.equal(i)
    }), { numRuns: RUNS })
  })

  it('mutated responses: ours throws only IlpCodecError, accepts only what the library accepts, and reads it the same', () => {
    const sample = info.map((i): Sample => {
      const raw = Ildcp.serializeIldcpResponse(i)
      return { raw, prefixes: [32] }
    })
    fc.assert(fc.property(sample.chain(mutated), (raw) => {
      const mine = ours(() => parseIldcpResponse(raw))
      const theirs = attempt(() => Ildcp.deserializeIldcpResponse(raw))
      if (mine.ok) {
        expect(theirs.ok, raw.toString('hex')).to.equal(true)
        if (theirs.ok) expect(mine.value).to.deep.equal(theirs.value)
      } else if (theirs.ok) {
        const error = mine.error as IlpCodecError
        if (error.message === 'Invalid ILP address') {
          const data = fieldsAsRead(raw).data!
          expect(hasHighByte(fieldAt(data, 0)![0]), raw.toString('hex')).to.equal(true)
        } else {
          explainRefusal(raw, error, fieldsAsRead(raw))
        }
      }
    }), { numRuns: MUTATED_RUNS })
  })

  it('serving mutated requests: the same answer (response bytes, or an F00 Reject) unless ours is stricter', async () => {
    const future = Date.now() + 3_600_000
    const requests = fc.tuple(fc.integer({ min: future, max: future + 1e9 }), data)
      .map(([time, d]): Sample => ({ raw: Ildcp.serializeIldcpRequest({ expiresAt: new Date(time), data: d }), prefixes: [57, 57 + 12], timestamp: 8 }))
    const reply = { clientAddress: 'test.parent.child', assetScale: 9, assetCode: 'USD' }
    await fc.assert(fc.asyncProperty(fc.oneof(requests.map((s) => s.raw), requests.chain(mutated)), async (raw) => {
      const mine = serveIldcp(raw, reply, 'test.parent')
      const theirs = await Ildcp.serve({ requestPacket: raw, serverAddress: 'test.parent', handler: async () => reply })
      if (mine[0] === 13) {
        expect(theirs.equals(mine), raw.toString('hex')).to.equal(true)
      } else if (theirs[0] === 13) {
        const error = ours(() => parsePrepare(raw))
        expect(error.ok, 'ours served an F00 for a request it can parse: ' + raw.toString('hex')).to.equal(false)
        if (!error.ok) explainRefusal(raw, error.error as IlpCodecError, fieldsAsRead(raw))
      } else {
        expect(parseReject(mine)).to.include({ code: 'F00', triggeredBy: 'test.parent' })
        expect(IlpPacket.deserializeIlpReject(theirs)).to.include({ code: 'F00', triggeredBy: 'test.parent' })
      }
    }), { numRuns: RUNS })
  })

  it('replies to a request: a Reject fails with its message, as fetch does', async () => {
    const reject = serializeReject({ code: 'F02', triggeredBy: 'test.up', message: 'no parent here', data: Buffer.alloc(0) })
    let theirs: unknown
    await Ildcp.fetch(async () => reject).catch((err) => { theirs = err })
    expect(() => readIldcpReply(reject)).to.throw(Error, (theirs as Error).message)
    expect((theirs as Error).message).to.equal('IL-DCP failed: no parent here')
    const prepare = serializeIldcpRequest()
    await Ildcp.fetch(async () => prepare).catch((err) => { theirs = err })
    expect(() => readIldcpReply(prepare)).to.throw(Error, (theirs as Error).message)
  })
})
