import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { expect } from 'chai'
import * as ILDCP from 'ilp-protocol-ildcp'
import { MapStore, rejectionOf } from '@conn/testkit'
import { BtpPlugin, MiniAccountsPlugin } from '../src/index.ts'
import MiniAccountsDefault from '../src/mini-accounts.ts'
import { decode, encodeIlp, TYPE_ERROR, TYPE_MESSAGE, TYPE_RESPONSE } from '../src/codec.ts'
import {
  authMessage, BtpPacket, freePort, fulfill, fulfiller, IlpPacket, newFulfillment, prepare, RawSocket, RefBtpPlugin,
  RefMiniAccounts, rejectPacket, sleep, waitFor, type RefBtpPluginInstance
} from './helpers.ts'

const ADDRESS = 'test.conn.mini'
const PREFIX = ADDRESS + '.'

type Disconnectable = { disconnect: () => Promise<void> }
type AnyMini = MiniAccountsPlugin | InstanceType<typeof RefMiniAccounts>

/**
 * The connector side, in a few lines: answers the plugin's IL-DCP request with ADDRESS and sends every
 * packet for a client back through the plugin (the connector routing to the account's plugin).
 */
function tinyConnector (plugin: AnyMini): { packets: string[] } {
  const packets: string[] = []
  plugin.registerDataHandler(async (data: Buffer) => {
    const { destination } = IlpPacket.deserializeIlpPrepare(data)
    packets.push(destination)
    if (destination === 'peer.config') return ILDCP.serializeIldcpResponse({ clientAddress: ADDRESS, assetScale: 9, assetCode: 'XRP' })
    if (destination.startsWith(PREFIX)) return await plugin.sendData(data)
    return rejectPacket('F02', 'no route', ADDRESS)
  })
  return { packets }
}

function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

describe('mini-accounts', () => {
  const cleanup: Disconnectable[] = []
  const sockets: RawSocket[] = []

  afterEach(async () => {
    for (const raw of sockets.splice(0)) raw.destroy()
    for (const plugin of cleanup.splice(0).reverse()) await plugin.disconnect().catch(() => {})
  })

  async function ours (options: Record<string, unknown> = {}, store: MapStore | undefined = new MapStore()): Promise<{ plugin: MiniAccountsPlugin, port: number, store: MapStore | undefined }> {
    const port = await freePort()
    const plugin = new MiniAccountsPlugin({ wsOpts: { host: '127.0.0.1', port }, authTimeout: 1000, ...options }, store === undefined ? {} : { store })
    cleanup.push(plugin)
    return { plugin, port, store }
  }

  function client (port: number, username: string, token = username + '-token'): RefBtpPluginInstance {
    const plugin = new RefBtpPlugin({ server: `btp+ws://${username}:${token}@127.0.0.1:${port}`, reconnectIntervals: [20] })
    cleanup.push(plugin)
    return plugin
  }

  async function rawAuth (port: number, token: string, username: string): Promise<RawSocket> {
    const raw = await RawSocket.open(port)
    sockets.push(raw)
    raw.send(authMessage(token, username, 1))
    await waitFor(() => raw.received.length > 0 || raw.closed)
    return raw
  }

  it('learns its prefix over IL-DCP on connect, emits connect, and gives each client prefix + username over IL-DCP', async () => {
    const { plugin, port } = await ours()
    const { packets } = tinyConnector(plugin)
    let connected = 0
    plugin.on('connect', () => { connected++ })
    await plugin.connect()
    expect(packets).to.deep.equal(['peer.config'])
    expect(plugin.getPrefix()).to.equal(PREFIX)
    expect(plugin.isConnected()).to.equal(true)
    expect(connected).to.equal(1)
    const alice = client(port, 'alice')
    await alice.connect()
    const info = await ILDCP.fetch(async (data) => await alice.sendData(data))
    expect(info).to.deep.equal({ clientAddress: PREFIX + 'alice', assetScale: 9, assetCode: 'XRP' })
    expect(packets).to.deep.equal(['peer.config']) // the client's IL-DCP never reached the connector
  })

  it('clients pay each other through the connector; Fulfills and Rejects come back as sent', async () => {
    const { plugin, port } = await ours()
    const { packets } = tinyConnector(plugin)
    await plugin.connect()
    const alice = client(port, 'alice')
    const bob = client(port, 'bob')
    await Promise.all([alice.connect(), bob.connect()])
    const known = new Map<string, Buffer>()
    alice.registerDataHandler(fulfiller(known))
    bob.registerDataHandler(fulfiller(known))
    const { fulfillment, executionCondition } = newFulfillment()
    known.set(executionCondition.toString('hex'), fulfillment)
    expect((await alice.sendData(prepare({ destination: PREFIX + 'bob.sub', executionCondition }))).equals(fulfill(fulfillment))).to.equal(true)
    expect((await bob.sendData(prepare({ destination: PREFIX + 'alice' }))).equals(rejectPacket('F99', 'unknown condition'))).to.equal(true)
    expect(packets.slice(1)).to.deep.equal([PREFIX + 'bob.sub', PREFIX + 'alice'])
    expect(plugin.getAccounts().sort()).to.deep.equal(['alice', 'bob'])
  })

  it('keeps the first token of a username in the store, as ilp-plugin-mini-accounts does, and refuses another', async () => {
    const { plugin, port, store } = await ours()
    tinyConnector(plugin)
    await plugin.connect()
    await client(port, 'alice', 'first').connect()
    expect(store!.map.get('alice:hashed-token')).to.equal(hashToken('first'))
    const raw = await rawAuth(port, 'second', 'alice')
    await raw.waitClosed()
    const reply = BtpPacket.deserialize(raw.received[0]!) as any
    expect(reply.type).to.equal(TYPE_ERROR)
    expect(reply.data).to.include({ code: 'F00', name: 'NotAcceptedError', data: 'incorrect token for account. account=alice' })
    // ilp-plugin-mini-accounts writes the same key and value
    const refStore = new MapStore()
    const refPort = await freePort()
    const ref = new RefMiniAccounts({ wsOpts: { host: '127.0.0.1', port: refPort } }, { store: refStore })
    cleanup.push(ref)
    tinyConnector(ref)
    await ref.connect()
    await client(refPort, 'alice', 'first').connect()
    await waitFor(() => refStore.map.size > 0)
    expect([...refStore.map]).to.deep.equal([...store!.map])
  })

  it('reads a token ilp-plugin-mini-accounts stored, including its old plain `<account>:token` entry', async () => {
    const store = new MapStore()
    store.map.set('carol:hashed-token', hashToken('c-token'))
    store.map.set('dave:token', 'd-token')
    const { plugin, port } = await ours({}, store)
    tinyConnector(plugin)
    await plugin.connect()
    await Promise.all([client(port, 'carol', 'c-token').connect(), client(port, 'dave', 'd-token').connect()])
    expect(store.map.get('dave:hashed-token')).to.equal(hashToken('d-token'))
    expect(store.map.has('dave:token')).to.equal(false)
    const raw = await rawAuth(port, 'not-d-token', 'dave')
    expect(BtpPacket.deserialize(raw.received[0]!).data).to.include({ data: 'incorrect token for account. account=dave' })
  })

  it('closes sockets beyond maxUnauthenticated at once (1013) while clients already in keep paying', async () => {
    const { plugin, port } = await ours({ maxUnauthenticated: 2, authTimeout: 10_000 })
    tinyConnector(plugin)
    await plugin.connect()
    const alice = client(port, 'alice')
    await alice.connect()
    const waiting = await Promise.all([1, 2].map(async () => await RawSocket.open(port)))
    sockets.push(...waiting)
    const third = await RawSocket.open(port)
    sockets.push(third)
    await third.waitClosed(1000)
    expect(third.closeCode).to.equal(1013)
    expect(waiting.map((r) => r.closed)).to.deep.equal([false, false])
    // an authenticated client is not counted: bob still gets in once a waiting socket goes
    waiting[0]!.destroy()
    await waitFor(() => waiting[0]!.closed)
    await sleep(50)
    const bob = client(port, 'bob')
    await bob.connect()
    expect(plugin.getAccounts().sort()).to.deep.equal(['alice', 'bob'])
  })

  it('says which clients are connected (hasAccount) and emits client-connect / client-disconnect once per client, not per socket', async () => {
    const { plugin, port } = await ours()
    tinyConnector(plugin)
    await plugin.connect()
    const events: string[] = []
    plugin.on('client-connect', (name: string) => events.push('connect:' + name))
    plugin.on('client-disconnect', (name: string) => events.push('disconnect:' + name))
    const alice1 = client(port, 'alice')
    await alice1.connect()
    const alice2 = client(port, 'alice')
    await alice2.connect()
    expect(plugin.hasAccount('alice')).to.equal(true)
    expect(plugin.hasAccount('bob')).to.equal(false)
    expect(events).to.deep.equal(['connect:alice'])
    await alice1.disconnect()
    await sleep(50)
    expect(events).to.deep.equal(['connect:alice']) // alice's second socket is still there
    await alice2.disconnect()
    await waitFor(() => events.length === 2)
    expect(events).to.deep.equal(['connect:alice', 'disconnect:alice'])
    expect(plugin.hasAccount('alice')).to.equal(false)
  })

  it('without a username the account is the base64url sha256 of the token', async () => {
    const { plugin, port } = await ours()
    tinyConnector(plugin)
    await plugin.connect()
    const anon = new RefBtpPlugin({ server: `btp+ws://:anon-secret@127.0.0.1:${port}`, reconnectIntervals: [20] })
    cleanup.push(anon)
    await anon.connect()
    const info = await ILDCP.fetch(async (data) => await anon.sendData(data))
    expect(info.clientAddress).to.equal(PREFIX + hashToken('anon-secret'))
  })

  it('enforces the account modes: generateAccount true refuses other usernames, false needs a store and a username', async () => {
    expect(() => new MiniAccountsPlugin({ generateAccount: false })).to.throw('_store is required when generateAccount is false')
    const hashed = await ours({ generateAccount: true })
    tinyConnector(hashed.plugin)
    await hashed.plugin.connect()
    const raw = await rawAuth(hashed.port, 'tok', 'alice')
    expect(BtpPacket.deserialize(raw.received[0]!).data).to.include({ data: 'auth_username subprotocol is not available' })
    const named = await ours({ generateAccount: false })
    tinyConnector(named.plugin)
    await named.plugin.connect()
    const raw2 = await rawAuth(named.port, 'tok', '')
    expect(BtpPacket.deserialize(raw2.received[0]!).data).to.include({ data: 'auth_username subprotocol is required' })
  })

  it('refuses a username that is not an ILP address segment', async () => {
    const { plugin, port } = await ours()
    tinyConnector(plugin)
    await plugin.connect()
    const raw = await rawAuth(port, 'tok', 'bob.evil')
    expect(BtpPacket.deserialize(raw.received[0]!).data).to.include({ data: 'auth_username must be an ILP address segment (letters, digits, _ ~ -)' })
  })

  describe('sendData', () => {
    async function started (): Promise<{ plugin: MiniAccountsPlugin, port: number, bob: RefBtpPluginInstance }> {
      const { plugin, port } = await ours()
      tinyConnector(plugin)
      await plugin.connect()
      const bob = client(port, 'bob')
      await bob.connect()
      return { plugin, port, bob }
    }

    it('answers peer.config with the connector\'s own IL-DCP info, as mini-accounts does', async () => {
      const { plugin } = await started()
      const reply = await plugin.sendData(ILDCP.serializeIldcpRequest({}))
      expect(ILDCP.deserializeIldcpResponse(reply)).to.deep.equal({ clientAddress: ADDRESS, assetScale: 9, assetCode: 'XRP' })
    })

    it('throws mini-accounts\' errors for a foreign destination, an account with no client, and a non-Prepare', async () => {
      const { plugin } = await started()
      expect((await rejectionOf<Error>(plugin.sendData(prepare({ destination: 'test.other.bob' })))).message)
        .to.equal(`can't route packet that is not meant for one of my clients. destination=test.other.bob prefix=${PREFIX}`)
      expect((await rejectionOf<Error>(plugin.sendData(prepare({ destination: PREFIX + 'carol' })))).message)
        .to.equal('No clients connected for account carol')
      expect((await rejectionOf<Error>(plugin.sendData(fulfill(Buffer.alloc(32))))).message).to.equal('can\'t route packet that\'s not a PREPARE.')
    })

    it('refuses a destination with a byte of 0x80 or more instead of reading it as a client\'s address', async () => {
      const { plugin, bob } = await started()
      let delivered = 0
      bob.registerDataHandler(async () => { delivered++; return fulfill(Buffer.alloc(32)) })
      const packet = prepare({ destination: PREFIX + 'bob' })
      packet[packet.indexOf(Buffer.from(PREFIX + 'bob')) + PREFIX.length + 1] = 0xef // 'o' | 0x80: 'ascii' would read "bob"
      expect((await rejectionOf<Error>(plugin.sendData(packet))).message).to.equal('can\'t route packet that\'s not a PREPARE.')
      expect(delivered).to.equal(0)
    })

    it('resolves with R00 "Packet expired" from our address when the client does not answer before expiry', async () => {
      const { plugin, bob } = await started()
      bob.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
      const started_ = Date.now()
      const reply = await plugin.sendData(prepare({ destination: PREFIX + 'bob', expiresAt: new Date(Date.now() + 200) }))
      expect(IlpPacket.deserializeIlpReject(reply)).to.include({ code: 'R00', message: 'Packet expired', triggeredBy: ADDRESS })
      expect(Date.now() - started_).to.be.within(190, 450)
    })

    it('turns a Fulfill with the wrong fulfillment into F05 with both values in the message', async () => {
      const { plugin, bob } = await started()
      bob.registerDataHandler(async () => fulfill(Buffer.alloc(32, 1)))
      const { executionCondition } = newFulfillment()
      const reply = await plugin.sendData(prepare({ destination: PREFIX + 'bob', executionCondition }))
      expect(IlpPacket.deserializeIlpReject(reply)).to.include({
        code: 'F05',
        triggeredBy: ADDRESS,
        message: `condition and fulfillment don't match. condition=${executionCondition.toString('hex')} fulfillment=${'01'.repeat(32)}`
      })
    })

    it('fails a pending request as soon as the account\'s last client disconnects', async () => {
      const { plugin, bob } = await started()
      bob.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
      const pending = rejectionOf<Error>(plugin.sendData(prepare({ destination: PREFIX + 'bob' })))
      await sleep(30)
      await bob.disconnect()
      expect((await pending).message).to.match(/^BTP connection of account bob closed before request \d+ was answered$/)
    })

    it('takes a reply only from a socket of the account the request went to', async () => {
      const { plugin, port } = await ours()
      tinyConnector(plugin)
      await plugin.connect()
      const carol = await rawAuth(port, 'c', 'carol')
      const mallory = await rawAuth(port, 'm', 'mallory')
      const { fulfillment, executionCondition } = newFulfillment()
      const reply = plugin.sendData(prepare({ destination: PREFIX + 'carol', executionCondition }))
      await waitFor(() => carol.received.length === 2)
      const request = decode(carol.received[1]!)
      expect(request.type).to.equal(TYPE_MESSAGE)
      mallory.send(encodeIlp(TYPE_RESPONSE, request.requestId, rejectPacket('F99', 'spoofed')))
      await sleep(50)
      carol.send(encodeIlp(TYPE_RESPONSE, request.requestId, fulfill(fulfillment)))
      expect((await reply).equals(fulfill(fulfillment))).to.equal(true)
      expect(mallory.received.length).to.equal(1) // its auth response only: it never saw carol's packet
    })
  })

  it('a socket with a wrong token never receives the account\'s packets (ilp-plugin-mini-accounts sends them to it while it checks the token)', async () => {
    /** A store whose reads take 150 ms (a remote database, say): the window in which the token is checked. */
    class SlowStore extends MapStore {
      override async get (key: string): Promise<string | undefined> { await sleep(150); return await super.get(key) }
    }
    const results: Record<string, string[]> = {}
    for (const which of ['ours', 'ref'] as const) {
      // bob has an account (a stored token) but is offline, e.g. after a restart
      const store = new SlowStore()
      store.map.set('bob:hashed-token', hashToken('bob-token'))
      const port = await freePort()
      const plugin: AnyMini = which === 'ours'
        ? new MiniAccountsPlugin({ wsOpts: { host: '127.0.0.1', port } }, { store })
        : new RefMiniAccounts({ wsOpts: { host: '127.0.0.1', port } }, { store })
      // mini-accounts gives its requests ilp-plugin-btp's 35 s time-out; shorten it so no timer outlives the test
      ;(plugin as unknown as { _responseTimeout: number })._responseTimeout = 1000
      cleanup.push(plugin)
      tinyConnector(plugin)
      await plugin.connect()
      const attacker = await RawSocket.open(port)
      sockets.push(attacker)
      attacker.send(authMessage('guess', 'bob'))
      await sleep(50) // the attacker's token is being checked now
      const sent = plugin.sendData(prepare({ destination: PREFIX + 'bob', expiresAt: new Date(Date.now() + 1000) })).then(() => 'answered', (err: Error) => err.message)
      await attacker.waitClosed()
      const seen = attacker.received.map((f) => BtpPacket.deserialize(f).type === TYPE_MESSAGE ? 'saw the Prepare' : 'auth error')
      results[which] = [...seen, which === 'ours' ? await sent : 'sent']
    }
    expect(results).to.deep.equal({
      ours: ['auth error', 'No clients connected for account bob'],
      ref: ['saw the Prepare', 'auth error', 'sent']
    })
  })

  it('two sockets claiming the same new username at once: exactly one gets it, and its token is the one stored (ilp-plugin-mini-accounts lets both in)', async () => {
    /** A store whose reads take 100 ms: both sockets are checked while neither token is saved yet. */
    class SlowStore extends MapStore {
      override async get (key: string): Promise<string | undefined> { await sleep(100); return await super.get(key) }
    }
    const results: Record<string, { accepted: string[], stored: string | undefined }> = {}
    for (const which of ['ours', 'ref'] as const) {
      const store = new SlowStore()
      const port = await freePort()
      const plugin: AnyMini = which === 'ours'
        ? new MiniAccountsPlugin({ wsOpts: { host: '127.0.0.1', port } }, { store })
        : new RefMiniAccounts({ wsOpts: { host: '127.0.0.1', port } }, { store })
      cleanup.push(plugin)
      tinyConnector(plugin)
      await plugin.connect()
      const [first, second] = await Promise.all([RawSocket.open(port), RawSocket.open(port)])
      sockets.push(first!, second!)
      first!.send(authMessage('token-one', 'eve'))
      second!.send(authMessage('token-two', 'eve'))
      await waitFor(() => first!.received.length > 0 && second!.received.length > 0)
      const accepted = [['token-one', first!], ['token-two', second!] as const]
        .filter(([, raw]) => BtpPacket.deserialize((raw as RawSocket).received[0]!).type === TYPE_RESPONSE)
        .map(([token]) => token as string)
      results[which] = { accepted, stored: store.map.get('eve:hashed-token') }
    }
    expect(results.ours!.accepted).to.have.length(1)
    expect(results.ours!.stored).to.equal(hashToken(results.ours!.accepted[0]!))
    expect(results.ref!.accepted).to.deep.equal(['token-one', 'token-two'])
  })

  it('closes a socket whose frame exceeds maxPayload (1009), before or after authentication; other clients keep working', async () => {
    const { plugin, port } = await ours({ maxPayload: 4096, authTimeout: 10_000 }) // only maxPayload closes sockets here
    tinyConnector(plugin)
    await plugin.connect()
    const alice = client(port, 'alice')
    await alice.connect()
    const early = await RawSocket.open(port)
    sockets.push(early)
    early.send(Buffer.alloc(4097))
    const late = await rawAuth(port, 'b-token', 'bob')
    late.send(encodeIlp(TYPE_MESSAGE, 2, prepare({ destination: 'test.x', data: Buffer.alloc(4096) })))
    await Promise.all([early.waitClosed(), late.waitClosed()])
    expect([early.closeCode, late.closeCode]).to.deep.equal([1009, 1009])
    expect(plugin.getAccounts()).to.deep.equal(['alice'])
    const info = await ILDCP.fetch(async (data) => await alice.sendData(data))
    expect(info.clientAddress).to.equal(PREFIX + 'alice')
  })

  it('closes a client that stops answering pings (half-open connection): its account goes, its pending request fails; a client that answers stays', async () => {
    const { plugin, port } = await ours({ pingInterval: 100 })
    tinyConnector(plugin)
    await plugin.connect()
    const { WebSocket } = await import('ws')
    const silent = new WebSocket(`ws://127.0.0.1:${port}`, { autoPong: false })
    silent.on('error', () => {})
    await new Promise((resolve) => silent.once('open', resolve))
    silent.send(authMessage('m-token', 'mallory'))
    const alice = client(port, 'alice')
    await alice.connect()
    await waitFor(() => plugin.getAccounts().length === 2)
    const pending = rejectionOf<Error>(plugin.sendData(prepare({ destination: PREFIX + 'mallory' })))
    await waitFor(() => !plugin.getAccounts().includes('mallory'), 1000, 'mallory to be closed')
    expect((await pending).message).to.match(/^BTP connection of account mallory closed before request \d+ was answered$/)
    await sleep(250) // more intervals: alice answers every ping
    expect(plugin.getAccounts()).to.deep.equal(['alice'])
    silent.terminate()
  })

  it('closes sockets that do not authenticate within authTimeout; clients keep working', async () => {
    const { plugin, port } = await ours()
    tinyConnector(plugin)
    await plugin.connect()
    const alice = client(port, 'alice')
    await alice.connect()
    const idle = await RawSocket.open(port)
    sockets.push(idle)
    const garbage = await RawSocket.open(port)
    sockets.push(garbage)
    garbage.send(Buffer.from('garbage!'))
    await Promise.all([idle.waitClosed(), garbage.waitClosed()])
    const info = await ILDCP.fetch(async (data) => await alice.sendData(data))
    expect(info.clientAddress).to.equal(PREFIX + 'alice')
  })

  it('refuses browser origins that allowedOrigins does not match', async () => {
    const { plugin, port } = await ours({ allowedOrigins: ['^https://ok\\.example$'] })
    tinyConnector(plugin)
    await plugin.connect()
    const { WebSocket } = await import('ws')
    const closedFor = async (origin: string): Promise<boolean> => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { origin })
      let closed = false
      ws.on('close', () => { closed = true })
      ws.on('error', () => {})
      await sleep(100)
      ws.terminate()
      return closed
    }
    expect(await closedFor('https://evil.example')).to.equal(true)
    expect(await closedFor('https://ok.example')).to.equal(false)
  })

  it('BtpPlugin (client mode) works against a real ilp-plugin-mini-accounts server', async () => {
    const port = await freePort()
    const ref = new RefMiniAccounts({ wsOpts: { host: '127.0.0.1', port } }, { store: new MapStore() })
    cleanup.push(ref)
    tinyConnector(ref)
    await ref.connect()
    const ours1 = new BtpPlugin({ server: `btp+ws://alice:a-token@127.0.0.1:${port}`, reconnectIntervals: [20] })
    const ours2 = new BtpPlugin({ server: `btp+ws://bob:b-token@127.0.0.1:${port}`, reconnectIntervals: [20] })
    cleanup.push(ours1, ours2)
    await Promise.all([ours1.connect(), ours2.connect()])
    const info = await ILDCP.fetch(async (data) => await ours1.sendData(data))
    expect(info.clientAddress).to.equal(PREFIX + 'alice')
    const known = new Map<string, Buffer>()
    ours2.registerDataHandler(fulfiller(known))
    const { fulfillment, executionCondition } = newFulfillment()
    known.set(executionCondition.toString('hex'), fulfillment)
    expect((await ours1.sendData(prepare({ destination: PREFIX + 'bob', executionCondition }))).equals(fulfill(fulfillment))).to.equal(true)
  })

  it('is exported as @conn/plugin-btp/mini-accounts (default: the class) with types, import and default conditions', async () => {
    const require = createRequire(import.meta.url)
    const pkg = require('../package.json') as { exports: Record<string, Record<string, string>> }
    expect(pkg.exports['./mini-accounts']).to.deep.equal({
      types: './dist/mini-accounts.d.ts', import: './dist/mini-accounts.js', default: './dist/mini-accounts.js'
    })
    expect(MiniAccountsDefault).to.equal(MiniAccountsPlugin)
    expect(MiniAccountsPlugin.version).to.equal(2)
  })
})
