/**
 * The limit middlewares end to end, loaded by the connector by package name as built-ins: rateLimit (T05),
 * maxPacketAmount (F08 and its data, and a real STREAM payment that shrinks its packets to fit), throughput
 * (T04 and refill), and `disableMiddleware` taking each limit away. In-process conn connectors with real
 * ilp-plugin-btp accounts, paid by real BTP clients; assertions are on what the clients observe.
 */
import { expect } from 'chai'
import { Harness, sleep, type DecodedReply } from '../helpers/harness.ts'
import { backToBack, burst, counterValue, recordSent } from '../helpers/limits.ts'
import { createStreamServer, sendStreamPayment } from '../helpers/stream.ts'

/** Spread 0 so amounts arrive unchanged; packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200 }
const BOB = 'test.conn.bob'

let h: Harness

function codes (replies: DecodedReply[]): string[] {
  return replies.map((r) => r.type === 'fulfill' ? 'fulfill' : r.code)
}

describe('e2e: limits', function () {
  this.timeout(10000)
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })

  describe('rateLimit', () => {
    const rateLimit = { capacity: 3, refillCount: 1, refillPeriod: 60000 }

    it('rejects the 4th of 4 packets sent back to back with T05 "too many requests, throttling." and empty data (capacity 3); the receiver sees 3', async () => {
      const { app, nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', rateLimit }, bob: { relation: 'child' } } })
      const replies = await backToBack(h, nodes.alice!, 4, BOB)

      expect(codes(replies)).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'T05'])
      expect(replies[3]).to.deep.include({ type: 'reject', code: 'T05', triggeredBy: 'test.conn', message: 'too many requests, throttling.' })
      expect((replies[3] as { data: Buffer }).data.length).to.equal(0)
      expect(nodes.bob!.received).to.have.length(3)
      expect(await counterValue(app, 'ilp_connector_rate_limited_ilp_packets', { account: 'alice', asset: 'XYZ', scale: 9 })).to.equal(1)
    })

    it('lets exactly 3 of a simultaneous burst of 10 through and rejects 7 with T05, counted in ilp_connector_rate_limited_ilp_packets', async () => {
      const { app, nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', rateLimit }, bob: { relation: 'child' } } })
      const replies = await burst(h, nodes.alice!, 10, BOB)

      expect(codes(replies).filter((c) => c === 'fulfill')).to.have.length(3)
      expect(codes(replies).filter((c) => c === 'T05')).to.have.length(7)
      expect(nodes.bob!.received).to.have.length(3)
      expect(await counterValue(app, 'ilp_connector_rate_limited_ilp_packets', { account: 'alice', asset: 'XYZ', scale: 9 })).to.equal(7)
    })

    it('limits each account on its own: bob, without rateLimit, is not throttled by alice\'s burst', async () => {
      const { nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', rateLimit }, bob: { relation: 'child' } } })
      expect(codes(await backToBack(h, nodes.alice!, 4, BOB))).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'T05'])
      expect(codes(await burst(h, nodes.bob!, 10, 'test.conn.alice'))).to.deep.equal(Array(10).fill('fulfill'))
    })

    it('is gone with disableMiddleware ["rateLimit"]: the same 4 back to back and a burst of 10 are all fulfilled', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        disableMiddleware: ['rateLimit'],
        accounts: { alice: { relation: 'child', rateLimit }, bob: { relation: 'child' } }
      })
      expect(app.getMiddleware('rateLimit')).to.equal(undefined)
      expect(codes(await backToBack(h, nodes.alice!, 4, BOB))).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'fulfill'])
      expect(codes(await burst(h, nodes.alice!, 10, BOB))).to.deep.equal(Array(10).fill('fulfill'))
      expect(nodes.bob!.received).to.have.length(14)
      expect(await counterValue(app, 'ilp_connector_rate_limited_ilp_packets', { account: 'alice', asset: 'XYZ', scale: 9 })).to.equal(0)
    })
  })

  describe('maxPacketAmount', () => {
    it('rejects a Prepare over maxPacketAmount with F08, the message and data = received then maximum amount (UInt64 BE); the receiver never sees it', async () => {
      const { nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', maxPacketAmount: '1000' }, bob: { relation: 'child' } } })
      const reply = await nodes.alice!.pay({ amount: 1001, destination: BOB, ...h.condition() })

      expect(reply).to.deep.include({ type: 'reject', code: 'F08', triggeredBy: 'test.conn', message: 'packet size too large. maxAmount=1000 actualAmount=1001' })
      if (reply.type !== 'reject') return
      expect(reply.data.length).to.equal(16)
      expect(reply.data.readBigUInt64BE(0)).to.equal(1001n)
      expect(reply.data.readBigUInt64BE(8)).to.equal(1000n)
      expect(nodes.bob!.received).to.have.length(0)
    })

    it('forwards a Prepare of exactly maxPacketAmount', async () => {
      const { nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', maxPacketAmount: '1000' }, bob: { relation: 'child' } } })
      const reply = await nodes.alice!.pay({ amount: 1000, destination: BOB, ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([1000n])
    })

    it('lets a STREAM payment of 100,000 units through maxPacketAmount 1000 in full, in at least 100 packets of at most 1000', async () => {
      const { nodes } = await h.network({
        ...FAST,
        accounts: { sender: { relation: 'child', maxPacketAmount: '1000' }, receiver: { relation: 'child' } }
      })
      // STREAM answers on these plugins itself: take the harness's recording handlers off.
      const senderPlugin = nodes.sender!.plugin
      const receiverPlugin = nodes.receiver!.plugin
      senderPlugin.deregisterDataHandler()
      receiverPlugin.deregisterDataHandler()
      const sent = recordSent(senderPlugin)

      const receiver = await createStreamServer(receiverPlugin)
      try {
        const { destinationAccount, sharedSecret } = receiver.credentials()
        const paid = await sendStreamPayment(senderPlugin, destinationAccount, sharedSecret, 100_000n, { timeoutMs: 8000 })

        expect(paid.sent).to.equal(100_000n)
        expect(paid.delivered).to.equal(100_000n)
        expect(await receiver.waitForReceived(100_000n)).to.equal(100_000n)
        expect(receiver.totalReceived()).to.equal(100_000n)
        expect(receiver.errors).to.deep.equal([])

        const fulfilled = sent.filter((p) => p.result === 'fulfill' && p.amount > 0n)
        const tooLarge = sent.filter((p) => p.result === 'F08')
        console.log(`      STREAM 100,000 units with maxPacketAmount 1000: ${fulfilled.length} money packets fulfilled, ${tooLarge.length} F08, ${paid.elapsedMs.toFixed(0)} ms`)
        expect(fulfilled.reduce((sum, p) => sum + p.amount, 0n)).to.equal(100_000n)
        expect(fulfilled.length).to.be.at.least(100)
        expect(fulfilled.every((p) => p.amount <= 1000n)).to.equal(true)
        // The sender learned the limit from F08s whose data carried the maximum.
        expect(tooLarge.length).to.be.at.least(1)
        for (const reject of tooLarge) {
          expect(reject.data.readBigUInt64BE(0)).to.equal(reject.amount)
          expect(reject.data.readBigUInt64BE(8)).to.equal(1000n)
        }
      } finally {
        await receiver.close()
      }
    })

    it('is gone with disableMiddleware ["maxPacketAmount"]: an over-size Prepare is forwarded and fulfilled', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        disableMiddleware: ['maxPacketAmount'],
        accounts: { alice: { relation: 'child', maxPacketAmount: '1000' }, bob: { relation: 'child' } }
      })
      expect(app.getMiddleware('maxPacketAmount')).to.equal(undefined)
      const reply = await nodes.alice!.pay({ amount: 5000, destination: BOB, ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([5000n])
    })
  })

  describe('throughput', () => {
    it('rejects with T04 "exceeded money bandwidth, throttling." past incomingAmount in one period, passes 0-amount packets, and accepts again after refill', async () => {
      const { nodes } = await h.network({
        ...FAST,
        accounts: { alice: { relation: 'child', throughput: { incomingAmount: '1000', refillPeriod: 300 } }, bob: { relation: 'child' } }
      })
      const alice = nodes.alice!
      expect((await alice.pay({ amount: 1000, destination: BOB, ...h.condition() })).type).to.equal('fulfill')
      // The bucket refills continuously (1000 per 300 ms): a second 1000 needs the whole period.
      const over = await alice.pay({ amount: 1000, destination: BOB, ...h.condition() })
      expect(over).to.deep.include({ type: 'reject', code: 'T04', triggeredBy: 'test.conn', message: 'exceeded money bandwidth, throttling.' })
      expect((await alice.pay({ amount: 0, destination: BOB, ...h.condition() })).type).to.equal('fulfill')

      await sleep(350)
      expect((await alice.pay({ amount: 1000, destination: BOB, ...h.condition() })).type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([1000n, 0n, 1000n])
    })

    it('limits what goes out to an account by its outgoingAmount (T04 from the connector to the sender); the next hop never sees it', async () => {
      const { nodes } = await h.network({
        ...FAST,
        accounts: { alice: { relation: 'child' }, bob: { relation: 'child', throughput: { outgoingAmount: '1000', refillPeriod: 300 } } }
      })
      const alice = nodes.alice!
      expect((await alice.pay({ amount: 1000, destination: BOB, ...h.condition() })).type).to.equal('fulfill')
      // The bucket refills continuously (1000 per 300 ms): a second 1000 needs the whole period.
      const over = await alice.pay({ amount: 1000, destination: BOB, ...h.condition() })
      expect(over).to.deep.include({ type: 'reject', code: 'T04', triggeredBy: 'test.conn', message: 'exceeded money bandwidth, throttling.' })
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([1000n])
      // bob's own packets are not limited: only outgoingAmount is set.
      expect((await nodes.bob!.pay({ amount: 5000, destination: 'test.conn.alice', ...h.condition() })).type).to.equal('fulfill')
    })
  })
})
