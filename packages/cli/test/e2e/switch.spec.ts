/**
 * The switch end to end: in-process conn connectors with real ilp-plugin-btp accounts, paid by real BTP
 * clients. Every assertion is on what a client observes: the reply bytes (code, message, triggeredBy) and
 * the Prepare the receiver got (amount, expiry, condition, data). Reference: spec/reference.md sections 3, 8.
 */
import { expect } from 'chai'
import type { Plugin } from '@conn/types'
import {
  BtpPlugin, Harness, PEER_PROTOCOL_CONDITION, decodeReply, freePort, fulfillPacket, rejectPacket, waitFor, type Node
} from '../helpers/harness.ts'

/** Fast settings: packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200 }

let h: Harness

/** The Prepares a node received other than peer protocol messages (route exchange talks to parents and peers). */
function payments (node: Node): Node['received'] {
  return node.received.filter((prepare) => !prepare.destination.startsWith('peer.'))
}

/** alice and bob, both children of test.conn, same scale. */
async function aliceAndBob (settings: Record<string, unknown> = {}): Promise<{ alice: Node, bob: Node, app: Awaited<ReturnType<Harness['network']>>['app'] }> {
  const { app, nodes } = await h.network({ ...FAST, ...settings, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } } })
  return { app, alice: nodes.alice!, bob: nodes.bob! }
}

describe('e2e: switch', function () {
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })
  this.timeout(10000)

  describe('ILDCP', () => {
    it('tells a child <connector address>.<account id> with its assetCode and assetScale', async () => {
      const { nodes } = await h.network({
        ...FAST,
        accounts: {
          alice: { relation: 'child', assetCode: 'EUR', assetScale: 4 },
          bob: { relation: 'child', assetCode: 'USD', assetScale: 6 }
        }
      })
      expect(await nodes.alice!.ildcp()).to.deep.equal({ clientAddress: 'test.conn.alice', assetCode: 'EUR', assetScale: 4 })
      expect(await nodes.bob!.ildcp()).to.deep.equal({ clientAddress: 'test.conn.bob', assetCode: 'USD', assetScale: 6 })
    })

    it('uses ilpAddressSegment instead of the account id when it is set (test.conn.x)', async () => {
      const { nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child', ilpAddressSegment: 'x' } } })
      expect((await nodes.alice!.ildcp()).clientAddress).to.equal('test.conn.x')
    })

    it('rejects a peer asking peer.config with F00 "Can\'t generate child address ..."', async () => {
      const { nodes } = await h.network({ ...FAST, accounts: { carl: { relation: 'peer' } } })
      const reply = await nodes.carl!.pay({ amount: 0, destination: 'peer.config', executionCondition: PEER_PROTOCOL_CONDITION })
      expect(reply).to.deep.include({
        type: 'reject',
        code: 'F00',
        triggeredBy: 'test.conn',
        message: "Can't generate child address for account that is isn't a child"
      })
    })
  })

  describe('forwarding', () => {
    it('delivers exactly what alice sent to bob (amount, destination, condition, data) and bob\'s Fulfill back', async () => {
      const { alice, bob } = await aliceAndBob()
      const { fulfillment, executionCondition } = h.condition()
      const data = Buffer.from('hello bob')
      const reply = await alice.pay({ amount: 12345, destination: 'test.conn.bob.wallet', executionCondition, data })

      expect(bob.received).to.have.length(1)
      const got = bob.received[0]!
      expect(got.amount).to.equal(12345n)
      expect(got.destination).to.equal('test.conn.bob.wallet')
      expect(got.executionCondition.equals(executionCondition)).to.equal(true)
      expect(got.data.equals(data)).to.equal(true)
      expect(reply.type).to.equal('fulfill')
      if (reply.type !== 'fulfill') return
      expect(reply.fulfillment.equals(fulfillment)).to.equal(true)
      expect(reply.data.toString()).to.equal('fulfilled by bob')
    })

    it('takes the default spread (0.002): 1000 units arrive as 998', async () => {
      const { nodes } = await h.network({ minMessageWindow: 200, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } } })
      const reply = await nodes.alice!.pay({ amount: 1000, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([998n])
    })

    it('converts scale 9 -> 6 with spread 0.01: 123456789 arrives as floor(123456789 x 0.99 / 1000)', async () => {
      const { nodes } = await h.network({
        ...FAST,
        spread: 0.01,
        accounts: { alice: { relation: 'child', assetScale: 9 }, bob: { relation: 'child', assetScale: 6 } }
      })
      const reply = await nodes.alice!.pay({ amount: 123456789, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([123456789n * 99n / 100n / 1000n])
      expect(nodes.bob!.received[0]!.amount).to.equal(122222n)
    })

    it('converts scale 2 -> 9 with spread 0.01: 12345 arrives as 12345 x 0.99 x 10^7', async () => {
      const { nodes } = await h.network({
        ...FAST,
        spread: 0.01,
        accounts: { alice: { relation: 'child', assetScale: 2 }, bob: { relation: 'child', assetScale: 9 } }
      })
      const reply = await nodes.alice!.pay({ amount: 12345, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([12345n * 99n * 10n ** 7n / 100n])
    })

    it('rejects an unreachable destination with F02 "no route found. ..." from the connector; bob sees nothing', async () => {
      const { alice, bob } = await aliceAndBob()
      const reply = await alice.pay({ amount: 10, destination: 'test.nowhere.x', ...h.condition() })
      expect(reply).to.deep.include({
        type: 'reject',
        code: 'F02',
        triggeredBy: 'test.conn',
        message: 'no route found. source=alice destination=test.nowhere.x'
      })
      expect(bob.received).to.have.length(0)
    })

    it('passes the receiver\'s Reject back byte for byte (code, triggeredBy = bob, message, data)', async () => {
      const { alice, bob } = await aliceAndBob()
      const bobsReject = rejectPacket({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'not today', data: Buffer.from([1, 2, 3, 4]) })
      bob.handler = () => bobsReject
      const reply = await alice.send({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.equals(bobsReject)).to.equal(true)
      expect(decodeReply(reply)).to.deep.include({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'not today' })
    })

    it('rejects a Fulfill whose fulfillment does not match with F05 "fulfillment did not match expected value."', async () => {
      const { alice, bob } = await aliceAndBob()
      bob.handler = () => fulfillPacket(Buffer.alloc(32, 7))
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F05', triggeredBy: 'test.conn', message: 'fulfillment did not match expected value.' })
    })

    it('rejects with T01 "no connection to account. account=bob" when bob\'s client has disconnected', async () => {
      const { app, alice, bob } = await aliceAndBob()
      await bob.disconnect()
      await waitFor('the connector to see bob disconnected', () => app.getAccount('bob')?.isConnected() === false)
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'T01', triggeredBy: 'test.conn', message: 'no connection to account. account=bob' })
      expect(bob.received).to.have.length(0)
    })
  })

  describe('expiry', () => {
    it('forwards with expiresAt = incoming expiry - minMessageWindow', async () => {
      const { alice, bob } = await aliceAndBob()
      const expiresAt = new Date(Date.now() + 2500)
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresAt, ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(bob.received[0]!.expiresAt).to.equal(expiresAt.getTime() - 200)
    })

    it('caps the outgoing expiry at now + maxHoldTime when the incoming expiry is far away', async () => {
      const { alice, bob } = await aliceAndBob({ maxHoldTime: 2000 })
      const before = Date.now()
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresIn: 60000, ...h.condition() })
      const after = Date.now()
      expect(reply.type).to.equal('fulfill')
      const outgoing = bob.received[0]!.expiresAt
      expect(outgoing).to.be.within(before + 2000, after + 2000)
    })

    it('rejects a packet expiring in less than 2 x minMessageWindow with R02 "source transfer expires too soon ..."', async () => {
      const { alice, bob } = await aliceAndBob()
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresIn: 300, ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'R02', triggeredBy: 'test.conn' })
      if (reply.type !== 'reject') return
      expect(reply.message).to.match(/^source transfer expires too soon to complete payment\. actualSourceExpiry=\S+ requiredSourceExpiry=\S+ currentTime=\S+$/)
      expect(bob.received).to.have.length(0)
    })

    it('rejects an already expired packet with R02 "source transfer has already expired. ..."', async () => {
      const { alice, bob } = await aliceAndBob()
      const expiresAt = new Date(Date.now() - 1000)
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresAt, ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'R02', triggeredBy: 'test.conn' })
      if (reply.type !== 'reject') return
      expect(reply.message).to.match(/^source transfer has already expired\. sourceExpiry=\S+ currentTime=\S+$/)
      expect(reply.message).to.contain('sourceExpiry=' + expiresAt.toISOString())
      expect(bob.received).to.have.length(0)
    })

    it('rejects with R00 "packet expired." at the outgoing expiry when bob never answers', async () => {
      // minMessageWindow 500 puts the outgoing expiry well before the incoming one, so the timing tells them apart.
      const { alice, bob } = await aliceAndBob({ minMessageWindow: 500 })
      bob.handler = bob.hold()
      const expiresAt = new Date(Date.now() + 1500)
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresAt, ...h.condition() })
      const answeredAt = Date.now()
      expect(reply).to.deep.include({ type: 'reject', code: 'R00', triggeredBy: 'test.conn', message: 'packet expired.' })
      expect(bob.received).to.have.length(1)
      const outgoingExpiry = bob.received[0]!.expiresAt
      expect(outgoingExpiry).to.equal(expiresAt.getTime() - 500)
      expect(answeredAt).to.be.within(outgoingExpiry, outgoingExpiry + 250)
    })
  })

  describe('reflectPayments', () => {
    it('false: alice paying her own address gets F02 "refusing to route payments back to sender. ..."', async () => {
      const { alice } = await aliceAndBob({ reflectPayments: false })
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.alice', ...h.condition() })
      expect(reply).to.deep.include({
        type: 'reject',
        code: 'F02',
        triggeredBy: 'test.conn',
        message: 'refusing to route payments back to sender. sourceAccount=alice destinationAccount=alice'
      })
      expect(alice.received).to.have.length(0)
    })

    it('true (default): a payment to alice\'s own address is forwarded back to alice and fulfilled', async () => {
      const { alice } = await aliceAndBob()
      const reply = await alice.pay({ amount: 10, destination: 'test.conn.alice.self', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(alice.received.map((p) => [p.destination, p.amount])).to.deep.equal([['test.conn.alice.self', 10n]])
    })
  })

  describe('routes', () => {
    it('sends test.other.x to bob by the static route {targetPrefix: test.other, peerId: bob}', async () => {
      const { alice, bob } = await aliceAndBob({ routes: [{ targetPrefix: 'test.other', peerId: 'bob' }] })
      const reply = await alice.pay({ amount: 10, destination: 'test.other.x', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(bob.received.map((p) => p.destination)).to.deep.equal(['test.other.x'])
    })

    it('defaultRoute auto: sends test.anything to the first parent', async () => {
      const { nodes } = await h.network({
        ...FAST,
        accounts: { alice: { relation: 'child' }, bob: { relation: 'child' }, up: { relation: 'parent' }, up2: { relation: 'parent' } }
      })
      const reply = await nodes.alice!.pay({ amount: 10, destination: 'test.anything', ...h.condition() })
      expect(reply).to.deep.include({ type: 'fulfill' })
      // parents also get route control messages (peer.route.*) from route exchange; count payments only
      expect(payments(nodes.up!).map((p) => p.destination)).to.deep.equal(['test.anything'])
      expect(payments(nodes.up2!)).to.have.length(0)
      expect(nodes.bob!.received).to.have.length(0)
    })

    it('defaultRoute "": no default route, test.anything gets F02 and the parent sees nothing', async () => {
      const { nodes } = await h.network({
        ...FAST,
        defaultRoute: '',
        accounts: { alice: { relation: 'child' }, up: { relation: 'parent' } }
      })
      const reply = await nodes.alice!.pay({ amount: 10, destination: 'test.anything', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F02', message: 'no route found. source=alice destination=test.anything' })
      expect(payments(nodes.up!)).to.have.length(0)
    })
  })

  describe('peer protocol', () => {
    it('rejects peer.* with a condition other than SHA-256(32 zero bytes) with F01 "condition must be peer protocol condition."', async () => {
      const { alice } = await aliceAndBob()
      const reply = await alice.pay({ amount: 0, destination: 'peer.config', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F01', triggeredBy: 'test.conn', message: 'condition must be peer protocol condition.' })
    })

    it('rejects peer.foo with the right condition with F01 "unknown peer protocol."', async () => {
      const { alice } = await aliceAndBob()
      const reply = await alice.pay({ amount: 0, destination: 'peer.foo', executionCondition: PEER_PROTOCOL_CONDITION })
      expect(reply).to.deep.include({ type: 'reject', code: 'F01', triggeredBy: 'test.conn', message: 'unknown peer protocol.' })
    })
  })

  describe('ilpAddress unknown', () => {
    it('learns test.up.down from its parent over ILDCP; its child then gets test.up.down.kid and can pay through both', async () => {
      // The parent: test.up, with this connector as its child "down" and a receiver "carol".
      const downListener = await h.listener()
      const carolListener = await h.listener()
      const carol = h.client('carol', carolListener.url)
      carol.address = 'test.up.carol'
      const up = h.connector({
        ...FAST,
        ilpAddress: 'test.up',
        backend: 'one-to-one',
        accounts: {
          down: { relation: 'child', plugin: downListener.plugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 9 },
          carol: { relation: 'child', plugin: carolListener.plugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 9 }
        }
      })
      // This connector: no address configured, a parent account that dials the parent's listener.
      const kidListener = await h.listener()
      const kid = h.client('kid', kidListener.url)
      const parentPlugin = new BtpPlugin({ server: downListener.url, reconnectIntervals: [50] })
      const down = h.connector({
        ...FAST,
        backend: 'one-to-one',
        accounts: {
          parent: { relation: 'parent', plugin: parentPlugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 9 },
          kid: { relation: 'child', plugin: kidListener.plugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 9 }
        }
      })
      await Promise.all([up.listen(), down.listen(), carol.connect(), kid.connect()])

      expect(down.getOwnAddress()).to.equal('test.up.down')
      expect(await kid.ildcp()).to.deep.equal({ clientAddress: 'test.up.down.kid', assetCode: 'XYZ', assetScale: 9 })
      const expiresAt = new Date(Date.now() + 2500)
      const reply = await kid.pay({ amount: 1000, destination: 'test.up.carol', expiresAt, ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(carol.received.map((p) => p.amount)).to.deep.equal([1000n])
      // Two hops, each shaving minMessageWindow off the expiry.
      expect(carol.received[0]!.expiresAt).to.equal(expiresAt.getTime() - 400)
    })
  })

  describe('ilp-plugin-mini-accounts', () => {
    /** A connector with a mini-accounts account "mini" (test.conn.mini.<user>) and a plain BTP child carol. */
    async function withMiniAccounts (): Promise<{ alice: Node, bob: Node, carol: Node }> {
      const port = await freePort()
      const { nodes } = await h.network({
        ...FAST,
        accounts: {
          mini: { relation: 'child', plugin: 'ilp-plugin-mini-accounts', options: { wsOpts: { host: '127.0.0.1', port } } },
          carol: { relation: 'child' }
        }
      })
      const alice = h.client('alice', `btp+ws://alice:pw@127.0.0.1:${port}`)
      const bob = h.client('bob', `btp+ws://bob:pw@127.0.0.1:${port}`)
      await Promise.all([alice.connect(), bob.connect()])
      return { alice, bob, carol: nodes.carol! }
    }

    it('gives its users test.conn.mini.alice / .bob over ILDCP, and alice pays bob the exact amount', async () => {
      const { alice, bob } = await withMiniAccounts()
      expect(await alice.ildcp()).to.deep.equal({ clientAddress: 'test.conn.mini.alice', assetCode: 'XYZ', assetScale: 9 })
      expect(await bob.ildcp()).to.deep.equal({ clientAddress: 'test.conn.mini.bob', assetCode: 'XYZ', assetScale: 9 })
      const { fulfillment, executionCondition } = h.condition()
      const reply = await alice.pay({ amount: 4242, destination: 'test.conn.mini.bob', executionCondition })
      expect(reply.type).to.equal('fulfill')
      if (reply.type === 'fulfill') expect(reply.fulfillment.equals(fulfillment)).to.equal(true)
      expect(bob.received.map((p) => [p.destination, p.amount])).to.deep.equal([['test.conn.mini.bob', 4242n]])
    })

    it('carries a payment from a plain BTP child to a mini-accounts user', async () => {
      const { alice, carol } = await withMiniAccounts()
      const reply = await carol.pay({ amount: 777, destination: 'test.conn.mini.alice', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(alice.received.map((p) => [p.destination, p.amount])).to.deep.equal([['test.conn.mini.alice', 777n]])
    })
  })
})
