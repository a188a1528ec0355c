/**
 * The cluster registry on the real Redis: two or three redis stores with `cluster` on one prefix, each started
 * with a small host whose accounts are fakes. What one member holds, the others reach (from memory, after its
 * announcement); a change is seen before the next heartbeat; a member that stops is gone at once; one with
 * another secret is never used.
 */
import { expect } from 'chai'
import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { RecordingLogger } from '@conn/testkit'
import type { Account, ClusterHost, IlpPrepare, Plugin, SharedRoute } from '@conn/types'
import { RedisStore } from '../src/index.ts'

const URL_ = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'unit-cluster-secret-' + randomUUID()

/** A plugin that is connected or not, answers with `reply to <packet>`, and (with clients) serves a set of clients. */
class FakePlugin extends EventEmitter {
  connected = true
  readonly received: string[] = []
  constructor (readonly name: string) { super() }
  isConnected (): boolean { return this.connected }
  async sendData (data: Buffer): Promise<Buffer> {
    this.received.push(data.toString())
    return Buffer.from(`${this.name} got ${data.toString()}`)
  }
}

class FakeClientsPlugin extends FakePlugin {
  readonly clients = new Set<string>()
  getPrefix (): string { return 'test.conn.minis.' }
  getAccounts (): string[] { return [...this.clients] }
  hasAccount (client: string): boolean { return this.clients.has(client) }
}

class FakeHost extends EventEmitter implements ClusterHost {
  readonly accounts = new Map<string, Account>()
  constructor (readonly logger: RecordingLogger, plugins: Record<string, FakePlugin>) {
    super()
    for (const [id, plugin] of Object.entries(plugins)) {
      this.accounts.set(id, { id, relation: 'child', assetCode: 'USD', assetScale: 9, config: {} as any, plugin: plugin as unknown as Plugin })
    }
  }

  /** The routes imported from other members, as "<account> <prefix>" -> path joined by spaces. */
  readonly imported = new Map<string, string>()

  importRoute (accountId: string, prefix: string, route: SharedRoute | undefined): void {
    if (route === undefined) this.imported.delete(accountId + ' ' + prefix)
    else this.imported.set(accountId + ' ' + prefix, route.path.join(' ') + (route.auth === undefined ? '' : ' auth=' + route.auth.toString('hex')))
  }

  getOwnAddress (): string { return 'test.conn' }
  getAccount (id: string): Account | undefined { return this.accounts.get(id) }
  getAccounts (): Iterable<Account> { return this.accounts.values() }
}

function prepare (destination: string): IlpPrepare {
  return { amount: 1n, destination, expiresAt: Date.now() + 5000, executionCondition: Buffer.alloc(32), data: Buffer.alloc(0) }
}

async function until (what: string, condition: () => boolean, timeout = 3000): Promise<number> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeout) throw new Error('timed out waiting for ' + what)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return Date.now() - started
}

describe('cluster registry', function () {
  this.timeout(15000)
  const admin = new Redis(URL_, { lazyConnect: true })
  const stores: RedisStore[] = []
  let prefix: string

  before(async () => { await admin.connect() })
  beforeEach(() => { prefix = `conn-test-cluster:${randomUUID()}:` })
  afterEach(async () => {
    for (const store of stores.splice(0).reverse()) {
      await store.cluster?.stop(100)
      await store.close()
    }
    const keys = await admin.keys(prefix + '*')
    if (keys.length > 0) await admin.del(...keys)
  })
  after(async () => { await admin.quit() })

  async function member (plugins: Record<string, FakePlugin>, secret = SECRET, heartbeat = 1000): Promise<{ store: RedisStore, host: FakeHost }> {
    const store = new RedisStore({ url: URL_, prefix, cluster: { secret, heartbeat, ttl: 3 * heartbeat } })
    stores.push(store)
    await store.open()
    const host = new FakeHost(new RecordingLogger({ level: 'info' }), plugins)
    await store.cluster!.start(host)
    return { store, host }
  }

  it('registers what a member holds, with a ttl, and another member delivers there from memory', async () => {
    const bobOnA = new FakePlugin('bob@a')
    const a = await member({ bob: bobOnA })
    const bobOnB = new FakePlugin('bob@b')
    bobOnB.connected = false
    const b = await member({ bob: bobOnB })
    await until('b reaches bob', () => b.store.cluster!.reaches('bob'))
    expect(a.store.cluster!.reaches('bob')).to.equal(false) // connected there itself

    const entry = JSON.parse(await admin.get(prefix + 'cluster:member:' + a.store.cluster!.id) ?? '{}')
    expect(entry.accounts).to.deep.equal(['bob'])
    expect(entry.address).to.match(/^127\.0\.0\.1:[0-9]+$/)
    const pttl = await admin.pttl(prefix + 'cluster:member:' + a.store.cluster!.id)
    expect(pttl).to.be.within(1, 3000)
    expect(await admin.zrange(prefix + 'cluster:members', 0, -1)).to.have.members([a.store.cluster!.id, b.store.cluster!.id])

    const bobAccount = b.host.getAccount('bob')!
    expect(await b.store.cluster!.send(bobAccount, prepare('test.conn.bob'), Buffer.from('p1'))).to.deep.equal(Buffer.from('bob@a got p1'))
    expect(bobOnA.received).to.deep.equal(['p1'])
    expect(bobOnB.received).to.deep.equal([])
    // connected here: the local plugin, not the cluster
    expect(a.store.cluster!.send(a.host.getAccount('bob')!, prepare('test.conn.bob'), Buffer.from('p2'))).to.equal(undefined)
  })

  it('sees a disconnect and a reconnect elsewhere before the next heartbeat (pub/sub)', async () => {
    const bobOnA = new FakePlugin('bob@a')
    const a = await member({ bob: bobOnA })
    const bobOnB = new FakePlugin('bob@b')
    bobOnB.connected = false
    const b = await member({ bob: bobOnB })
    const bobOnC = new FakePlugin('bob@c')
    bobOnC.connected = false
    const c = await member({ bob: bobOnC })
    await until('c reaches bob', () => c.store.cluster!.reaches('bob'))

    bobOnA.connected = false
    a.host.emit('account-disconnect', 'bob')
    expect(await until('c no longer reaches bob', () => !c.store.cluster!.reaches('bob'))).to.be.below(500)
    bobOnB.connected = true
    b.host.emit('account-connect', 'bob')
    expect(await until('c reaches bob again', () => c.store.cluster!.reaches('bob'))).to.be.below(500)
    expect(await c.store.cluster!.send(c.host.getAccount('bob')!, prepare('test.conn.bob'), Buffer.from('p'))).to.deep.equal(Buffer.from('bob@b got p'))
  })

  it('routes a client of a clients plugin (mini-accounts) to the member it is connected to', async () => {
    const minisOnA = new FakeClientsPlugin('minis@a')
    minisOnA.clients.add('carol')
    const a = await member({ minis: minisOnA })
    const minisOnB = new FakeClientsPlugin('minis@b')
    minisOnB.clients.add('dave')
    const b = await member({ minis: minisOnB })
    const minis = b.host.getAccount('minis')!
    let sent: Promise<Buffer> | undefined
    await until('b reaches carol', () => (sent = b.store.cluster!.send(minis, prepare('test.conn.minis.carol.x'), Buffer.from('c'))) !== undefined)
    expect(await sent).to.deep.equal(Buffer.from('minis@a got c'))
    // dave is here, erin nowhere: both through the local plugin
    expect(b.store.cluster!.send(minis, prepare('test.conn.minis.dave'), Buffer.from('d'))).to.equal(undefined)
    expect(b.store.cluster!.send(minis, prepare('test.conn.minis.erin'), Buffer.from('e'))).to.equal(undefined)
    // carol leaves a
    minisOnA.clients.delete('carol')
    minisOnA.emit('client-disconnect', 'carol')
    await until('b no longer sends carol to a', () => b.store.cluster!.send(minis, prepare('test.conn.minis.carol'), Buffer.from('c')) === undefined, 500)
    expect(a.host.getAccount('minis')).to.not.equal(undefined)
  })

  it('a member that stops is gone from Redis and from the others at once', async () => {
    const a = await member({ bob: new FakePlugin('bob@a') })
    const bobOnB = new FakePlugin('bob@b')
    bobOnB.connected = false
    const b = await member({ bob: bobOnB })
    await until('b reaches bob', () => b.store.cluster!.reaches('bob'))
    await a.store.cluster!.stop(100)
    expect(await until('b no longer reaches bob', () => !b.store.cluster!.reaches('bob'))).to.be.below(500)
    expect(await admin.exists(prefix + 'cluster:member:' + a.store.cluster!.id)).to.equal(0)
    expect(await admin.zrange(prefix + 'cluster:members', 0, -1)).to.deep.equal([b.store.cluster!.id])
  })

  it('one routing view: routes learned from a peer connected to one member are imported by the others, withdrawn as it withdraws them or disconnects', async () => {
    const peerOnA = new FakePlugin('peer@a')
    const a = await member({ peer: peerOnA }, SECRET, 200)
    const peerOnB = new FakePlugin('peer@b')
    peerOnB.connected = false
    const b = await member({ peer: peerOnB }, SECRET, 200)
    await until('b reaches peer', () => b.store.cluster!.reaches('peer'))
    const clusterA = a.store.cluster!

    clusterA.shareRoute!('peer', 'test.far', { path: ['test.far'], auth: Buffer.from('0102', 'hex') })
    clusterA.shareRoute!('peer', 'test.farther', { path: ['test.far', 'test.farther'] })
    // a route of an account not connected here is another member's to share: ignored
    b.store.cluster!.shareRoute!('peer', 'test.bogus', { path: ['test.bogus'] })
    expect(await until('b imports both routes', () => b.host.imported.size === 2)).to.be.below(1000)
    expect(Object.fromEntries(b.host.imported)).to.deep.equal({ 'peer test.far': 'test.far auth=0102', 'peer test.farther': 'test.far test.farther' })
    expect(a.host.imported.size).to.equal(0)
    expect(await admin.hlen(prefix + 'cluster:routes:' + clusterA.id)).to.equal(2)

    clusterA.shareRoute!('peer', 'test.farther', undefined)
    await until('b drops the withdrawn route', () => !b.host.imported.has('peer test.farther'))
    expect([...b.host.imported.keys()]).to.deep.equal(['peer test.far'])

    // the peer disconnects from a: its routes leave at once, not route by route
    peerOnA.connected = false
    a.host.emit('account-disconnect', 'peer')
    expect(await until('b drops every route of the peer', () => b.host.imported.size === 0)).to.be.below(1000)
    expect(await admin.hlen(prefix + 'cluster:routes:' + clusterA.id)).to.equal(0)
  })

  it('one routing view: a member that stops takes the routes it shared with it', async () => {
    const a = await member({ peer: new FakePlugin('peer@a') }, SECRET, 200)
    const peerOnB = new FakePlugin('peer@b')
    peerOnB.connected = false
    const b = await member({ peer: peerOnB }, SECRET, 200)
    a.store.cluster!.shareRoute!('peer', 'test.far', { path: ['test.far'] })
    await until('b imports the route', () => b.host.imported.size === 1)
    await a.store.cluster!.stop(100)
    expect(await until('b withdraws it', () => b.host.imported.size === 0)).to.be.below(500)
    expect(await admin.exists(prefix + 'cluster:routes:' + a.store.cluster!.id)).to.equal(0)
  })

  it('never uses a member with another secret: its accounts stay unreachable, its refusal is logged', async () => {
    const intruder = await member({ bob: new FakePlugin('bob@intruder') }, 'another-secret-of-enough-length')
    const bobOnB = new FakePlugin('bob@b')
    bobOnB.connected = false
    const b = await member({ bob: bobOnB })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(b.store.cluster!.reaches('bob')).to.equal(false)
    expect(b.store.cluster!.send(b.host.getAccount('bob')!, prepare('test.conn.bob'), Buffer.from('p'))).to.equal(undefined)
    // each refuses the other's proof
    expect(b.host.logger.at('warn').map((r) => r.msg)).to.include('cluster link: refused a connection with a wrong cluster secret')
    expect(intruder.host.logger.at('warn').map((r) => r.msg)).to.include('cluster link: refused a connection with a wrong cluster secret')
  })
})
