import { expect } from 'chai'
import { SettledRing, SLOT_BYTES } from '../src/settled-ring.ts'

/** A distinct condition per number. */
function condition (i: number): Buffer {
  const bytes = Buffer.alloc(32, 0xaa)
  bytes.writeUInt32BE(i, 28)
  return bytes
}
const reply = (i: number): Buffer => Buffer.from(`reply ${i}`)

describe('SettledRing', () => {
  it('finds each packet by condition and hash, with its amount, expiry and reply', async () => {
    const ring = new SettledRing(100)
    for (let i = 0; i < 50; i++) ring.add(condition(i), i * 7, BigInt(i) + 2n ** 63n, 1000 + i, reply(i))
    expect(ring.size).to.equal(50)
    for (let i = 0; i < 50; i++) {
      const slot = ring.find(condition(i), i * 7)
      expect(slot).to.be.at.least(0)
      expect(ring.amountAt(slot)).to.equal(BigInt(i) + 2n ** 63n)
      expect(ring.expiresAtAt(slot)).to.equal(1000 + i)
      expect(await ring.outcomeAt(slot)).to.deep.equal(reply(i))
    }
  })

  it('tells apart packets that share only the condition or only the hash', async () => {
    const ring = new SettledRing(10)
    ring.add(condition(1), 5, 1n, 0, reply(1))
    ring.add(condition(1), 6, 2n, 0, reply(2))
    ring.add(condition(2), 5, 3n, 0, reply(3))
    expect(await ring.outcomeAt(ring.find(condition(1), 5))).to.deep.equal(reply(1))
    expect(await ring.outcomeAt(ring.find(condition(1), 6))).to.deep.equal(reply(2))
    expect(await ring.outcomeAt(ring.find(condition(2), 5))).to.deep.equal(reply(3))
    expect(ring.find(condition(2), 6)).to.equal(-1)
  })

  it('grows past its first size without losing a packet, then overwrites the oldest once at capacity', async () => {
    const ring = new SettledRing(1000)
    for (let i = 0; i < 1000; i++) ring.add(condition(i), 0, 1n, 0, reply(i))
    for (let i = 0; i < 1000; i++) expect(ring.find(condition(i), 0), `packet ${i}`).to.be.at.least(0)
    for (let i = 1000; i < 1300; i++) ring.add(condition(i), 0, 1n, 0, reply(i))
    expect(ring.size).to.equal(1000)
    for (let i = 0; i < 300; i++) expect(ring.find(condition(i), 0), `packet ${i}`).to.equal(-1)
    for (let i = 300; i < 1300; i++) expect(await ring.outcomeAt(ring.find(condition(i), 0))).to.deep.equal(reply(i))
  })

  it('replaces a packet added again with the same key: one entry, the newest outcome', () => {
    const ring = new SettledRing(10)
    ring.add(condition(1), 0, 1n, 0, reply(1))
    ring.add(condition(1), 0, 5n, 0, reply(5))
    expect(ring.size).to.equal(1)
    expect(ring.amountAt(ring.find(condition(1), 0))).to.equal(5n)
    // wrapping around over the freed slot leaves the others intact
    for (let i = 2; i < 12; i++) ring.add(condition(i), 0, 1n, 0, reply(i))
    expect(ring.size).to.equal(10)
    for (let i = 2; i < 12; i++) expect(ring.find(condition(i), 0)).to.be.at.least(0)
  })

  it('keeps a long reply and an error by reference, and forgets them with their slot', async () => {
    const ring = new SettledRing(2)
    const long = Buffer.alloc(SLOT_BYTES + 1, 9)
    const error = new Error('expired')
    ring.add(condition(1), 0, 1n, 0, long)
    ring.add(condition(2), 0, 1n, 0, undefined, error)
    expect(await ring.outcomeAt(ring.find(condition(1), 0))).to.equal(long)
    expect(await ring.outcomeAt(ring.find(condition(2), 0)).catch((err: unknown) => err)).to.equal(error)
    ring.add(condition(3), 0, 1n, 0, reply(3))
    ring.add(condition(4), 0, 1n, 0, reply(4))
    expect(ring.find(condition(1), 0)).to.equal(-1)
    expect(ring.find(condition(2), 0)).to.equal(-1)
    expect((ring as unknown as { others: Map<number, unknown> }).others.size).to.equal(0)
  })

  it('removes the packets that expired before a cutoff, and only those', () => {
    const ring = new SettledRing(100)
    for (let i = 0; i < 100; i++) ring.add(condition(i), 0, 1n, i % 2 === 0 ? 100 : 300, reply(i))
    ring.removeExpiredBefore(200)
    expect(ring.size).to.equal(50)
    for (let i = 0; i < 100; i++) expect(ring.find(condition(i), 0) >= 0).to.equal(i % 2 === 1)
  })
})
