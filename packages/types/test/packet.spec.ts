import { expect } from 'chai'
import {
  envelopeContentsOffset, isFulfill, isReject, fulfillmentOf, oerLengthPrefix, readReject, rejectCodeOf,
  serializeFulfill, serializeReject
} from '../src/index.ts'

describe('packet helpers', () => {
  it('serializes a Reject that reads back field for field', () => {
    const data = Buffer.alloc(300, 7) // long enough to need a long-form length prefix
    const reject = serializeReject({ code: 'T04', triggeredBy: 'test.conn', message: 'exceeded maximum balance.', data })
    expect(isReject(reject)).to.equal(true)
    expect(isFulfill(reject)).to.equal(false)
    expect(rejectCodeOf(reject)).to.equal('T04')
    expect(readReject(reject)).to.deep.equal({ code: 'T04', triggeredBy: 'test.conn', message: 'exceeded maximum balance.', data })
  })

  it('encodes a Reject byte for byte as ilp-packet does', () => {
    // same fields as ilp-packet's test vector: F99 from example.bob, message "Some error", data 0x050403020100
    const reject = serializeReject({ code: 'F99', triggeredBy: 'example.bob', message: 'Some error', data: Buffer.from('050403020100', 'hex') })
    expect(reject.toString('hex')).to.equal('0e214639390b6578616d706c652e626f620a536f6d65206572726f7206050403020100')
  })

  it('serializes a Fulfill whose fulfillment reads back as a view', () => {
    const fulfillment = Buffer.alloc(32, 9)
    const fulfill = serializeFulfill({ fulfillment, data: Buffer.from('hi') })
    expect(isFulfill(fulfill)).to.equal(true)
    expect(fulfillmentOf(fulfill).equals(fulfillment)).to.equal(true)
  })

  it('throws a RangeError on a truncated Reject', () => {
    const reject = serializeReject({ code: 'F02', triggeredBy: 'test.a', message: 'x', data: Buffer.alloc(0) })
    expect(() => readReject(reject.subarray(0, 8))).to.throw(RangeError)
  })

  it('oerLengthPrefix writes the short form below 128 and the long form with 1, 2 or 3 length bytes above', () => {
    expect(oerLengthPrefix(0).toString('hex')).to.equal('00')
    expect(oerLengthPrefix(127).toString('hex')).to.equal('7f')
    expect(oerLengthPrefix(128).toString('hex')).to.equal('8180')
    expect(oerLengthPrefix(255).toString('hex')).to.equal('81ff')
    expect(oerLengthPrefix(256).toString('hex')).to.equal('820100')
    expect(oerLengthPrefix(65535).toString('hex')).to.equal('82ffff')
    expect(oerLengthPrefix(65536).toString('hex')).to.equal('83010000')
  })

  it('envelopeContentsOffset is 2 after a short length and 2 + n after a long one of n bytes', () => {
    const short = serializeFulfill({ fulfillment: Buffer.alloc(32, 1), data: Buffer.alloc(0) })
    const long = serializeFulfill({ fulfillment: Buffer.alloc(32, 1), data: Buffer.alloc(300) })
    expect(envelopeContentsOffset(short)).to.equal(2)
    expect(envelopeContentsOffset(long)).to.equal(4)
    expect(long.subarray(envelopeContentsOffset(long), envelopeContentsOffset(long) + 32).equals(Buffer.alloc(32, 1))).to.equal(true)
    expect(Buffer.concat([Buffer.of(13), oerLengthPrefix(1000)]).length).to.equal(envelopeContentsOffset(Buffer.of(13, 0x82, 3, 0xe8)))
  })
})
