import { expect } from 'chai'
import {
  ILDCP_DESTINATION, IlpCodecError, PEER_PROTOCOL_CONDITION, PEER_PROTOCOL_FULFILLMENT, fetchIldcp, isIldcpRequest,
  parseIldcpRequest, parseIldcpResponse, parsePrepare, parseReject, readIldcpReply, serializeFulfill, serializeIldcpRequest,
  serializeIldcpResponse, serializePrepare, serializeReject, serveIldcp
} from '../src/index.ts'

const INFO = { clientAddress: 'test.parent.child', assetScale: 9, assetCode: 'USD' }
const NOW = Date.UTC(2030, 0, 1)

function prepare (fields: { destination?: string, condition?: Buffer, expiresAt?: number } = {}): Buffer {
  return serializePrepare({
    amount: 0n,
    expiresAt: fields.expiresAt ?? NOW + 60_000,
    executionCondition: fields.condition ?? PEER_PROTOCOL_CONDITION,
    destination: fields.destination ?? ILDCP_DESTINATION,
    data: Buffer.alloc(0)
  })
}

describe('IL-DCP', () => {
  it('the peer protocol condition is the SHA-256 of the peer protocol fulfillment (32 zero bytes)', async () => {
    const { createHash } = await import('node:crypto')
    expect(createHash('sha256').update(PEER_PROTOCOL_FULFILLMENT).digest().equals(PEER_PROTOCOL_CONDITION)).to.equal(true)
  })

  it('a request is a Prepare of 0 to peer.config with the peer condition, expiring in 60 s by default', () => {
    const before = Date.now()
    const request = parsePrepare(serializeIldcpRequest())
    expect(request).to.include({ amount: 0n, destination: 'peer.config' })
    expect(request.executionCondition.equals(PEER_PROTOCOL_CONDITION)).to.equal(true)
    expect(request.expiresAt).to.be.within(before + 60_000, Date.now() + 60_000)
    expect(parseIldcpRequest(request)).to.deep.equal({ expiresAt: request.expiresAt, data: Buffer.alloc(0) })
  })

  it('parseIldcpRequest refuses another destination or condition, and a malformed Prepare, with IlpCodecError', () => {
    expect(() => parseIldcpRequest(prepare({ destination: 'test.other' }))).to.throw(IlpCodecError, 'packet is not an IL-DCP request.')
    expect(() => parseIldcpRequest(prepare({ condition: Buffer.alloc(32) }))).to.throw(IlpCodecError, 'packet does not contain correct condition for a peer protocol request.')
    expect(() => parseIldcpRequest(Buffer.concat([prepare(), Buffer.of(0)]))).to.throw(IlpCodecError, 'packet has trailing bytes after its envelope.')
  })

  it('isIldcpRequest picks out Prepares to peer.config from the bytes, without throwing on anything', () => {
    expect(isIldcpRequest(prepare())).to.equal(true)
    expect(isIldcpRequest(prepare({ destination: 'peer.configx' }))).to.equal(false)
    expect(isIldcpRequest(prepare({ destination: 'peer.route' }))).to.equal(false)
    expect(isIldcpRequest(serializeFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(200) }))).to.equal(false)
    const request = prepare()
    for (let n = 0; n < request.length; n++) expect(isIldcpRequest(request.subarray(0, n)), `${n} bytes`).to.equal(n >= 2 + 57 + 12)
  })

  it('a response carries address, scale and code in the Fulfill data, as ilp-protocol-ildcp writes them', () => {
    const response = serializeIldcpResponse(INFO)
    // type 13, length 56: fulfillment (32 zero bytes), data (length 23): 17 "test.parent.child", scale 9, 3 "USD"
    expect(response.toString('hex')).to.equal('0d38' + '00'.repeat(32) + '17' + '11' +
      Buffer.from('test.parent.child').toString('hex') + '09' + '03' + Buffer.from('USD').toString('hex'))
    expect(parseIldcpResponse(response)).to.deep.equal(INFO)
  })

  it('parseIldcpResponse refuses a wrong fulfillment, a bad address (a high byte too) and cut-short data', () => {
    const data = Buffer.concat([Buffer.of(6), Buffer.from('test.a'), Buffer.of(9, 3), Buffer.from('USD')])
    expect(() => parseIldcpResponse(serializeFulfill({ fulfillment: Buffer.alloc(32, 1), data }))).to.throw(IlpCodecError, 'IL-DCP response does not contain the expected fulfillment.')
    const high = Buffer.from(data)
    high[6] = 0xe1 // 'a' | 0x80
    expect(() => parseIldcpResponse(serializeFulfill({ fulfillment: PEER_PROTOCOL_FULFILLMENT, data: high }))).to.throw(IlpCodecError, 'Invalid ILP address')
    for (let n = 0; n < data.length; n++) {
      const cut = serializeFulfill({ fulfillment: PEER_PROTOCOL_FULFILLMENT, data: data.subarray(0, n) })
      expect(() => parseIldcpResponse(cut), `${n} bytes of data`).to.throw(IlpCodecError)
    }
  })

  it('parseIldcpResponse ignores bytes after the asset code, as ilp-protocol-ildcp does', () => {
    const data = Buffer.concat([Buffer.of(6), Buffer.from('test.a'), Buffer.of(9, 3), Buffer.from('USD'), Buffer.of(1, 2)])
    expect(parseIldcpResponse(serializeFulfill({ fulfillment: PEER_PROTOCOL_FULFILLMENT, data }))).to.deep.equal({ clientAddress: 'test.a', assetScale: 9, assetCode: 'USD' })
  })

  it('serializeIldcpResponse refuses an invalid address or scale (RangeError)', () => {
    expect(() => serializeIldcpResponse({ ...INFO, clientAddress: 'test.a b' })).to.throw(RangeError)
    expect(() => serializeIldcpResponse({ ...INFO, assetScale: 256 })).to.throw(RangeError)
  })

  describe('serveIldcp', () => {
    it('answers a valid request with the response', () => {
      expect(serveIldcp(prepare(), INFO, 'test.parent', NOW).equals(serializeIldcpResponse(INFO))).to.equal(true)
      expect(serveIldcp(parsePrepare(prepare()), INFO, 'test.parent', NOW).equals(serializeIldcpResponse(INFO))).to.equal(true)
    })

    for (const [what, request, message] of [
      ['another destination', prepare({ destination: 'test.x' }), 'packet is not an IL-DCP request.'],
      ['another condition', prepare({ condition: Buffer.alloc(32) }), 'packet does not contain correct condition for a peer protocol request.'],
      ['an expired request', prepare({ expiresAt: NOW - 1 }), 'IL-DCP request packet is expired.'],
      ['a malformed packet', Buffer.of(12, 1, 0), 'packet is truncated.']
    ] as const) {
      it(`answers ${what} with an F00 Reject from the server saying "${message}"`, () => {
        expect(parseReject(serveIldcp(request, INFO, 'test.parent', NOW))).to.deep.equal({ code: 'F00', triggeredBy: 'test.parent', message, data: Buffer.alloc(0) })
      })
    }

    it('answers with an F00 Reject when the info cannot be written', () => {
      expect(parseReject(serveIldcp(prepare(), { ...INFO, assetScale: -1 }, 'test.parent', NOW)).code).to.equal('F00')
    })
  })

  describe('fetchIldcp and readIldcpReply', () => {
    it('sends a request and reads the info from the Fulfill', async () => {
      let sent: Buffer | undefined
      const info = await fetchIldcp(async (data) => { sent = data; return serializeIldcpResponse(INFO) })
      expect(info).to.deep.equal(INFO)
      expect(parseIldcpRequest(sent!).data.length).to.equal(0)
    })

    it('fails with "IL-DCP failed: <message>" on a Reject, and says so when the reply is neither', () => {
      expect(() => readIldcpReply(serializeReject({ code: 'F02', triggeredBy: 'test.up', message: 'nope', data: Buffer.alloc(0) }))).to.throw(Error, 'IL-DCP failed: nope')
      expect(() => readIldcpReply(prepare())).to.throw(Error, 'IL-DCP error, unable to retrieve client configuration.')
      expect(() => readIldcpReply(Buffer.of(13, 1, 0))).to.throw(IlpCodecError)
    })
  })
})
