/**
 * Peer protocol requests (peer.config, peer.route.*) carry no money. One with an amount, sent over real BTP by
 * a child with the balance middleware loaded, is rejected F01 by the switch and credits nothing; the reference
 * answers it and its balance middleware keeps the amount (spec/deviations.md).
 */
import { expect } from 'chai'
import { createHash } from 'node:crypto'
import { Harness, decodeReply } from '../helpers/harness.ts'

/** SHA-256 of 32 zero bytes: the condition of every peer protocol request. */
const PEER_PROTOCOL_CONDITION = createHash('sha256').update(Buffer.alloc(32)).digest()

describe('e2e: peer protocol requests with an amount', function () {
  this.timeout(10000)
  const h = new Harness()
  after(async () => { await h.close() })

  it('are rejected F01 "peer protocol request must have amount 0." and leave the balance at 0; with amount 0 IL-DCP answers', async () => {
    const { app, nodes } = await h.network({ spread: 0, minMessageWindow: 200, accounts: { alice: { relation: 'child', balance: { maximum: '1000000' } } } })
    const alice = nodes.alice!
    for (const destination of ['peer.config', 'peer.route.control', 'peer.route.update']) {
      const reply = decodeReply(await alice.send({ amount: 500, destination, executionCondition: PEER_PROTOCOL_CONDITION, expiresIn: 30000 }))
      expect(reply, destination).to.deep.include({ type: 'reject', code: 'F01', triggeredBy: 'test.conn', message: 'peer protocol request must have amount 0. amount=500' })
    }
    expect(await app.balances.get('alice')).to.equal(0n)
    expect(await alice.ildcp()).to.deep.equal({ clientAddress: 'test.conn.alice', assetCode: 'XYZ', assetScale: 9 })
    expect(await app.balances.get('alice')).to.equal(0n)
  })
})
