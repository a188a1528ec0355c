/**
 * An ILP-over-HTTP link in a cluster: two conn processes on one Redis prefix both have the account `peer` over
 * @conn/plugin-http (each its own HTTP port) to a peer running ilp-plugin-http (npm), which posts to the first
 * instance only. alice is connected to the first instance, bob to the second. Both instances send on the link
 * themselves (the second goes on sending after the first is stopped), the peer's packets for bob come in at the
 * first instance and reach him through the second, and the peer's balance in Redis is exactly what was fulfilled.
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import * as IlpPacket from 'ilp-packet'
import IlpPluginHttpModule from 'ilp-plugin-http'
import { decodeReply, freePort, sleep, type DecodedReply, type Node } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, btpChild, clientNode, clusterMemberEnv, deletePrefix, paymentData, stopEverything } from '../helpers/store.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const IlpPluginHttp = ((IlpPluginHttpModule as unknown as { default?: unknown }).default ?? IlpPluginHttpModule) as new (options: unknown) => {
  connect: () => Promise<void>
  disconnect: () => Promise<void>
  sendData: (data: Buffer) => Promise<Buffer>
  registerDataHandler: (handler: (data: Buffer) => Promise<Buffer>) => void
}

describe('e2e: an ILP-over-HTTP link in a cluster', function () {
  this.timeout(30_000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `conn-e2e-cluster-http:${randomUUID()}:`
  const secret = 'cluster-http-' + randomUUID()
  const conns: ConnProcess[] = []
  const nodes: Node[] = []
  let peer: InstanceType<typeof IlpPluginHttp> | undefined

  after(async () => {
    await peer?.disconnect().catch(() => {})
    await stopEverything(nodes.splice(0), conns.splice(0))
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  function startInstance (ports: { alice: number, bob: number, http: number }, peerPort: number): ConnProcess {
    return startConn([], clusterMemberEnv(REDIS_URL, prefix, secret, {
      alice: btpChild(ports.alice, 'alice-secret'),
      bob: btpChild(ports.bob, 'bob-secret'),
      peer: {
        relation: 'child', plugin: '@conn/plugin-http', assetCode: 'USD', assetScale: 9,
        options: {
          incoming: { port: ports.http, host: '127.0.0.1', secretToken: 'to-conn' },
          outgoing: { url: `http://127.0.0.1:${peerPort}/`, secretToken: 'to-peer' }
        },
        balance: { minimum: '-1000000000', maximum: '1000000000' }
      }
    }))
  }

  it('every instance sends on the link, the peer reaches a client of another instance, and the balance is exact', async () => {
    await redis.connect()
    const peerPort = await freePort()
    const ports = [
      { alice: await freePort(), bob: await freePort(), http: await freePort() },
      { alice: await freePort(), bob: await freePort(), http: await freePort() }
    ] as const
    conns.push(startInstance(ports[0], peerPort), startInstance(ports[1], peerPort))
    const fulfillFrom = (self: string) => (prepare: { data: Buffer }) => answer(prepare.data, false, self)
    const alice = await clientNode('alice', ports[0].alice, 'alice-secret', fulfillFrom(`${OWN_ADDRESS}.alice`))
    const bob = await clientNode('bob', ports[1].bob, 'bob-secret', fulfillFrom(`${OWN_ADDRESS}.bob`))
    nodes.push(alice, bob)
    await Promise.all(conns.map(async (conn) => { await conn.waitFor('connector ready') }))

    // the peer fulfils what it gets (paymentData carries the fulfillment) and posts only to the first instance
    const atPeer: string[] = []
    peer = new IlpPluginHttp({ incoming: { port: peerPort, secretToken: 'to-peer' }, outgoing: { url: `http://127.0.0.1:${ports[0].http}/`, secretToken: 'to-conn' } })
    peer.registerDataHandler(async (data) => {
      const prepare = IlpPacket.deserializeIlpPrepare(data)
      atPeer.push(`${prepare.destination} ${prepare.amount}`)
      return answer(prepare.data, false, `${OWN_ADDRESS}.peer`)
    })
    await peer.connect()
    const peerBalance = async (): Promise<bigint> => BigInt(await redis.get(prefix + 'balance:peer') ?? '0')
    const pay = async (node: Node, amount: bigint, index: number): Promise<DecodedReply> =>
      decodeReply(await node.send({ amount, destination: `${OWN_ADDRESS}.peer.x`, expiresIn: 5000, ...paymentData(index) }))

    expect((await pay(alice, 100n, 1)).type).to.equal('fulfill')
    expect((await pay(bob, 20n, 2)).type).to.equal('fulfill')

    // the peer pays bob through the first instance, which passes it to the second (bob's), until the instances know each other
    let fromPeer: DecodedReply | undefined
    const deadline = Date.now() + 5000
    for (let index = 3; Date.now() < deadline; index++) {
      const { data, executionCondition } = paymentData(index)
      fromPeer = decodeReply(await peer.sendData(IlpPacket.serializeIlpPrepare({
        amount: '7', destination: `${OWN_ADDRESS}.bob`, executionCondition, expiresAt: new Date(Date.now() + 5000), data
      })))
      if (fromPeer.type === 'fulfill') break
      await sleep(50)
    }
    expect(fromPeer?.type).to.equal('fulfill')
    expect(bob.received.some((prepare) => prepare.amount === 7n)).to.equal(true)

    // the first instance stops: the second still sends on the link by itself
    conns[0]!.child.kill('SIGTERM')
    expect(await conns[0]!.exited).to.equal(0)
    expect((await pay(bob, 3n, 100)).type).to.equal('fulfill')

    expect(atPeer).to.deep.equal([`${OWN_ADDRESS}.peer.x 100`, `${OWN_ADDRESS}.peer.x 20`, `${OWN_ADDRESS}.peer.x 3`])
    // the peer was paid 100 + 20 + 3 by us (its balance goes down) and paid bob 7 (up)
    expect(await peerBalance()).to.equal(7n - 123n)
  })
})
