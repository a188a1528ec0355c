/**
 * One routing view across a cluster: two conn processes on one Redis prefix (storeConfig.cluster) with the same
 * accounts; an outside connector (conn in this process, at test.peer) is a CCP peer of the account `peer` and
 * connects to instance 2 only. Instance 2 learns test.peer from it and shares the route through Redis; alice,
 * connected to instance 1 only, pays carol behind the peer: instance 1 routes to `peer`, which is held by
 * instance 2, and the Prepare goes over the internal link. When the peer goes away, instance 1 stops routing
 * there (F02, no route).
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { Harness, Node, decodeReply, freePort, sleep, type DecodedReply } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { ROUTING_FAST, btpClient } from '../helpers/routing.ts'
import { OWN_ADDRESS, answer, clientNode, deletePrefix, paymentData, stopEverything } from '../helpers/store.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'e2e-cluster-routing-' + randomUUID()
const CAROL = 'test.peer.carol'

interface Ports { alice: number, peer: number }

describe('e2e: one routing view across a cluster (CCP with a peer held by one instance)', function () {
  this.timeout(30000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `test-workers-${randomUUID()}:`
  const harness = new Harness()
  const instances: Array<{ conn: ConnProcess, ports: Ports }> = []
  const nodes: Node[] = []
  let alice: Node
  let carol: Node

  const balance = async (account: string): Promise<bigint> => BigInt(await redis.get(prefix + 'balance:' + account) ?? '0')

  function startInstance (ports: Ports): ConnProcess {
    const balance = { minimum: '-1000000000', maximum: '1000000000' }
    const listener = (port: number, secret: string): Record<string, unknown> => ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
    return startConn([], {
      CONNECTOR_ILP_ADDRESS: OWN_ADDRESS,
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_INITIAL_CONNECT_TIMEOUT: '300',
      CONNECTOR_ROUTE_BROADCAST_INTERVAL: String(ROUTING_FAST.routeBroadcastInterval),
      CONNECTOR_ROUTE_EXPIRY: String(ROUTING_FAST.routeExpiry),
      CONNECTOR_ROUTE_CLEANUP_INTERVAL: String(ROUTING_FAST.routeCleanupInterval),
      CONNECTOR_STORE: 'redis',
      CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix, cluster: { secret: SECRET, heartbeat: 250, ttl: 1000 } }),
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(ports.alice, 'alice-secret'), balance },
        // the secret is the routing helpers' (btpClient dials with it)
        peer: { relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(ports.peer, 'secret'), balance }
      })
    })
  }

  /** Pays carol from alice (on instance 1). */
  async function pay (amount: bigint, index: number, destination = CAROL): Promise<DecodedReply> {
    return decodeReply(await alice.send({ amount, destination, expiresIn: 5000, ...paymentData(index) }))
  }

  /** Pays until the reply is `expected` (fulfill or a reject code); returns the last reply. */
  async function until (expected: string, destination: string, timeout = 8000): Promise<DecodedReply> {
    const deadline = Date.now() + timeout
    let reply: DecodedReply
    let index = 1000
    do {
      reply = await pay(0n, index++, destination)
      if ((reply.type === 'reject' ? reply.code : reply.type) === expected) break
      await sleep(50)
    } while (Date.now() < deadline)
    return reply
  }

  before(async () => {
    await redis.connect()
    for (let i = 0; i < 2; i++) {
      const ports = { alice: await freePort(), peer: await freePort() }
      instances.push({ conn: startInstance(ports), ports })
    }
    await Promise.all(instances.map(async (i) => { await i.conn.waitFor('connector ready') }))
    alice = await clientNode('alice', instances[0]!.ports.alice, 'alice-secret', () => answer(Buffer.alloc(32), true, `${OWN_ADDRESS}.alice`))
    nodes.push(alice)
  })

  after(async () => {
    await harness.close().catch(() => {})
    await stopEverything(nodes.splice(0), instances.splice(0).map((i) => i.conn))
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('a prefix learned by instance 2 from its peer is routed there by instance 1 (fulfilled, booked once); a withdrawn prefix and then all of them when the peer goes away are no longer routed', async () => {
    // before the peer exists: instance 1 has no route
    const none = await pay(1n, 1)
    expect(none.type === 'reject' ? none.code : none.type).to.equal('F02')

    // the outside connector: a CCP peer dialing instance 2 only, with carol as its child
    const peer = await harness.network({
      ...ROUTING_FAST,
      ilpAddress: 'test.peer',
      // a second prefix it advertises, to withdraw while the link stays up
      routes: [{ targetPrefix: 'test.far', peerId: 'carol' }],
      accounts: {
        up: { relation: 'peer', plugin: btpClient(instances[1]!.ports.peer), assetCode: 'USD' },
        carol: { relation: 'child', assetCode: 'USD' }
      }
    })
    carol = peer.nodes.carol!
    carol.handler = (prepare) => answer(prepare.data, false, CAROL)
    const before = { alice: await balance('alice'), peer: await balance('peer') }

    const deadline = Date.now() + 10000
    let reply: DecodedReply
    let index = 10
    do {
      reply = await pay(0n, index++)
      if (reply.type !== 'fulfill') await sleep(50)
    } while (reply.type !== 'fulfill' && Date.now() < deadline)
    expect(reply.type, JSON.stringify(reply)).to.equal('fulfill')
    // instance 1 never had the peer connected: it routed through instance 2
    expect(instances[0]!.conn.stdout()).to.not.match(/"account":"peer","msg":"account connected"/)
    expect(instances[1]!.conn.stdout()).to.match(/"account":"peer","msg":"account connected"/)

    carol.received.length = 0
    const replies = await Promise.all([101n, 202n, 303n].map(async (amount, n) => await pay(amount, 100 + n)))
    expect(replies.map((r) => r.type)).to.deep.equal(['fulfill', 'fulfill', 'fulfill'])
    expect(carol.received.map((p) => p.amount)).to.have.members([101n, 202n, 303n])
    expect(await balance('alice') - before.alice).to.equal(606n)
    expect(await balance('peer') - before.peer).to.equal(-606n)

    // the peer withdraws test.far (its link stays up): instance 1 stops routing there, and still routes test.peer
    const far = await until('fulfill', 'test.far.x')
    expect(far.type, JSON.stringify(far)).to.equal('fulfill')
    peer.app.setStaticRoutes([])
    const withdrawn = await until('F02', 'test.far.x')
    expect(withdrawn.type === 'reject' ? withdrawn.code : withdrawn.type).to.equal('F02')
    expect((await pay(5n, 700)).type).to.equal('fulfill')

    // the peer goes away: instance 2 drops its routes, and instance 1 stops routing there
    await harness.close()
    const withdrawnBy = Date.now() + 5000
    let after: DecodedReply
    do {
      after = await pay(1n, 500)
      if (after.type === 'reject' && after.code === 'F02') break
      await sleep(50)
    } while (Date.now() < withdrawnBy)
    expect(after.type === 'reject' ? after.code : after.type).to.equal('F02')
    const shared = await redis.keys(prefix + 'cluster:routes:*')
    for (const key of shared) expect(await redis.hlen(key), key).to.equal(0)
  })
})
