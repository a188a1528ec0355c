import { expect } from 'chai'
import fc from 'fast-check'
import {
  MAX_UINT64, MAX_VAR_UINT, OER_INVALID, OER_NON_CANONICAL, OER_TRUNCATED, lengthPrefix, lengthPrefixSize,
  readLengthPrefix, readVarUInt, varOctetsSize, varUIntSize, writeLengthPrefix, writeUInt64, writeVarOctets, writeVarUInt
} from '../src/index.ts'

/** The canonical prefix by the book (X.696 8.6), written independently of the code under test. */
function expectedPrefix (length: number): Buffer {
  if (length < 0x80) return Buffer.of(length)
  const bytes: number[] = []
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

describe('oer', () => {
  describe('length prefixes', () => {
    it('writes the short form below 128 and the long form with 1, 2, 3 or 4 length bytes above', () => {
      expect(lengthPrefix(0).toString('hex')).to.equal('00')
      expect(lengthPrefix(127).toString('hex')).to.equal('7f')
      expect(lengthPrefix(128).toString('hex')).to.equal('8180')
      expect(lengthPrefix(255).toString('hex')).to.equal('81ff')
      expect(lengthPrefix(256).toString('hex')).to.equal('820100')
      expect(lengthPrefix(65535).toString('hex')).to.equal('82ffff')
      expect(lengthPrefix(65536).toString('hex')).to.equal('83010000')
      expect(lengthPrefix(0x1000000).toString('hex')).to.equal('8401000000')
      expect(lengthPrefix(0xffffffff).toString('hex')).to.equal('84ffffffff')
    })

    it('refuses to write a length that is negative, fractional or 2^32 or more (RangeError)', () => {
      for (const length of [-1, 128.5, 2 ** 32, NaN]) expect(() => lengthPrefix(length), String(length)).to.throw(RangeError)
    })

    it('reads lengths, and says why a prefix is bad: truncated, invalid (0x80, too many bytes), non-canonical', () => {
      expect(readLengthPrefix(Buffer.of(0x05), 0, 1)).to.equal(5)
      expect(readLengthPrefix(Buffer.of(9, 9, 0x82, 0x01, 0x00), 2, 5)).to.equal(256)
      expect(readLengthPrefix(Buffer.of(0x05), 1, 1)).to.equal(OER_TRUNCATED)
      expect(readLengthPrefix(Buffer.of(0x82, 0x01, 0x00), 0, 2)).to.equal(OER_TRUNCATED) // `end` counts, not the buffer
      expect(readLengthPrefix(Buffer.of(0x80), 0, 1)).to.equal(OER_INVALID)
      expect(readLengthPrefix(Buffer.of(0x85, 1, 0, 0, 0, 0), 0, 6)).to.equal(OER_INVALID)
      expect(readLengthPrefix(Buffer.of(0x84, 1, 0, 0, 0), 0, 5, 3)).to.equal(OER_INVALID)
      expect(readLengthPrefix(Buffer.of(0x81, 0x05), 0, 2)).to.equal(OER_NON_CANONICAL)
      expect(readLengthPrefix(Buffer.of(0x82, 0x00, 0xff), 0, 3)).to.equal(OER_NON_CANONICAL)
    })

    it('property: every length 0..2^32-1 is written as the book says and reads back', () => {
      fc.assert(fc.property(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff })), (length) => {
        const prefix = lengthPrefix(length)
        expect(prefix.equals(expectedPrefix(length))).to.equal(true)
        expect(prefix.length).to.equal(lengthPrefixSize(length))
        expect(readLengthPrefix(prefix, 0, prefix.length)).to.equal(length)
      }), { numRuns: 500 })
    })

    it('property: on any bytes the reader returns a status or a length whose canonical prefix is the bytes read', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 7 }), fc.nat(8), (bytes, offset) => {
        const buf = Buffer.from(bytes)
        const length = readLengthPrefix(buf, offset, buf.length)
        if (length < 0) {
          expect([OER_TRUNCATED, OER_INVALID, OER_NON_CANONICAL]).to.include(length)
        } else {
          const size = lengthPrefixSize(length)
          expect(buf.subarray(offset, offset + size).equals(expectedPrefix(length))).to.equal(true)
        }
      }), { numRuns: 1000 })
    })

    it('writes var-octets as prefix then bytes, and sizes them', () => {
      const bytes = Buffer.alloc(200, 7)
      const buf = Buffer.alloc(varOctetsSize(bytes.length) + 1)
      expect(writeVarOctets(buf, 1, bytes)).to.equal(buf.length)
      expect(buf.subarray(1, 3).toString('hex')).to.equal('81c8')
      expect(buf.subarray(3).equals(bytes)).to.equal(true)
    })
  })

  describe('variable-length unsigned integers', () => {
    it('writes a length byte, then the value in as few bytes as it needs (at least one)', () => {
      const hex = (value: number): string => {
        const buf = Buffer.alloc(varUIntSize(value))
        writeVarUInt(buf, 0, value)
        return buf.toString('hex')
      }
      expect(hex(0)).to.equal('0100')
      expect(hex(1)).to.equal('0101')
      expect(hex(255)).to.equal('01ff')
      expect(hex(256)).to.equal('020100')
      expect(hex(MAX_VAR_UINT)).to.equal('06ffffffffffff')
      expect(() => writeVarUInt(Buffer.alloc(8), 0, MAX_VAR_UINT + 1)).to.throw(RangeError)
      expect(() => writeVarUInt(Buffer.alloc(8), 0, -1)).to.throw(RangeError)
    })

    it('reads values with leading zeros (as oer-utils does), and refuses no value bytes or more than six', () => {
      expect(readVarUInt(Buffer.of(2, 0, 5), 0, 3)).to.equal(5)
      expect(readVarUInt(Buffer.of(0), 0, 1)).to.equal(OER_INVALID)
      expect(readVarUInt(Buffer.of(7, 0, 0, 0, 0, 0, 0, 1), 0, 8)).to.equal(OER_INVALID)
      expect(readVarUInt(Buffer.of(2, 1), 0, 2)).to.equal(OER_TRUNCATED)
      expect(readVarUInt(Buffer.of(), 0, 0)).to.equal(OER_TRUNCATED)
    })

    it('property: every value 0..2^48-1 reads back from what is written', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: MAX_VAR_UINT }), (value) => {
        const buf = Buffer.alloc(varUIntSize(value))
        expect(writeVarUInt(buf, 0, value)).to.equal(buf.length)
        expect(readVarUInt(buf, 0, buf.length)).to.equal(value)
        expect(buf[0]).to.equal(buf.length - 1)
      }), { numRuns: 500 })
    })
  })

  describe('UInt64', () => {
    it('writes 0 and 2^64-1 big-endian and refuses anything outside (RangeError)', () => {
      const buf = Buffer.alloc(8)
      expect(writeUInt64(buf, 0, MAX_UINT64)).to.equal(8)
      expect(buf.toString('hex')).to.equal('ffffffffffffffff')
      writeUInt64(buf, 0, 258n)
      expect(buf.toString('hex')).to.equal('0000000000000102')
      expect(() => writeUInt64(buf, 0, -1n)).to.throw(RangeError)
      expect(() => writeUInt64(buf, 0, MAX_UINT64 + 1n)).to.throw(RangeError)
    })
  })
})
