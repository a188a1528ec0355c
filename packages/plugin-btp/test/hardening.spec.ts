import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { connect } from 'node:net'
import { MapStore } from '@conn/testkit'
import { BtpPlugin, MiniAccountsPlugin } from '../src/index.ts'
import { decode, encodeIlp, TYPE_ERROR, TYPE_MESSAGE, TYPE_RESPONSE } from '../src/codec.ts'
import {
  authMessage, BtpPacket, freePort, fulfill, fulfiller, newFulfillment, prepare, RawSocket, RefBtpPlugin, sleep, waitFor,
  type RefBtpPluginInstance
} from './helpers.ts'

const SECRET = 'hunter2'

type Server = BtpPlugin | RefBtpPluginInstance

interface Session {
  port: number
  server: Server
  client: RefBtpPluginInstance
  /** 'connect' / 'disconnect' events of the server since the session came up. */
  events: string[]
  /** isConnected() was false at some poll since the session came up. */
  sawDisconnected: () => boolean
  /** A packet each way; resolves with what happened. */
  roundTrip: () => Promise<'ok' | string>
}

/**
 * The attacks: each gets the port and returns once the attacking socket is done with. They use raw
 * WebSockets, never the secret (except the one that authenticates correctly, which may replace the session).
 */
const ATTACKS: Array<{ name: string, run: (port: number) => Promise<RawSocket> }> = [
  {
    name: 'a socket that never authenticates',
    run: async (port) => {
      const raw = await RawSocket.open(port)
      await sleep(800) // longer than our authTimeout of 600 ms
      return raw
    }
  },
  {
    name: 'a socket with a wrong secret',
    run: async (port) => {
      const raw = await RawSocket.open(port)
      raw.send(authMessage('hunter3'))
      await waitFor(() => raw.received.length > 0 || raw.closed).catch(() => {})
      await sleep(50)
      return raw
    }
  },
  {
    name: 'a socket that sends garbage',
    run: async (port) => {
      const raw = await RawSocket.open(port)
      raw.send(randomBytes(40))
      raw.send('GET / HTTP/1.1')
      await sleep(100)
      return raw
    }
  },
  {
    name: 'a socket that connects and closes at once',
    run: async (port) => {
      const raw = await RawSocket.open(port)
      raw.destroy()
      await sleep(100)
      return raw
    }
  }
]

describe('hardening', () => {
  const cleanup: Array<{ disconnect: () => Promise<void> }> = []
  const sockets: RawSocket[] = []
  let poller: NodeJS.Timeout | undefined

  afterEach(async () => {
    clearInterval(poller)
    for (const raw of sockets.splice(0)) raw.destroy()
    for (const plugin of cleanup.splice(0).reverse()) await plugin.disconnect().catch(() => {})
  })

  /** A server (ours or ilp-plugin-btp's) with one authenticated ilp-plugin-btp client. */
  async function session (makeServer: (port: number) => Server): Promise<Session> {
    const port = await freePort()
    const server = makeServer(port)
    const client = new RefBtpPlugin({ server: `btp+ws://:${SECRET}@127.0.0.1:${port}`, reconnectIntervals: [20], responseTimeout: 500 })
    cleanup.push(server, client)
    await Promise.all([server.connect(), client.connect()])
    const known = new Map<string, Buffer>()
    server.registerDataHandler(fulfiller(known))
    client.registerDataHandler(fulfiller(known))
    const events: string[] = []
    server.on('connect', () => { events.push('connect') })
    server.on('disconnect', () => { events.push('disconnect') })
    let disconnected = false
    poller = setInterval(() => { if (!server.isConnected()) disconnected = true }, 2)
    const roundTrip = async (): Promise<'ok' | string> => {
      try {
        for (const [from, what] of [[client, 'client to server'], [server, 'server to client']] as const) {
          const { fulfillment, executionCondition } = newFulfillment()
          known.set(executionCondition.toString('hex'), fulfillment)
          const reply = await from.sendData(prepare({ destination: 'test.x', executionCondition }))
          if (!reply.equals(fulfill(fulfillment))) return `${what}: wrong reply`
        }
        return 'ok'
      } catch (err) {
        return (err as Error).message
      }
    }
    return { port, server, client, events, sawDisconnected: () => disconnected, roundTrip }
  }

  describe('our server keeps the authenticated session', () => {
    // authTimeout 600 ms: short enough for the tests, long enough that a legitimate client on a loaded machine
    // authenticates before it (at 150 ms a busy CI machine timed out the session's own client)
    const ours = (port: number): BtpPlugin => new BtpPlugin({
      listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 600, responseTimeout: 500
    })

    for (const attack of ATTACKS) {
      it(`against ${attack.name}: packets still flow, no disconnect event, isConnected() stays true, the socket is closed`, async () => {
        const s = await session(ours)
        expect(await s.roundTrip()).to.equal('ok')
        const raw = await attack.run(s.port)
        sockets.push(raw)
        await raw.waitClosed()
        expect(await s.roundTrip()).to.equal('ok')
        expect(s.events).to.deep.equal([])
        expect(s.sawDisconnected()).to.equal(false)
        expect(s.server.isConnected()).to.equal(true)
      })
    }

    it('against all four attacks at once, 20 sockets each', async () => {
      const s = await session(ours)
      // a socket the server drops before its handshake completes (beyond maxUnauthenticated) is an attack refused
      const outcomes = await Promise.all(Array.from({ length: 80 }, async (_, i) => await ATTACKS[i % 4]!.run(s.port).catch((err: Error) => err)))
      const raws = outcomes.filter((outcome): outcome is RawSocket => outcome instanceof RawSocket)
      for (const outcome of outcomes) if (!(outcome instanceof RawSocket)) expect(outcome.message).to.match(/ECONNRESET|socket hang up|Unexpected server response/)
      sockets.push(...raws)
      await Promise.all(raws.map(async (raw) => { await raw.waitClosed() }))
      expect(await s.roundTrip()).to.equal('ok')
      expect(s.events).to.deep.equal([])
      expect(s.sawDisconnected()).to.equal(false)
    })

    it('a socket that connects and drops while connect() waits for the first client: connect() keeps waiting, then resolves for a client with the secret', async () => {
      const port = await freePort()
      const server = ours(port)
      cleanup.push(server)
      const events: string[] = []
      server.on('connect', () => { events.push('connect') })
      server.on('disconnect', () => { events.push('disconnect') })
      const outcome = server.connect().then(() => 'connected', (err: Error) => err.message)
      await sleep(50)
      const raw = await RawSocket.open(port)
      raw.destroy()
      expect(await Promise.race([outcome, sleep(300).then(() => 'still waiting')])).to.equal('still waiting')
      expect(events).to.deep.equal([])
      const client = new RefBtpPlugin({ server: `btp+ws://:${SECRET}@127.0.0.1:${port}`, reconnectIntervals: [20] })
      cleanup.push(client)
      await client.connect()
      expect(await outcome).to.equal('connected')
      expect(events).to.deep.equal(['connect'])
    })

    it('without an auth timeout (authTimeout 0), a socket left unauthenticated and then closed by its peer: packets flow, no events, isConnected() stays true', async () => {
      // the exact attack of the ilp-plugin-btp observation below, with nothing closing the socket for us
      const s = await session((port) => new BtpPlugin({
        listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 0, responseTimeout: 500
      }))
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      await sleep(300)
      expect(raw.closed).to.equal(false)
      raw.destroy()
      await sleep(100)
      expect(await s.roundTrip()).to.equal('ok')
      expect(s.events).to.deep.equal([])
      expect(s.sawDisconnected()).to.equal(false)
      expect(s.server.isConnected()).to.equal(true)
    })

    it('garbage as the first message is closed with 1002 (malformed BTP packet); the session does not notice', async () => {
      const s = await session(ours)
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      raw.send(Buffer.from('garbage!')) // type 0x67: no BTP frame
      await raw.waitClosed()
      expect(raw.closeCode).to.equal(1002)
      expect(raw.received).to.deep.equal([])
      expect(await s.roundTrip()).to.equal('ok')
      expect(s.events).to.deep.equal([])
      expect(s.sawDisconnected()).to.equal(false)
    })

    it('answers a wrong secret with ilp-plugin-btp\'s F00 NotAcceptedError "invalid auth_token", then closes', async () => {
      const s = await session(ours)
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      raw.send(authMessage('nope', '', 77))
      await raw.waitClosed()
      const reply = BtpPacket.deserialize(raw.received[0]!) as any
      expect(reply.type).to.equal(TYPE_ERROR)
      expect(reply.requestId).to.equal(77)
      expect(reply.data).to.include({ code: 'F00', name: 'NotAcceptedError', data: 'invalid auth_token' })
    })

    it('answers a first message that is not an auth MESSAGE with ilp-plugin-btp\'s reason', async () => {
      const s = await session(ours)
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      raw.send(BtpPacket.serializeResponse(5, []))
      await raw.waitClosed()
      expect(BtpPacket.deserialize(raw.received[0]!).data).to.include({ data: 'First message sent over BTP connection must be auth packet' })
    })

    it('closes a socket whose frame exceeds maxPayload (1009) before authentication', async () => {
      // a long authTimeout: under load, sending 1 MiB and the close handshake could outlast 150 ms, and the auth
      // timeout would then terminate the socket first (1006)
      const s = await session((port) => new BtpPlugin({
        listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 10_000, responseTimeout: 500
      }))
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      raw.send(Buffer.alloc(1024 * 1024 + 1))
      await raw.waitClosed()
      expect(raw.closeCode).to.equal(1009)
      expect(await s.roundTrip()).to.equal('ok')
    })

    it('refuses an oversized frame from its header (1009), before the body is sent, let alone buffered', async () => {
      const s = await session((port) => new BtpPlugin({
        listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 10_000, responseTimeout: 500
      }))
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      // a masked binary frame whose header announces 64 MiB; only its first 16 bytes ever follow
      const header = Buffer.alloc(14)
      header[0] = 0x82
      header[1] = 0x80 | 127
      header.writeBigUInt64BE(64n * 1024n * 1024n, 2)
      ;(raw.ws as unknown as { _socket: { write: (b: Buffer) => void } })._socket.write(Buffer.concat([header, Buffer.alloc(16)]))
      await raw.waitClosed(1000)
      expect(raw.closeCode).to.equal(1009)
      expect(await s.roundTrip()).to.equal('ok')
    })

    it('closes sockets beyond maxUnauthenticated at once (1013); the session and sockets admitted later are unaffected', async () => {
      const s = await session((port) => new BtpPlugin({
        listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 10_000, responseTimeout: 500, maxUnauthenticated: 3
      }))
      const waiting = await Promise.all([1, 2, 3].map(async () => await RawSocket.open(s.port)))
      sockets.push(...waiting)
      const fourth = await RawSocket.open(s.port)
      sockets.push(fourth)
      await fourth.waitClosed(1000)
      expect(fourth.closeCode).to.equal(1013)
      expect(waiting.map((r) => r.closed)).to.deep.equal([false, false, false])
      waiting[0]!.destroy()
      await waitFor(() => waiting[0]!.closed)
      await sleep(50)
      const later = await RawSocket.open(s.port)
      sockets.push(later)
      // admitted and read (a wrong secret, so it does not replace the session): it gets its answer, not a 1013
      later.send(authMessage('not-the-secret'))
      await waitFor(() => later.received.length > 0)
      expect(decode(later.received[0]!).type).to.equal(TYPE_ERROR)
      expect(await s.roundTrip()).to.equal('ok')
    })

    it('closes TCP connections that do not upgrade within authTimeout (silent, half a request), from BtpPlugin and MiniAccountsPlugin; the session goes on', async () => {
      const s = await session((port) => new BtpPlugin({ listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, authTimeout: 200, responseTimeout: 500 }))
      const mport = await freePort()
      const mini = new MiniAccountsPlugin({ wsOpts: { host: '127.0.0.1', port: mport }, authTimeout: 200, debugHostIldcpInfo: { clientAddress: 'test.mini', assetScale: 9, assetCode: 'XRP' } }, { store: new MapStore() })
      cleanup.push(mini)
      await mini.connect()
      const closedAfter = async (port: number, bytes: string): Promise<number> => {
        const started = Date.now()
        const socket = connect(port, '127.0.0.1', () => { if (bytes !== '') socket.write(bytes) })
        socket.on('error', () => {})
        await new Promise((resolve) => socket.once('close', resolve))
        return Date.now() - started
      }
      const times = await Promise.all([s.port, mport].flatMap((port) => [closedAfter(port, ''), closedAfter(port, 'GET / HTTP/1.1\r\nUpgrade: websocket\r\n')]))
      for (const ms of times) expect(ms).to.be.within(150, 1500)
      expect(await s.roundTrip()).to.equal('ok')
      expect(s.events).to.deep.equal([])
    })

    it('a malformed MESSAGE from the authenticated peer gets F01 InvalidFieldsError and the session goes on', async () => {
      const port = await freePort()
      const server = ours(port)
      cleanup.push(server)
      const connecting = server.connect()
      await sleep(50)
      const raw = await RawSocket.open(port)
      sockets.push(raw)
      raw.send(authMessage(SECRET))
      await connecting
      server.registerDataHandler(async () => fulfill(Buffer.alloc(32)))
      const bad = encodeIlp(TYPE_MESSAGE, 9, Buffer.from('abc'))
      bad[5] = 100 // contents longer than the frame
      raw.send(bad)
      raw.send(encodeIlp(TYPE_MESSAGE, 10, prepare({ destination: 'test.x' })))
      await waitFor(() => raw.received.length === 3)
      const error = decode(raw.received[1]!)
      expect(error.type).to.equal(TYPE_ERROR)
      expect(error.requestId).to.equal(9)
      expect(error.error).to.include({ code: 'F01', name: 'InvalidFieldsError' })
      const ok = decode(raw.received[2]!)
      expect([ok.type, ok.requestId]).to.deep.equal([TYPE_RESPONSE, 10])
      expect(server.isConnected()).to.equal(true)
    })

    it('ignores a RESPONSE from another socket for a request of the session', async () => {
      const port = await freePort()
      const server = ours(port)
      cleanup.push(server)
      const connecting = server.connect()
      await sleep(50)
      const peer = await RawSocket.open(port)
      sockets.push(peer)
      peer.send(authMessage(SECRET))
      await connecting
      const reply = server.sendData(prepare({ destination: 'test.x' }))
      await waitFor(() => peer.received.length === 2)
      const id = decode(peer.received[1]!).requestId
      // a second socket that never authenticated answers the request: ignored (it is still unauthenticated)
      const intruder = await RawSocket.open(port)
      sockets.push(intruder)
      intruder.send(encodeIlp(TYPE_RESPONSE, id, fulfill(Buffer.alloc(32))))
      await sleep(50)
      const real = fulfill(Buffer.alloc(32, 1))
      peer.send(encodeIlp(TYPE_RESPONSE, id, real))
      expect((await reply).equals(real)).to.equal(true)
    })
  })

  describe('ilp-plugin-btp\'s server, for comparison (what the README reports)', () => {
    const ref = (port: number): RefBtpPluginInstance => new RefBtpPlugin({
      listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, responseTimeout: 300
    })

    it('a socket that connects and drops while connect() waits for the first client aborts connect() with "connection aborted"', async () => {
      const port = await freePort()
      const server = ref(port)
      cleanup.push(server)
      const outcome = server.connect().then(() => 'connected', (err: Error) => err.message)
      await sleep(50)
      const raw = await RawSocket.open(port)
      raw.destroy()
      expect(await Promise.race([outcome, sleep(300).then(() => 'still waiting')])).to.equal('connection aborted')
    })

    it('a socket that never authenticates is never closed (no auth timeout); when it closes, the account is reported disconnected', async () => {
      const s = await session(ref)
      const raw = await RawSocket.open(s.port)
      sockets.push(raw)
      await sleep(300)
      expect(raw.closed).to.equal(false)
      raw.destroy()
      await waitFor(() => s.events.length > 0)
      expect(s.events).to.deep.equal(['disconnect'])
      expect(s.server.isConnected()).to.equal(false)
    })

    it('a wrong secret drops the live session: disconnect event and no packet gets through any more', async () => {
      const s = await session(ref)
      expect(await s.roundTrip()).to.equal('ok')
      const raw = await ATTACKS[1]!.run(s.port)
      sockets.push(raw)
      expect(s.events).to.deep.equal(['disconnect'])
      expect(s.server.isConnected()).to.equal(false)
      expect(await s.roundTrip()).to.match(/timed out/)
    })

    it('garbage drops the live session the same way', async () => {
      const s = await session(ref)
      const raw = await ATTACKS[2]!.run(s.port)
      sockets.push(raw)
      expect(s.events).to.deep.equal(['disconnect'])
      expect(s.server.isConnected()).to.equal(false)
      expect(await s.roundTrip()).to.match(/timed out/)
    })

    it('a socket that connects and closes marks the account disconnected (the session itself still carries packets)', async () => {
      const s = await session(ref)
      const raw = await ATTACKS[3]!.run(s.port)
      sockets.push(raw)
      expect(s.events).to.deep.equal(['disconnect'])
      expect(s.server.isConnected()).to.equal(false)
      expect(await s.roundTrip()).to.equal('ok')
    })
  })
})
