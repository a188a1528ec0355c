/**
 * A configuration written the way the reference connector's README writes one, unchanged: `CONNECTOR_*`
 * variables, `"plugin": "ilp-plugin-btp"` and `"ilp-plugin-mini-accounts"`, a parent to learn the address from,
 * `CONNECTOR_STORE_PATH` without `CONNECTOR_STORE`, the admin API on. The real `conn` bin runs it; everything
 * around it is the reference's own libraries over 127.0.0.1: ilp-plugin-btp clients for the children, a real
 * ilp-plugin-mini-accounts server as the parent ILSP, an ilp-plugin-btp server as a peer.
 *
 * What must hold: those accounts run conn's transport (one line at start says so), interoperate both ways
 * with every reference counterpart, and sockets that know no secret cannot take a live account offline.
 * With `legacyPlugins` the named package runs instead, and the same socket does take the account offline.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import MiniAccountsModule from 'ilp-plugin-mini-accounts'
import * as Ildcp from 'ilp-protocol-ildcp'
import { WebSocket } from 'ws'
import { AdminClient } from '../helpers/admin.ts'
import {
  BtpPlugin, Harness, IlpPacket, decodeReply, fulfillPacket, freePort, rejectPacket, serializePrepare, sleep, waitFor,
  type BtpPluginInstance, type Node
} from '../helpers/harness.ts'
import { logLines, startConn, type ConnProcess } from '../helpers/process.ts'

const MiniAccounts = MiniAccountsModule.default

/** A WebSocket on a BTP port that never learns the secret. */
async function rawSocket (port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`)
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return ws
}

/** The attacks the reference's ilp-plugin-btp server falls for (see @conn/plugin-btp's README, Hardening). */
const ATTACKS: Array<{ name: string, run: (port: number) => Promise<void> }> = [
  {
    name: 'connects, never authenticates, then closes',
    run: async (port) => { const ws = await rawSocket(port); await sleep(200); ws.terminate(); await sleep(100) }
  },
  {
    name: 'authenticates with a wrong secret (a real ilp-plugin-btp client)',
    run: async (port) => {
      const wrong = new BtpPlugin({ server: `btp+ws://:not-the-secret@127.0.0.1:${port}`, reconnectIntervals: [60_000] })
      await Promise.race([wrong.connect().catch(() => {}), sleep(400)])
      await wrong.disconnect().catch(() => {})
      await sleep(100)
    }
  },
  {
    name: 'sends garbage',
    run: async (port) => { const ws = await rawSocket(port); ws.send(randomBytes(40)); ws.send('GET / HTTP/1.1'); await sleep(200); ws.terminate() }
  },
  {
    name: 'connects and closes at once',
    run: async (port) => { const ws = await rawSocket(port); ws.terminate(); await sleep(200) }
  }
]

describe('e2e: a reference connector configuration, unchanged', function () {
  this.timeout(30000)
  let h: Harness
  let conn: ConnProcess | undefined
  let dir: string
  const servers: Array<{ disconnect: () => Promise<void> }> = []

  beforeEach(async () => {
    h = new Harness()
    dir = await mkdtemp(join(tmpdir(), 'conn-refconfig-'))
  })
  afterEach(async () => {
    await h.close()
    if (conn !== undefined && conn.child.exitCode === null) {
      conn.child.kill('SIGTERM')
      await conn.exited
    }
    conn = undefined
    for (const server of servers.splice(0)) await server.disconnect().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })

  /** The parent ILSP: a real ilp-plugin-mini-accounts server at test.up that fulfills the conditions it is given. */
  async function parentIlsp (): Promise<{ port: number, plugin: InstanceType<typeof MiniAccounts>, received: bigint[], fulfillments: Map<string, Buffer> }> {
    const port = await freePort()
    const received: bigint[] = []
    const fulfillments = new Map<string, Buffer>()
    // with a store, mini-accounts lets clients name their account (conn's is `conn`)
    const stored = new Map<string, string>()
    const store = { get: async (k: string) => stored.get(k), put: async (k: string, v: string) => { stored.set(k, v) }, del: async (k: string) => { stored.delete(k) } }
    const plugin = new MiniAccounts({ wsOpts: { host: '127.0.0.1', port } }, { store })
    plugin.registerDataHandler(async (data: Buffer) => {
      const prepare = IlpPacket.deserializeIlpPrepare(data)
      if (prepare.destination === 'peer.config') {
        return await Ildcp.serve({ requestPacket: data, handler: async () => ({ clientAddress: 'test.up', assetScale: 9, assetCode: 'XRP' }), serverAddress: 'test.up' })
      }
      if (prepare.destination.startsWith('peer.')) return rejectPacket({ code: 'F01', triggeredBy: 'test.up', message: 'no route exchange here' })
      received.push(BigInt(prepare.amount))
      const fulfillment = fulfillments.get(prepare.executionCondition.toString('hex'))
      if (fulfillment !== undefined) return fulfillPacket(fulfillment)
      return rejectPacket({ code: 'F02', triggeredBy: 'test.up', message: 'unknown' })
    })
    await plugin.connect()
    servers.push(plugin)
    return { port, plugin, received, fulfillments }
  }

  /** A peer: a plain ilp-plugin-btp server (test.peer) that fulfills the conditions it is given. */
  async function peerServer (): Promise<{ port: number, plugin: BtpPluginInstance, received: bigint[], fulfillments: Map<string, Buffer> }> {
    const port = await freePort()
    const received: bigint[] = []
    const fulfillments = new Map<string, Buffer>()
    const plugin = new BtpPlugin({ listener: { port, secret: 'peer-secret', wsOpts: { host: '127.0.0.1', port } } })
    plugin.registerDataHandler(async (data: Buffer) => {
      const prepare = IlpPacket.deserializeIlpPrepare(data)
      received.push(BigInt(prepare.amount))
      const fulfillment = fulfillments.get(prepare.executionCondition.toString('hex'))
      return fulfillment !== undefined ? fulfillPacket(fulfillment) : rejectPacket({ code: 'F02', triggeredBy: 'test.peer', message: 'unknown' })
    })
    servers.push(plugin)
    return { port, plugin, received, fulfillments }
  }

  /** Starts conn with the reference-style environment; resolves once it is ready and the children are connected. */
  async function startReferenceConfig (extraEnv: Record<string, string> = {}): Promise<{
    alice: Node, bob: Node, alicePort: number, admin: AdminClient, parent: Awaited<ReturnType<typeof parentIlsp>>, walletsPort: number,
    peer: Awaited<ReturnType<typeof peerServer>>
  }> {
    const [alicePort, bobPort, walletsPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
    const parent = await parentIlsp()
    const peer = await peerServer()
    const account = (options: Record<string, unknown>, plugin = 'ilp-plugin-btp', relation = 'child'): Record<string, unknown> =>
      ({ relation, plugin, assetCode: 'XRP', assetScale: 9, options })
    conn = startConn([], {
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_STORE_PATH: join(dir, 'db'),
      CONNECTOR_ADMIN_API: 'true',
      CONNECTOR_ADMIN_API_PORT: String(adminPort),
      CONNECTOR_ACCOUNTS: JSON.stringify({
        up: account({ server: `btp+ws://conn:up-secret@127.0.0.1:${parent.port}` }, 'ilp-plugin-btp', 'parent'),
        alice: account({ listener: { port: alicePort, secret: 'alice-secret' } }),
        bob: account({ listener: { port: bobPort, secret: 'bob-secret' } }),
        wallets: account({ port: walletsPort }, 'ilp-plugin-mini-accounts'),
        peer: { ...account({ server: `btp+ws://:peer-secret@127.0.0.1:${peer.port}` }, 'ilp-plugin-btp', 'peer'), sendRoutes: false, receiveRoutes: false }
      }),
      CONNECTOR_ROUTES: JSON.stringify([{ targetPrefix: 'test.peer', peerId: 'peer' }]),
      LOG_LEVEL: 'info',
      ...extraEnv
    })
    const alice = h.client('alice', `btp+ws://:alice-secret@127.0.0.1:${alicePort}`)
    const bob = h.client('bob', `btp+ws://:bob-secret@127.0.0.1:${bobPort}`)
    await Promise.all([alice.connect(), bob.connect(), peer.plugin.connect()])
    await conn.waitFor('connector ready')
    alice.address = 'test.up.conn.alice'
    bob.address = 'test.up.conn.bob'
    return { alice, bob, alicePort, admin: AdminClient.on(adminPort), parent, walletsPort, peer }
  }

  async function pays (from: Node, to: Node, amount: bigint): Promise<string> {
    const before = to.received.length
    const reply = await from.pay({ amount, destination: to.address, ...h.condition() })
    if (reply.type === 'reject') return `${reply.code} ${reply.message}`
    expect(to.received.slice(before).map((p) => p.amount)).to.deep.equal([amount])
    return 'fulfilled'
  }

  it('runs conn\'s transport for every ilp-plugin-btp and mini-accounts account, says so once, and keeps the database path', async () => {
    const { alice, bob, admin } = await startReferenceConfig()
    const lines = logLines(conn!.stdout())
    const transport = lines.filter((l) => l.transport === '@conn/plugin-btp')
    expect(transport).to.have.length(1)
    expect(transport[0]!.accounts).to.deep.equal(['up', 'alice', 'bob', 'wallets', 'peer'])
    expect(lines.map((l) => l.msg)).to.include(`using the level store (@conn/store-level) at ${join(dir, 'db')}`)
    expect((await admin.get('/accounts')).json().accounts.alice.info.plugin).to.equal('ilp-plugin-btp')
    expect(await pays(alice, bob, 1234n)).to.equal('fulfilled')
    expect(await pays(bob, alice, 4321n)).to.equal('fulfilled')
  })

  it('interoperates with the reference\'s own plugins on the other side of every link', async () => {
    const { alice, parent, walletsPort, peer } = await startReferenceConfig()
    // conn's client to a real ilp-plugin-mini-accounts server: our address came from it, and packets cross both ways
    expect((await alice.ildcp()).clientAddress).to.equal('test.up.conn.alice')
    const { executionCondition, fulfillment } = h.condition()
    parent.fulfillments.set(executionCondition.toString('hex'), fulfillment)
    expect(decodeReply(await alice.send({ amount: 500, destination: 'test.up.somebody', executionCondition })).type).to.equal('fulfill')
    expect(parent.received).to.deep.equal([500n])
    const down = h.condition()
    const reply = await parent.plugin.sendData(serializePrepare({ amount: 77, destination: 'test.up.conn.alice', ...down }))
    expect(decodeReply(reply)).to.deep.include({ type: 'fulfill' })
    expect(alice.received.at(-1)!.amount).to.equal(77n)
    // conn's client to a plain ilp-plugin-btp server (a peer on a static route), both ways
    const toPeer = h.condition()
    peer.fulfillments.set(toPeer.executionCondition.toString('hex'), toPeer.fulfillment)
    expect(decodeReply(await alice.send({ amount: 600, destination: 'test.peer.x', executionCondition: toPeer.executionCondition })).type).to.equal('fulfill')
    expect(peer.received).to.deep.equal([600n])
    const fromPeer = await peer.plugin.sendData(serializePrepare({ amount: 66, destination: 'test.up.conn.alice', ...h.condition() }))
    expect(decodeReply(fromPeer)).to.deep.include({ type: 'fulfill' })
    expect(alice.received.at(-1)!.amount).to.equal(66n)
    // real ilp-plugin-btp clients of the account named ilp-plugin-mini-accounts
    const carol = h.client('carol', `btp+ws://carol:carol-secret@127.0.0.1:${walletsPort}`)
    const dave = h.client('dave', `btp+ws://dave:dave-secret@127.0.0.1:${walletsPort}`)
    await Promise.all([carol.connect(), dave.connect()])
    carol.address = (await carol.ildcp()).clientAddress
    dave.address = (await dave.ildcp()).clientAddress
    expect([carol.address, dave.address]).to.deep.equal(['test.up.conn.wallets.carol', 'test.up.conn.wallets.dave'])
    expect(await pays(carol, dave, 10n)).to.equal('fulfilled')
    expect(await pays(alice, carol, 11n)).to.equal('fulfilled')
    expect(await pays(dave, alice, 12n)).to.equal('fulfilled')
  })

  it('keeps a live account online through every attack by sockets that know no secret', async () => {
    const { alice, bob, alicePort, admin } = await startReferenceConfig()
    for (const attack of ATTACKS) {
      await attack.run(alicePort)
      expect([attack.name, await pays(bob, alice, 100n)]).to.deep.equal([attack.name, 'fulfilled'])
      expect([attack.name, await pays(alice, bob, 100n)]).to.deep.equal([attack.name, 'fulfilled'])
      expect((await admin.get('/status')).json().connected.alice, attack.name).to.equal(true)
    }
    const disconnects = logLines(conn!.stdout()).filter((l) => l.msg === 'account disconnected' && l.account === 'alice')
    expect(disconnects).to.deep.equal([])
  })

  // FUZZ_CASES=2000 for a longer run (10 batches either way)
  const fuzzCases = Number(process.env.FUZZ_CASES ?? 300)
  it(`keeps it online through ${fuzzCases} fuzzed unauthenticated sockets: every canary payment between the batches fulfilled`, async () => {
    const { alice, bob, alicePort } = await startReferenceConfig()
    // a seeded generator, so a failure can be replayed
    let seed = 0x2f6b1d
    const next = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed }
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => next() & 0xff))
    const canaries: string[] = []
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: Math.ceil(fuzzCases / 10) }, async () => {
        const ws = await rawSocket(alicePort)
        const kind = next() % 4
        // random bytes; a BTP MESSAGE type byte with random rest; text; nothing at all
        if (kind === 0) ws.send(bytes(next() % 200))
        else if (kind === 1) ws.send(Buffer.concat([Buffer.from([6]), bytes(next() % 64)]))
        else if (kind === 2) ws.send(bytes(next() % 50).toString('latin1'))
        await sleep(next() % 20)
        if (next() % 2 === 0) ws.terminate()
        else ws.close()
      }))
      canaries.push(await pays(bob, alice, BigInt(batch + 1)))
    }
    expect(canaries).to.deep.equal(Array(10).fill('fulfilled'))
    expect(logLines(conn!.stdout()).filter((l) => l.msg === 'account disconnected')).to.deep.equal([])
  })

  it('runs the named package for the accounts legacyPlugins lists, and there a closed socket takes the account offline', async () => {
    const { alice, bob, alicePort } = await startReferenceConfig({ CONNECTOR_LEGACY_PLUGINS: '["alice"]' })
    const lines = logLines(conn!.stdout())
    expect(lines.find((l) => l.transport === '@conn/plugin-btp')!.accounts).to.deep.equal(['up', 'bob', 'wallets', 'peer'])
    expect(lines.filter((l) => l.level === 40 && String(l.msg).startsWith('accounts alice run the legacy BTP plugin package'))).to.have.length(1)
    expect(await pays(bob, alice, 100n)).to.equal('fulfilled')
    await ATTACKS[3]!.run(alicePort)
    await waitFor('the legacy plugin to report alice disconnected',
      () => logLines(conn!.stdout()).some((l) => l.msg === 'account disconnected' && l.account === 'alice'))
    expect(await pays(bob, alice, 100n)).to.match(/^T01 /)
  })

  it('refuses a listener with an empty secret before opening any port, naming the option', async () => {
    const port = await freePort()
    conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: 'test.x',
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { listener: { port, secret: '' } } }
      })
    })
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr()).to.include('conn: config error: accounts.alice.options.listener.secret: an empty secret lets any client in; ' +
      'conn\'s transport refuses it')
    expect(conn.stderr()).to.include('nothing was started')
    const probe = new BtpPlugin({ server: `btp+ws://:x@127.0.0.1:${port}`, reconnectIntervals: [60_000] }) as BtpPluginInstance
    const reached = await Promise.race([probe.connect().then(() => true, () => false), sleep(300).then(() => false)])
    await probe.disconnect().catch(() => {})
    expect(reached).to.equal(false)
  })
})
