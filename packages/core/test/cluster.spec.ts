import { TYPES_RANGE } from '@conn/types'
/**
 * The connector with a store that offers a cluster (a fake one): a next hop not connected here but reached by
 * the cluster passes the switch, runs the outgoing pipeline here once, and leaves through the cluster at the
 * last step; one reached by nobody is T01 as before; one connected here leaves through its own plugin. The
 * cluster starts with the accounts and stops before the plugins disconnect.
 */
import { expect } from 'chai'
import * as IlpPacket from 'ilp-packet'
import type { Account, AccountConfig, Cluster, ClusterHost, IlpPrepare, MiddlewareManifest, Plugin, SharedRoute, StoreManifest } from '@conn/types'
import { createApp, MemoryStore, type Connector } from '../src/index.ts'
import { MockPlugin } from './helpers/mock-plugin.ts'
import { silentLogger } from './helpers/logger.ts'
import { REQUIRED_STAND_INS } from './helpers/stand-ins.ts'

const FULFILLMENT = Buffer.alloc(32, 7)

class FakeCluster implements Cluster {
  host: ClusterHost | undefined
  readonly remote = new Set<string>()
  readonly sent: Array<{ account: string, prepare: IlpPrepare, packet: Buffer }> = []
  readonly log: string[]
  constructor (log: string[]) { this.log = log }
  async start (host: ClusterHost): Promise<void> { this.host = host; this.log.push('cluster:start') }
  reaches (accountId: string): boolean { return this.remote.has(accountId) }
  send (account: Account, prepare: IlpPrepare, packet: Buffer): Promise<Buffer> | undefined {
    if (account.plugin.isConnected() || !this.remote.has(account.id)) return undefined
    this.sent.push({ account: account.id, prepare: { ...prepare }, packet })
    return Promise.resolve(IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('from the other member') }))
  }

  async stop (): Promise<void> { this.log.push('cluster:stop') }

  readonly shared: string[] = []
  shareRoute (accountId: string, prefix: string, route: SharedRoute | undefined): void {
    this.shared.push(`${accountId} ${prefix} ${route === undefined ? '-' : route.path.join(',')}`)
  }
}

function child (plugin: Plugin): AccountConfig {
  return { relation: 'child', plugin, assetCode: 'USD', assetScale: 9 }
}

describe('cluster (a store that offers one)', () => {
  let app: Connector | undefined
  let log: string[]
  let cluster: FakeCluster
  let alice: MockPlugin
  let bob: MockPlugin
  afterEach(async () => { await app?.shutdown(); app = undefined })

  async function start (bobConnects: boolean): Promise<void> {
    log = []
    cluster = new FakeCluster(log)
    const store: StoreManifest = {
      kind: 'store', name: 'clustered', types: TYPES_RANGE,
      create: () => Object.assign(new MemoryStore(), { cluster })
    }
    const recorder: MiddlewareManifest = {
      kind: 'middleware', name: 'recorder', types: TYPES_RANGE,
      create: () => ({ name: 'recorder', outgoingData: async (ctx, next) => { log.push(`out:${ctx.account.id}`); return await next(ctx) } })
    }
    alice = new MockPlugin()
    bob = new MockPlugin()
    if (!bobConnects) bob.connect = async () => {}
    const bobDisconnect = bob.disconnect.bind(bob)
    bob.disconnect = async () => { log.push('bob:disconnect'); await bobDisconnect() }
    app = createApp({
      ilpAddress: 'test.conn', backend: 'one-to-one', store: 'clustered', initialConnectTimeout: 50,
      middlewares: { recorder: { type: 'recorder' } },
      accounts: { alice: child(alice), bob: child(bob) }
    }, { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, clustered: { default: store }, recorder: { default: recorder } } })
    await app.listen()
  }

  function pay (expiresAt: number): Promise<Buffer> {
    return alice.receive(IlpPacket.serializeIlpPrepare({
      amount: '1234', destination: 'test.conn.bob.x', executionCondition: Buffer.alloc(32, 1), expiresAt: new Date(expiresAt), data: Buffer.from('hi')
    }))
  }

  it('sends a Prepare for a next hop another member holds through the cluster, after the outgoing pipeline ran here once', async () => {
    await start(false)
    expect(log).to.deep.equal(['cluster:start'])
    expect(cluster.host!.getAccount('bob')!.plugin).to.equal(bob)
    cluster.remote.add('bob')
    const expiresAt = Date.now() + 5000
    const reply = IlpPacket.deserializeIlpFulfill(await pay(expiresAt))
    expect(reply.fulfillment).to.deep.equal(FULFILLMENT)
    expect(reply.data.toString()).to.equal('from the other member')
    expect(log).to.deep.equal(['cluster:start', 'out:bob'])
    expect(bob.sentData).to.deep.equal([])
    expect(cluster.sent).to.have.length(1)
    const { account, prepare, packet } = cluster.sent[0]!
    expect(account).to.equal('bob')
    // the packet as the pipeline left it: amount converted once (default spread 0.2 %: floor(1234 x 0.998)), expiry
    // shortened once (minMessageWindow 1000)
    const decoded = IlpPacket.deserializeIlpPrepare(packet)
    expect(decoded.amount).to.equal('1231')
    expect(decoded.destination).to.equal('test.conn.bob.x')
    expect(decoded.expiresAt.getTime()).to.equal(expiresAt - 1000)
    expect(prepare.expiresAt).to.equal(expiresAt - 1000)
    expect(decoded.data.toString()).to.equal('hi')
  })

  it('answers T01 for a next hop connected nowhere, without asking the cluster to send', async () => {
    await start(false)
    const reply = IlpPacket.deserializeIlpReject(await pay(Date.now() + 5000))
    expect(reply.code).to.equal('T01')
    expect(reply.message).to.equal('no connection to account. account=bob')
    expect(cluster.sent).to.deep.equal([])
    expect(log).to.deep.equal(['cluster:start'])
  })

  it('sends through the local plugin when the next hop is connected here, and stops the cluster before plugins disconnect', async () => {
    await start(true)
    cluster.remote.add('bob')
    bob.onSendData = async () => IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('local') })
    const reply = IlpPacket.deserializeIlpFulfill(await pay(Date.now() + 5000))
    expect(reply.data.toString()).to.equal('local')
    expect(bob.sentData).to.have.length(1)
    expect(cluster.sent).to.deep.equal([])
    await app!.shutdown()
    app = undefined
    expect(log.filter((l) => !l.startsWith('out:'))).to.deep.equal(['cluster:start', 'cluster:stop', 'bob:disconnect'])
  })

  it('one routing view: tells the cluster the routes the table learns, and a route imported from it goes to its account (through the cluster) without being told back', async () => {
    await start(false)
    cluster.remote.add('bob')
    app!.routingTable.addLearnedRoute('alice', 'test.near', { path: ['test.near'] })
    app!.routingTable.removeLearnedRoute('alice', 'test.near')
    expect(cluster.shared).to.deep.equal(['alice test.near test.near', 'alice test.near -'])

    cluster.host!.importRoute('bob', 'test.far', { path: ['test.far'] })
    cluster.host!.importRoute('nobody', 'test.nowhere', { path: [] }) // not an account here: ignored
    expect(cluster.shared).to.have.length(2)
    expect(app!.routingTable.get('test.far')?.nextHop).to.equal('bob')
    expect(app!.routingTable.get('test.nowhere')).to.equal(undefined)
    const reply = IlpPacket.deserializeIlpFulfill(await alice.receive(IlpPacket.serializeIlpPrepare({
      amount: '10', destination: 'test.far.x', executionCondition: Buffer.alloc(32, 1), expiresAt: new Date(Date.now() + 5000), data: Buffer.alloc(0)
    })))
    expect(reply.fulfillment).to.deep.equal(FULFILLMENT)
    expect(cluster.sent.map((sent) => sent.prepare.destination)).to.deep.equal(['test.far.x'])

    cluster.host!.importRoute('bob', 'test.far', undefined)
    expect(app!.routingTable.get('test.far')).to.equal(undefined)
    expect(cluster.shared).to.have.length(2)
  })
})
