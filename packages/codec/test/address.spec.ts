import { expect } from 'chai'
import fc from 'fast-check'
import { MAX_ADDRESS_LENGTH, isValidIlpAddress, readAddress } from '../src/index.ts'
import { ilpAddress } from './arbitraries.ts'

describe('ILP addresses', () => {
  it('accepts every scheme of RFC 15 and the segment characters [a-zA-Z0-9_~-]', () => {
    for (const address of ['g.a', 'private.a', 'example.a', 'peer.config', 'self.a', 'local.a', 'test.a', 'test1.x', 'test3.x', 'test.A-z_0~9.b']) {
      expect(isValidIlpAddress(address), address).to.equal(true)
      expect(readAddress(Buffer.from(address, 'latin1'), 0, address.length)).to.equal(address)
    }
  })

  it('refuses other schemes, empty segments, other characters, more than 1023 characters and non-strings', () => {
    for (const address of ['', 'test', 'test.', '.test', 'test..a', 'test4.a', 'foo.a', 'test.a b', 'test.a/b', 'test.é']) {
      expect(isValidIlpAddress(address), address).to.equal(false)
    }
    const longest = 'test.' + 'a'.repeat(MAX_ADDRESS_LENGTH - 5)
    expect(isValidIlpAddress(longest)).to.equal(true)
    expect(isValidIlpAddress(longest + 'a')).to.equal(false)
    expect(readAddress(Buffer.from(longest + 'a'), 0, longest.length + 1)).to.equal(undefined)
    expect(isValidIlpAddress(undefined)).to.equal(false)
    expect(isValidIlpAddress(42)).to.equal(false)
  })

  it('refuses bytes of 0x80 or more: 0xe9 does not become "i" (the ascii decoder clears the high bit)', () => {
    const bytes = Buffer.from('test.alice', 'latin1')
    bytes[7] = 0xe9 // 'i' | 0x80
    expect(bytes.toString('ascii')).to.equal('test.alice') // what the old plugin-btp reader saw
    expect(readAddress(bytes, 0, bytes.length)).to.equal(undefined)
  })

  it('property: readAddress of any bytes is the latin1 text when that is a valid address, else undefined', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 20 }),
      ilpAddress.map((a) => new Uint8Array(Buffer.from(a, 'latin1'))),
      ilpAddress.chain((a) => fc.tuple(fc.nat(a.length - 1), fc.integer({ min: 0x80, max: 0xff })).map(([i, b]) => {
        const buf = Buffer.from(a, 'latin1')
        buf[i] = b
        return new Uint8Array(buf)
      }))
    )
    fc.assert(fc.property(bytes, (b) => {
      const buf = Buffer.from(b)
      const text = buf.toString('latin1')
      const read = readAddress(buf, 0, buf.length)
      expect(read).to.equal(isValidIlpAddress(text) ? text : undefined)
      if (read !== undefined) expect(buf.every((byte) => byte < 0x80)).to.equal(true)
    }), { numRuns: 1000 })
  })
})
