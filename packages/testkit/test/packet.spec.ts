import { createHash } from 'node:crypto'
import { expect } from 'chai'
import sinon from 'sinon'
import { fulfillmentOf, isFulfill, parseReject } from '@conn/codec'
import {
  DEFAULT_CONDITION, DEFAULT_FULFILLMENT, condition, fakeAccount, fulfill, fulfillFor, packetContext, reject
} from '../src/index.ts'
import { serializePrepare } from '../src/packet.ts'

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest()

describe('packet', () => {
  afterEach(() => { sinon.restore() })

  it('packetContext: alice, amount 100, expiry 30 s from now, the default condition, test.bob, empty data, no raw', () => {
    const clock = sinon.useFakeTimers({ now: 1_700_000_000_000 })
    const ctx = packetContext()
    expect(ctx.account.id).to.equal('alice')
    expect(ctx.incoming).to.equal(undefined)
    expect(ctx.prepare).to.deep.equal({
      amount: 100n, expiresAt: 1_700_000_030_000, executionCondition: DEFAULT_CONDITION, destination: 'test.bob', data: Buffer.alloc(0)
    })
    expect('raw' in ctx.prepare).to.equal(false)
    clock.restore()
  })

  it('packetContext takes the account, every Prepare field and the incoming context', () => {
    const bob = fakeAccount({ id: 'bob' })
    const incoming = packetContext()
    const { condition: executionCondition } = condition()
    const ctx = packetContext({
      account: bob, incoming, amount: 7n, expiresAt: 5, executionCondition, destination: 'test.x', data: Buffer.from('d'), raw: Buffer.from('r')
    })
    expect(ctx.account).to.equal(bob)
    expect(ctx.incoming).to.equal(incoming)
    expect(ctx.prepare).to.deep.equal({ amount: 7n, expiresAt: 5, executionCondition, destination: 'test.x', data: Buffer.from('d'), raw: Buffer.from('r') })
  })

  it('the default condition is the SHA-256 of DEFAULT_FULFILLMENT', () => {
    expect(sha256(DEFAULT_FULFILLMENT).equals(DEFAULT_CONDITION)).to.equal(true)
  })

  it('condition() gives a random fulfillment and its SHA-256, a new pair each call', () => {
    const a = condition()
    const b = condition()
    expect(a.fulfillment).to.have.length(32)
    expect(sha256(a.fulfillment).equals(a.condition)).to.equal(true)
    expect(a.fulfillment.equals(b.fulfillment)).to.equal(false)
  })

  it('fulfillFor answers a Prepare with the Fulfill whose fulfillment hashes to its condition', () => {
    const made = condition()
    const reply = fulfillFor(packetContext({ executionCondition: made.condition }).prepare, Buffer.from('receipt'))
    expect(isFulfill(reply)).to.equal(true)
    expect(fulfillmentOf(reply).equals(made.fulfillment)).to.equal(true)
    expect(reply.subarray(-8).toString()).to.equal('\x07receipt')
    expect(fulfillmentOf(fulfillFor(packetContext().prepare)).equals(DEFAULT_FULFILLMENT)).to.equal(true)
  })

  it('fulfillFor throws for a condition the testkit did not make', () => {
    expect(() => fulfillFor({ executionCondition: Buffer.alloc(32, 1) })).to.throw('this condition was not made by @conn/testkit')
  })

  it('fulfill() serializes a Fulfill of the given fulfillment and data (default zeros and empty)', () => {
    const reply = fulfill(Buffer.alloc(32, 7), Buffer.from('ok'))
    expect(reply.toString('hex')).to.equal('0d23' + '07'.repeat(32) + '02' + Buffer.from('ok').toString('hex'))
    expect(fulfill().toString('hex')).to.equal('0d21' + '00'.repeat(32) + '00')
  })

  it('reject() serializes a Reject that reads back field for field (default F99 from test.bob, empty message and data)', () => {
    expect(parseReject(reject())).to.deep.equal({ code: 'F99', triggeredBy: 'test.bob', message: '', data: Buffer.alloc(0) })
    const full = { code: 'T04', triggeredBy: 'test.conn', message: 'exceeded maximum balance.', data: Buffer.from('01', 'hex') }
    expect(parseReject(reject(full))).to.deep.equal(full)
  })

  it('serializePrepare (the plugin suite\'s Prepares) writes the bytes ilp-packet 3.1.3 writes', () => {
    // ilp-packet's serializeIlpPrepare of the same fields, recorded
    const small = serializePrepare({
      amount: 107n, destination: 'example.alice', executionCondition: Buffer.alloc(32, 0x11), expiresAt: Date.UTC(2017, 11, 23, 1, 21, 40, 549), data: Buffer.from('hello')
    })
    expect(small.toString('hex')).to.equal('0c4d000000000000006b3230313731323233303132313430353439' + '11'.repeat(32) + '0d6578616d706c652e616c6963650568656c6c6f')
    const large = serializePrepare({
      amount: 2n ** 64n - 1n, destination: 'test.x', executionCondition: Buffer.alloc(32, 0x22), expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5, 6), data: Buffer.alloc(300, 7)
    })
    expect(large.length).to.equal(371)
    expect(large.subarray(0, 70).toString('hex')).to.equal('0c82016fffffffffffffffff3230333030313032303330343035303036' + '22'.repeat(32) + '06746573742e788201')
  })
})
