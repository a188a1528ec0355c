import { expect } from 'chai'
import * as Ildcp from 'ilp-protocol-ildcp'
import * as IlpPacket from 'ilp-packet'
import { fetchIldcp, serveIldcp as serveIldcpPacket } from '@conn/codec'

/** ilp-protocol-ildcp's `serve`, in the codec's terms (core answers with info it has, no handler can fail). */
async function serveIldcp (params: { requestPacket: Buffer, serverAddress: string, handler: () => Promise<typeof INFO> }): Promise<Buffer> {
  return serveIldcpPacket(params.requestPacket, await params.handler(), params.serverAddress)
}

const INFO = { clientAddress: 'test.conn.kid', assetScale: 6, assetCode: 'EUR' }

describe('ildcp (the codec\'s, as core uses it, against ilp-protocol-ildcp)', () => {
  it('answers a request with the bytes ilp-protocol-ildcp would', async () => {
    const request = Ildcp.serializeIldcpRequest({})
    const ours = await serveIldcp({ requestPacket: request, serverAddress: 'test.conn', handler: async () => INFO })
    const theirs = await Ildcp.serve({ requestPacket: request, serverAddress: 'test.conn', handler: async () => INFO })
    expect(ours.equals(theirs)).to.equal(true)
    expect(Ildcp.deserializeIldcpResponse(ours)).to.deep.equal(INFO)
  })

  it('answers an expired request with the F00 Reject ilp-protocol-ildcp sends', async () => {
    const expired = Ildcp.serializeIldcpRequest({ expiresAt: new Date(Date.now() - 1000) })
    for (const [request, handler] of [[expired, async () => INFO]] as const) {
      const ours = IlpPacket.deserializeIlpReject(await serveIldcp({ requestPacket: request, serverAddress: 'test.conn', handler }))
      const theirs = IlpPacket.deserializeIlpReject(await Ildcp.serve({ requestPacket: request, serverAddress: 'test.conn', handler }))
      expect(ours).to.deep.equal(theirs)
      expect(ours.code).to.equal('F00')
    }
  })

  it('fetches from a parent served by ilp-protocol-ildcp', async () => {
    const info = await fetchIldcp(async (data) => await Ildcp.serve({ requestPacket: data, serverAddress: 'test.up', handler: async () => INFO }))
    expect(info).to.deep.equal(INFO)
  })
})
