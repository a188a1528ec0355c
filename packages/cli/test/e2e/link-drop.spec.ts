/**
 * A next hop that goes away mid-flight, over real sockets, with the connector's accounts configured as operators
 * write them (`"plugin": "ilp-plugin-btp"`, which conn runs on its own transport): the packets in flight to it are
 * rejected at once with T01 (not at their expiry), their reserved balance is released, later packets get T01 until
 * it is back, and traffic resumes by itself when it reconnects. For a parent the address learnt over ILDCP is kept
 * and the default route comes back.
 */
import { expect } from 'chai'
import { BtpPlugin as ConnBtpPlugin } from '@conn/plugin-btp'
import type { Connector } from '@conn/core'
import {
  Harness, IlpPacket, decodeReply, freePort, fulfillPacket, rejectPacket, sleep, waitFor,
  type DecodedReply, type Node
} from '../helpers/harness.ts'
import * as Ildcp from 'ilp-protocol-ildcp'

/** An account as an operator's config has it: the package name and its options. */
function listener (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } }, ...extra }
}

describe('e2e: a next hop that goes away mid-flight', function () {
  this.timeout(20000)
  let h: Harness
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })

  it('rejects its packets in flight with T01 at once, releases their reservations, T01s until it is back, then resumes', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), carol: await freePort() }
    const app: Connector = h.connector({
      ilpAddress: 'test.conn',
      backend: 'one-to-one',
      spread: 0,
      accounts: {
        alice: listener(ports.alice, { balance: { maximum: '1000000000' } }),
        bob: listener(ports.bob, { balance: { minimum: '-1000000000', maximum: '0' } }),
        carol: listener(ports.carol)
      } as never
    })
    const [alice, bob, carol] = (['alice', 'bob', 'carol'] as const).map((name) => h.client(name, `btp+ws://:s@127.0.0.1:${ports[name]}`)) as [Node, Node, Node]
    await Promise.all([app.listen(), alice.connect(), bob.connect(), carol.connect()])

    // steady load to carol throughout, every packet fulfilled
    let loading = true
    const load: Array<Promise<DecodedReply>> = []
    const loader = (async () => {
      while (loading) {
        load.push(alice.pay({ amount: 1, destination: 'test.conn.carol', ...h.condition() }))
        await sleep(5)
      }
    })()

    // bob holds 20 packets (never answers them), then his link drops
    bob.handler = async () => await new Promise<Buffer>(() => {})
    const held = Array.from({ length: 20 }, async () => await alice.pay({ amount: 100, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() }))
    await waitFor('bob to hold 20 packets', () => bob.received.length === 20)
    expect(await app.balances.get('bob')).to.equal(-2000n) // reserved
    const dropped = Date.now()
    await bob.plugin.disconnect()
    const replies = await Promise.all(held)
    expect(Date.now() - dropped, 'ms from the drop to the last reject').to.be.below(1000)
    expect(replies.map((r) => r.type === 'reject' ? r.code : r.type)).to.deep.equal(Array(20).fill('T01'))
    expect(replies[0]).to.deep.include({ triggeredBy: 'test.conn', message: 'no connection to account. account=bob' })
    expect(await app.balances.get('bob')).to.equal(0n) // reservations released

    // while bob is away
    expect(await alice.pay({ amount: 100, destination: 'test.conn.bob', ...h.condition() })).to.deep.include({ type: 'reject', code: 'T01' })

    // bob comes back (a new client, the same secret): traffic resumes by itself
    const bob2 = h.client('bob2', `btp+ws://:s@127.0.0.1:${ports.bob}`)
    await bob2.connect()
    await waitFor('the connector to see bob connected', () => app.getAccount('bob')!.isConnected())
    expect(await alice.pay({ amount: 100, destination: 'test.conn.bob', ...h.condition() })).to.deep.include({ type: 'fulfill' })
    loading = false
    await loader
    const loadReplies = await Promise.all(load)
    expect(loadReplies.every((r) => r.type === 'fulfill'), 'the load to carol').to.equal(true)
    // the books: alice paid for what was fulfilled, bob was paid for his one packet, nothing else moved
    expect(await app.balances.get('bob')).to.equal(-100n)
    expect(await app.balances.get('alice')).to.equal(100n + BigInt(loadReplies.length))
  })

  it('keeps the address learnt from a parent that drops, T01s towards it, and routes through it again when it is back', async () => {
    const upPort = await freePort()
    const kidPort = await freePort()
    // the parent: conn's own BTP server, answering ILDCP and fulfilling what it is sent
    let up = new ConnBtpPlugin({ listener: { port: upPort, secret: 'up', wsOpts: { host: '127.0.0.1', port: upPort } } })
    const fulfillments = new Map<string, Buffer>()
    const serveParent = (plugin: ConnBtpPlugin): void => {
      plugin.registerDataHandler(async (data: Buffer) => {
        const prepare = IlpPacket.deserializeIlpPrepare(data)
        if (prepare.destination === 'peer.config') {
          return await Ildcp.serve({ requestPacket: data, handler: async () => ({ clientAddress: 'test.up.conn', assetScale: 9, assetCode: 'XRP' }), serverAddress: 'test.up' })
        }
        if (prepare.destination.startsWith('peer.')) return rejectPacket({ code: 'F01', triggeredBy: 'test.up', message: 'no' })
        const fulfillment = fulfillments.get(prepare.executionCondition.toString('hex'))
        return fulfillment === undefined ? rejectPacket({ code: 'F99', triggeredBy: 'test.up', message: '?' }) : fulfillPacket(fulfillment)
      })
    }
    serveParent(up)
    const app = h.connector({
      backend: 'one-to-one',
      spread: 0,
      accounts: {
        up: { relation: 'parent', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { server: `btp+ws://:up@127.0.0.1:${upPort}`, reconnectIntervals: [50] } },
        kid: listener(kidPort)
      } as never
    })
    const kid = h.client('kid', `btp+ws://:s@127.0.0.1:${kidPort}`)
    await Promise.all([up.connect(), app.listen(), kid.connect()])
    expect(app.getOwnAddress()).to.equal('test.up.conn')
    const pay = async (): Promise<DecodedReply> => {
      const condition = h.condition()
      fulfillments.set(condition.executionCondition.toString('hex'), condition.fulfillment)
      return decodeReply(await kid.send({ amount: 5, destination: 'test.up.somebody', ...condition }))
    }
    expect(await pay()).to.deep.include({ type: 'fulfill' })

    await up.disconnect()
    await waitFor('the parent to be gone', () => !app.getAccount('up')!.isConnected())
    expect(await pay()).to.deep.include({ type: 'reject', code: 'T01' })
    expect(app.getOwnAddress()).to.equal('test.up.conn')
    expect(app.routingTable.resolve('test.up.somebody')).to.equal('up')

    up = new ConnBtpPlugin({ listener: { port: upPort, secret: 'up', wsOpts: { host: '127.0.0.1', port: upPort } } })
    serveParent(up)
    await up.connect()
    await waitFor('the connector to redial its parent', () => app.getAccount('up')!.isConnected(), 5000)
    expect(await pay()).to.deep.include({ type: 'fulfill' })
    expect(app.getOwnAddress()).to.equal('test.up.conn')
    await up.disconnect()
  })
})

