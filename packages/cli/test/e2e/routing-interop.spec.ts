/**
 * Route exchange with the reference connector: ilp-connector 23.0.2 (a devDependency) runs in process as a
 * black-box peer of a conn connector, over real BTP on 127.0.0.1, once with conn listening and once with
 * the reference listening. Each side has one child. Nothing is configured but the link: conn must learn
 * the reference's routes over CCP and the reference conn's (read through its admin API, GET /routing),
 * and payments must cross in both directions with their exact amounts.
 */
import { expect } from 'chai'
import type { Connector } from '@conn/core'
import { Harness, freePort, waitFor, type Node } from '../helpers/harness.ts'
import { createReference, type Reference, type ReferenceRouting } from '../helpers/reference.ts'
import { ROUTING_FAST, btpClient, btpListener, btpUrl, routingStatus } from '../helpers/routing.ts'

let h: Harness
let ref: Reference | undefined

/** Pays `amount` from one child to another and checks the receiver got exactly that. */
async function pay (from: Node, to: Node, amount: bigint): Promise<void> {
  const before = to.received.length
  const reply = await from.pay({ amount, destination: to.address, ...h.condition() })
  expect(reply, `${from.name} -> ${to.name}`).to.deep.include({ type: 'fulfill' })
  expect(to.received.slice(before).map((p) => p.amount), `${from.name} -> ${to.name}`).to.deep.equal([amount])
}

/**
 * conn (test.conn, child alice) and the reference (test.ref, child bob) peered over BTP;
 * `connListens`: conn has the listener and the reference dials, else the other way round.
 */
async function peered (connListens: boolean): Promise<{ conn: Connector, alice: Node, bob: Node }> {
  const linkPort = await freePort()
  const [alicePort, bobPort] = [await freePort(), await freePort()]
  const conn = h.connector({
    ...ROUTING_FAST,
    ilpAddress: 'test.conn',
    accounts: {
      alice: { relation: 'child', plugin: btpListener(alicePort), assetCode: 'XYZ', assetScale: 9 },
      ref: { relation: 'peer', plugin: connListens ? btpListener(linkPort) : btpClient(linkPort), assetCode: 'XYZ', assetScale: 9 }
    }
  })
  ref = await createReference({
    ilpAddress: 'test.ref',
    adminApi: true,
    settings: {
      minMessageWindow: ROUTING_FAST.minMessageWindow,
      routeBroadcastInterval: ROUTING_FAST.routeBroadcastInterval,
      routeExpiry: ROUTING_FAST.routeExpiry,
      initialConnectTimeout: ROUTING_FAST.initialConnectTimeout
    },
    accounts: {
      bob: { relation: 'child', plugin: btpListener(bobPort) },
      conn: { relation: 'peer', plugin: connListens ? btpClient(linkPort) : btpListener(linkPort) }
    }
  })
  const alice = h.client('alice', btpUrl(alicePort))
  alice.address = 'test.conn.alice'
  const bob = h.client('bob', btpUrl(bobPort))
  bob.address = 'test.ref.bob'
  await Promise.all([conn.listen(), ref.app.listen(), alice.connect(), bob.connect()])
  return { conn, alice, bob }
}

/** Waits until conn routes test.ref to the reference and the reference routes test.conn to conn. */
async function learnedBothWays (conn: Connector): Promise<ReferenceRouting> {
  await waitFor('conn to learn test.ref', () => conn.routingTable.get('test.ref')?.nextHop === 'ref', 5000)
  let status: ReferenceRouting | undefined
  const deadline = Date.now() + 5000
  while ((status = await ref!.routing()).localRoutingTable['test.conn'] === undefined) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the reference to learn test.conn')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return status
}

describe('e2e: routing interop with the reference connector (ilp-connector 23.0.2)', function () {
  this.timeout(15000)

  beforeEach(() => { h = new Harness() })
  afterEach(async () => {
    await ref?.close()
    ref = undefined
    await h.close()
  })

  for (const connListens of [true, false]) {
    const link = connListens ? 'conn listens, the reference dials' : 'the reference listens, conn dials'
    it(`learns routes both ways (${link}) and pays across in both directions with exact amounts`, async () => {
      const { conn, alice, bob } = await peered(connListens)
      const status = await learnedBothWays(conn)
      expect(conn.routingTable.get('test.ref')).to.deep.include({ nextHop: 'ref', path: ['test.ref'] })
      expect(status.localRoutingTable['test.conn']).to.deep.equal({ nextHop: 'conn', path: 'test.conn' })
      // Each follows the other's routing table.
      const connStatus = routingStatus(conn)
      expect(status.peers.conn!.receive!.routingTableId).to.equal(connStatus.routingTableId)
      expect(connStatus.peers.ref!.receive!.routingTableId).to.equal(status.routingTableId)
      // Both asked the other for updates (SYNC, which both report under the same name).
      expect(status.peers.conn!.send!.mode).to.equal('SYNC')
      expect(connStatus.peers.ref!.send!.mode).to.equal('SYNC')

      await pay(alice, bob, 1234n)
      await pay(bob, alice, 4321n)
    })
  }

  it('keeps the reference\'s routes past their hold-down time while its heartbeats arrive (conn enforces expiry)', async () => {
    const { conn, alice, bob } = await peered(true)
    await learnedBothWays(conn)
    await new Promise((resolve) => setTimeout(resolve, ROUTING_FAST.routeExpiry + 500))
    expect(conn.routingTable.get('test.ref')).to.deep.include({ nextHop: 'ref' })
    await pay(alice, bob, 77n)
  })
})
