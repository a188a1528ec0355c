/**
 * The whole packet path (the default middlewares, the switch, IL-DCP and CCP) under fuzzing, in both
 * directions: random and mutated Prepares from a child, and random and mutated replies from the next hop. Every
 * Prepare is answered within a second with a well-formed Fulfill or Reject; nothing throws. Replay a failure
 * with FUZZ_SEED=<seed>.
 */
import { expect } from 'chai'
import { createHash } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import { createApp, type Connector } from '@conn/core'
import { FakePlugin, Rng, fuzzDecoder, mutate } from '@conn/testkit'
import { CLI_DIR, silentLogger } from './helpers/harness.ts'

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()
const PEER_PROTOCOL_CONDITION = createHash('sha256').update(Buffer.alloc(32)).digest()

function prepare (destination: string, amount: string, data = Buffer.alloc(0), condition = CONDITION): Buffer {
  return IlpPacket.serializeIlpPrepare({ amount, destination, executionCondition: condition, expiresAt: new Date(Date.now() + 20_000), data })
}

/** A reply is well-formed if ilp-packet reads it as a Fulfill or a Reject. */
function wellFormed (reply: unknown): boolean {
  if (!Buffer.isBuffer(reply)) return false
  try {
    if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) IlpPacket.deserializeIlpFulfill(reply)
    else IlpPacket.deserializeIlpReject(reply)
    return true
  } catch {
    return false
  }
}

describe('packet path under fuzzing (Prepares in, replies back)', function () {
  this.timeout(60000)
  const apps: Connector[] = []
  afterEach(async () => { for (const app of apps.splice(0)) await app.shutdown() })

  /** A connector with children alice and bob, bob answering with `answer`; resolves with alice's data handler. */
  async function connector (answer: () => Buffer): Promise<{ handler: (data: Buffer) => Promise<Buffer>, bob: FakePlugin }> {
    const alice = new FakePlugin()
    const bob = new FakePlugin({ sendData: async () => answer() })
    const child = { relation: 'child', assetCode: 'USD', assetScale: 9 } as const
    const app = createApp({
      ilpAddress: 'test.conn',
      spread: 0,
      accounts: { alice: { ...child, plugin: alice, balance: { maximum: 'Infinity' } }, bob: { ...child, plugin: bob } }
    }, { logger: silentLogger, resolveFrom: [CLI_DIR] })
    apps.push(app)
    await app.listen()
    return { handler: alice.dataHandler!, bob }
  }

  it('answers any Prepare bytes, and any reply of the next hop, with a well-formed Fulfill or Reject', async () => {
    const rng = new Rng(Number(process.env.FUZZ_SEED ?? 1))
    const replies = [
      IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('paid') }),
      IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'no', data: Buffer.from('x') })
    ]
    // bob answers with a valid reply, a mutant of one, or random bytes
    const fuzzedReply = (): Buffer => {
      const kind = rng.nextInt(3)
      return kind === 0 ? rng.pick(replies) : kind === 1 ? mutate(rng.pick(replies), rng) : rng.bytes(rng.nextInt(64))
    }
    const { handler, bob } = await connector(fuzzedReply)
    const corpus = [
      prepare('test.conn.bob', '10', Buffer.from('hello')),
      prepare('test.conn.bob', '18446744073709551615', Buffer.alloc(300, 1)),
      prepare('test.conn.nobody', '1'),
      Ildcp.serializeIldcpRequest({ expiresAt: new Date(Date.now() + 20_000), data: Buffer.alloc(0) }),
      // a route control request: mode SYNC, table id 0, epoch 0, no features (as ilp-protocol-ccp writes it)
      prepare('peer.route.control', '0', Buffer.from('01' + '00'.repeat(16) + '00000000' + '0100', 'hex'), PEER_PROTOCOL_CONDITION)
    ]
    const codes = new Map<string, number>()
    const report = await fuzzDecoder({
      corpus,
      seed: rng.seed,
      cases: 1500,
      isTypedError: () => false, // the handler never throws: everything is a reply
      decode: async (input) => {
        const reply = await handler(input)
        if (!wellFormed(reply)) throw new Error(`not a well-formed reply: ${Buffer.isBuffer(reply) ? reply.toString('hex') : String(reply)}`)
        const code = reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL ? 'fulfill' : IlpPacket.deserializeIlpReject(reply).code
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
    })
    expect(report.decoded).to.equal(report.cases)
    expect(codes.get('F01')).to.be.greaterThan(500)
    expect(bob.dataSent.length).to.be.greaterThan(10) // some mutants were still valid, and forwarded

    // valid Prepares through a fresh connector (no state left by the fuzzed ones), so that every one reaches
    // bob and his fuzzed reply is what comes back; each carries its own data, or the deduplicate middleware
    // would answer one sent in the same millisecond with an amount no greater from the earlier one's outcome
    codes.clear()
    const fresh = await connector(fuzzedReply)
    for (let i = 0; i < 500; i++) {
      const input = prepare('test.conn.bob', String(1 + rng.nextInt(1000)), Buffer.from(String(i)))
      const reply = await fresh.handler(input)
      if (!wellFormed(reply)) expect.fail(`reply ${String(reply)} to ${input.toString('hex')} (seed ${rng.seed})`)
      const code = reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL ? 'fulfill' : IlpPacket.deserializeIlpReject(reply).code
      codes.set(code, (codes.get(code) ?? 0) + 1)
    }
    const seen = JSON.stringify([...codes])
    expect(fresh.bob.dataSent.length, seen).to.equal(500)
    expect(codes.get('fulfill'), seen).to.be.greaterThan(30) // bob's valid Fulfills
    expect(codes.get('F99'), seen).to.be.greaterThan(30) // bob's valid Rejects, passed on
    expect([...codes.keys()].some((code) => code !== 'fulfill' && code !== 'F99')).to.equal(true) // his garbage, made a Reject
  })
})
