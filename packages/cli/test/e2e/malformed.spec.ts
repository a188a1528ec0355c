/**
 * Malformed Prepares sent over real BTP to an in-process connector: each is rejected with F01 by the
 * connector and never reaches the receiver, and the connector keeps forwarding valid packets afterwards.
 * The packets are ilp-packet serializations altered byte by byte.
 */
import { expect } from 'chai'
import * as IlpPacket from 'ilp-packet'
import { Harness, decodeReply, serializePrepare, type DecodedReply, type Node } from '../helpers/harness.ts'

/** Offset of the 17-byte expiry in a Prepare whose envelope length fits in one byte. */
const EXPIRY_OFFSET = 2 + 8

describe('e2e: malformed packets', function () {
  this.timeout(10000)
  const h = new Harness()
  let alice: Node
  let bob: Node

  // One connector for the whole file, so the last test shows that none of the packets broke it.
  before(async () => {
    const { nodes } = await h.network({ spread: 0, minMessageWindow: 200, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } } })
    alice = nodes.alice!
    bob = nodes.bob!
  })
  after(async () => { await h.close() })

  /** A valid Prepare from alice to bob with 3 bytes of data (short envelope). */
  function valid (data = Buffer.from('abc')): Buffer {
    return serializePrepare({ amount: 10, destination: 'test.conn.bob', data, ...h.condition() })
  }

  /** Sends the bytes as alice; expects F01 from the connector with `message` and nothing at bob. */
  async function expectF01 (packet: Buffer, message: string | RegExp): Promise<void> {
    const before = bob.received.length
    const reply: DecodedReply = decodeReply(await alice.sendRaw(packet))
    expect(reply).to.deep.include({ type: 'reject', code: 'F01', triggeredBy: 'test.conn' })
    if (reply.type === 'reject') {
      if (typeof message === 'string') expect(reply.message).to.equal(message)
      else expect(reply.message).to.match(message)
    }
    expect(bob.received.length, 'packets bob received').to.equal(before)
  }

  it('rejects trailing bytes after the envelope with F01', async () => {
    await expectF01(Buffer.concat([valid(), Buffer.from([0])]), 'packet has trailing bytes after its envelope.')
  })

  it('rejects trailing bytes inside the envelope (envelope length covers a byte after the data) with F01', async () => {
    const packet = Buffer.concat([valid(), Buffer.from([0])])
    expect(packet[1]).to.be.below(0x7f)
    packet[1] = packet[1]! + 1
    await expectF01(packet, 'packet has trailing bytes after its data.')
  })

  it('rejects data of 32768 bytes with F01', async () => {
    await expectF01(valid(Buffer.alloc(32768, 1)), 'packet data is too long. length=32768 maximum=32767')
  })

  it('forwards data of 32767 bytes unchanged', async () => {
    const data = Buffer.alloc(32767, 2)
    const reply = decodeReply(await alice.sendRaw(valid(data)))
    expect(reply.type).to.equal('fulfill')
    expect(bob.received.at(-1)!.data.equals(data)).to.equal(true)
  })

  it('rejects an impossible expiry timestamp (20261399999999999: month 13) with F01', async () => {
    const packet = valid()
    packet.write('20261399999999999', EXPIRY_OFFSET, 'ascii')
    await expectF01(packet, 'packet has an invalid expiry.')
  })

  it('rejects a non-digit expiry timestamp with F01', async () => {
    const packet = valid()
    packet.write('2026111111111111x', EXPIRY_OFFSET, 'ascii')
    await expectF01(packet, 'packet has an invalid expiry.')
  })

  it('rejects the destination "not an address" with F01', async () => {
    const packet = serializePrepare({ amount: 10, destination: 'not an address', ...h.condition() })
    await expectF01(packet, 'packet has an invalid destination address.')
  })

  it('rejects a Fulfill sent as a Prepare with F01 "invalid packet type received. type=13"', async () => {
    const fulfill = IlpPacket.serializeIlpFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(0) })
    await expectF01(fulfill, 'invalid packet type received. type=13')
  })

  it('rejects a Reject sent as a Prepare with F01 "invalid packet type received. type=14"', async () => {
    const reject = IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.alice', message: 'x', data: Buffer.alloc(0) })
    await expectF01(reject, 'invalid packet type received. type=14')
  })

  it('rejects a Prepare truncated at any point with F01', async () => {
    const packet = valid()
    for (const length of [1, 2, 10, 30, 60, packet.length - 1]) {
      await expectF01(packet.subarray(0, length), /^packet (is truncated|has an invalid length prefix)\.$/)
    }
  })

  it('still forwards a valid packet after all of these (the connector did not crash)', async () => {
    const before = bob.received.length
    const reply = decodeReply(await alice.sendRaw(valid()))
    expect(reply.type).to.equal('fulfill')
    expect(bob.received.length).to.equal(before + 1)
    expect(bob.received.at(-1)!.data.toString()).to.equal('abc')
  })
})
