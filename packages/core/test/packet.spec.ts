import { expect } from 'chai'
// Named imports: a default import of this CommonJS package is undefined when tsx compiles a spec to CommonJS.
import { serializeIlpFulfill, serializeIlpPrepare, serializeIlpReject } from 'ilp-packet'
import { InvalidPacketError } from '@conn/types'
import {
  MAX_DATA_LENGTH, MAX_UINT64, parsePrepare, patchPrepare, readInterledgerTime, serializePrepare, writeInterledgerTime
} from '../src/packet.ts'

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
  expect(error, 'parsePrepare should throw').to.be.instanceOf(InvalidPacketError)
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

  describe('interledger time', () => {
    it('writes the 17-digit UTC timestamp YYYYMMDDHHmmssSSS at an offset', () => {
      const buf = Buffer.alloc(20, 0x2e)
      writeInterledgerTime(buf, 2, Date.UTC(2026, 0, 5, 3, 4, 5, 6))
      expect(buf.toString('ascii')).to.equal('..20260105030405006.')
    })

    it('round-trips times from 1970 to 9999 through write and read', () => {
      const times = [
        0, Date.UTC(2000, 1, 29, 0, 0, 0, 1), Date.UTC(2026, 11, 31, 23, 59, 59, 999),
        EXPIRES_AT, Date.UTC(2028, 1, 29, 12), Date.UTC(9999, 11, 31, 23, 59, 59, 999)
      ]
      for (const time of times) {
        const buf = Buffer.alloc(17)
        writeInterledgerTime(buf, 0, time)
        expect(readInterledgerTime(buf, 0), new Date(time).toISOString()).to.equal(time)
      }
    })

    it('reads what ilp-packet writes', () => {
      const raw = serialize()
      expect(readInterledgerTime(raw, 2 + 8)).to.equal(EXPIRES_AT)
    })

    it('reads an impossible timestamp as NaN', () => {
      expect(readInterledgerTime(Buffer.from('20260230000000000'), 0)).to.be.NaN
    })
  })
})
