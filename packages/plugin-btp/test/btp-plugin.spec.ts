import { expect } from 'chai'
import { RecordingLogger, rejectionOf } from '@conn/testkit'
import { WebSocketServer } from 'ws'
import { MoneyNotSentError, isMoneyNotSent } from '@conn/types'
import { BtpError, BtpPlugin } from '../src/index.ts'
import {
  authMessage, BtpPacket, freePort, fulfill, fulfiller, IlpPacket, newFulfillment, prepare, RefBtpPlugin, rejectPacket, sleep, waitFor,
  type RefBtpPluginInstance
} from './helpers.ts'

type AnyPlugin = BtpPlugin | RefBtpPluginInstance

const SECRET = 'correct-horse-battery'

describe('btp-plugin', () => {
  const cleanup: AnyPlugin[] = []
  const servers: WebSocketServer[] = []

  function track<P extends AnyPlugin> (plugin: P): P {
    cleanup.push(plugin)
    return plugin
  }

  afterEach(async () => {
    for (const plugin of cleanup.splice(0).reverse()) await plugin.disconnect().catch(() => {})
    for (const wss of servers.splice(0)) await new Promise((resolve) => { wss.close(resolve) })
  })

  /** Listener options bound to 127.0.0.1. */
  function listener (port: number, secret = SECRET): { port: number, secret: string, wsOpts: { host: string, port: number } } {
    return { port, secret, wsOpts: { host: '127.0.0.1', port } }
  }

  function ourServer (port: number, extra: Record<string, unknown> = {}): BtpPlugin {
    return track(new BtpPlugin({ listener: listener(port), ...extra }))
  }

  function ourClient (port: number, extra: Record<string, unknown> = {}, secret = SECRET): BtpPlugin {
    return track(new BtpPlugin({ server: `btp+ws://:${encodeURIComponent(secret)}@127.0.0.1:${port}`, reconnectIntervals: [20], ...extra }))
  }

  function refServer (port: number): RefBtpPluginInstance {
    return track(new RefBtpPlugin({ listener: listener(port) }))
  }

  function refClient (port: number, secret = SECRET): RefBtpPluginInstance {
    return track(new RefBtpPlugin({ server: `btp+ws://:${secret}@127.0.0.1:${port}`, reconnectIntervals: [20] }))
  }

  /** Connects a server and a client; both resolve. */
  async function connectPair (server: AnyPlugin, client: AnyPlugin): Promise<void> {
    await Promise.all([server.connect(), client.connect()])
  }

  /** Both directions fulfill, and a Reject comes back as the bytes sent. */
  async function roundTrips (a: AnyPlugin, b: AnyPlugin): Promise<void> {
    const known = new Map<string, Buffer>()
    for (const plugin of [a, b]) plugin.registerDataHandler(fulfiller(known))
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const { fulfillment, executionCondition } = newFulfillment()
      known.set(executionCondition.toString('hex'), fulfillment)
      const reply = await from.sendData(prepare({ destination: 'test.peer', executionCondition }))
      expect(reply.equals(fulfill(fulfillment))).to.equal(true)
      const rejected = await from.sendData(prepare({ destination: 'test.peer' }))
      expect(rejected.equals(rejectPacket('F99', 'unknown condition'))).to.equal(true)
      void to
    }
  }

  describe('options', () => {
    it('requires exactly one of server and listener, and a non-empty listener secret', () => {
      expect(() => new BtpPlugin({})).to.throw('`server` (client mode) or `listener` (server mode) is required')
      expect(() => new BtpPlugin({ server: 'btp+ws://:a@127.0.0.1:1', listener: { port: 1, secret: 'a' } })).to.throw('not both')
      expect(() => new BtpPlugin({ listener: { port: 1, secret: '' } })).to.throw('listener.secret: an empty secret lets any client in')
    })

    it('refuses a URL without btp+ (without printing its token) and credentials in both URL and options', () => {
      expect(() => new BtpPlugin({ server: 'ws://:a@127.0.0.1:1' })).to.throw('server: expected a btp+ws:// or btp+wss:// URL, got "ws://:***@127.0.0.1:1"')
      expect(() => new BtpPlugin({ server: 'btp+ws://:a@127.0.0.1:1', btpToken: 'b' }))
        .to.throw('account/token must be passed in via constructor or uri, but not both')
    })

    it('is an LPI2 plugin class', () => {
      expect(BtpPlugin.version).to.equal(2)
    })
  })

  describe('our server, ilp-plugin-btp client', () => {
    it('connects, carries packets both ways, and emits connect once', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = refClient(port)
      let connects = 0
      server.on('connect', () => { connects++ })
      await connectPair(server, client)
      expect(server.isConnected()).to.equal(true)
      expect(connects).to.equal(1)
      await roundTrips(server, client)
    })

    it('connect() resolves only once a client has authenticated', async () => {
      const port = await freePort()
      const server = ourServer(port)
      let resolved = false
      const connecting = server.connect().then(() => { resolved = true })
      await sleep(100)
      expect(resolved).to.equal(false)
      expect(server.isConnected()).to.equal(false)
      await refClient(port).connect()
      await connecting
      expect(server.isConnected()).to.equal(true)
    })

    it('answers a client with the wrong secret with F00 NotAcceptedError "invalid auth_token" and stays disconnected', async () => {
      const port = await freePort()
      const server = ourServer(port)
      void server.connect().catch(() => {})
      await waitFor(() => (server as unknown as { wss?: unknown }).wss !== undefined)
      await sleep(50)
      const client = refClient(port, 'wrong')
      const errors: string[] = []
      ;(client as unknown as { _log: { error: (...args: unknown[]) => void } })._log.error = (...args) => { errors.push(args.map(String).join(' ')) }
      void client.connect().catch(() => {})
      await waitFor(() => errors.length > 0)
      expect(errors[0]).to.include('error authenticating btp connection')
      expect(errors[0]).to.include('"code":"F00"').and.include('"name":"NotAcceptedError"').and.include('"data":"invalid auth_token"')
      expect(server.isConnected()).to.equal(false)
    })

    it('answers with the ERROR ilp-plugin-btp sends when the data handler throws (F00, name, {"message"})', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = refClient(port)
      await connectPair(server, client)
      server.registerDataHandler(async () => { throw new Error('boom') })
      const err = await rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      const body = JSON.parse(err.message)
      expect(body).to.include({ code: 'F00', name: 'Error', data: '{"message":"boom"}' })
      expect(body.protocolData).to.deep.equal([])
      const named = Object.assign(new Error('too poor'), { name: 'InsufficientBalanceError' })
      server.deregisterDataHandler()
      server.registerDataHandler(async () => { throw named })
      const err2 = await rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      expect(JSON.parse(err2.message)).to.include({ code: 'F08', name: 'InsufficientBalanceError', data: '{"message":"too poor"}' })
    })

    it('answers "no request handler registered" without a data handler', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = refClient(port)
      await connectPair(server, client)
      const err = await rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      expect(JSON.parse(err.message)).to.include({ code: 'F00', data: '{"message":"no request handler registered"}' })
    })

    it('a replacing client takes over the session without disconnect/connect events; the old socket is closed', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const first = refClient(port)
      await connectPair(server, first)
      const events: string[] = []
      server.on('connect', () => { events.push('connect') })
      server.on('disconnect', () => { events.push('disconnect') })
      let firstDropped = false
      ;(first as unknown as { _ws: { on: (e: string, f: () => void) => void } })._ws.on('close', () => { firstDropped = true })
      const second = refClient(port)
      await second.connect()
      await waitFor(() => firstDropped)
      const known = new Map<string, Buffer>()
      second.registerDataHandler(fulfiller(known))
      const { fulfillment, executionCondition } = newFulfillment()
      known.set(executionCondition.toString('hex'), fulfillment)
      expect((await server.sendData(prepare({ destination: 'test.x', executionCondition }))).equals(fulfill(fulfillment))).to.equal(true)
      expect(events).to.deep.equal([])
      expect(server.isConnected()).to.equal(true)
    })
  })

  describe('ilp-plugin-btp server, our client', () => {
    it('connects and carries packets both ways', async () => {
      const port = await freePort()
      const server = refServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      expect(client.isConnected()).to.equal(true)
      await roundTrips(client, server)
    })

    it('rejects sendData with a BtpError carrying ilp-plugin-btp\'s ERROR fields and its JSON message', async () => {
      const port = await freePort()
      const server = refServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      server.registerDataHandler(async () => { throw new Error('kaput') })
      const err = await rejectionOf<BtpError>(client.sendData(prepare({ destination: 'test.x' })))
      expect(err).to.be.instanceOf(BtpError)
      expect(err.btpCode).to.equal('F00')
      expect(err.btpName).to.equal('Error')
      expect(err.btpData).to.equal('{"message":"kaput"}')
      expect(err.triggeredAt).to.be.instanceOf(Date)
      expect(JSON.parse(err.message)).to.deep.equal({ code: 'F00', name: 'Error', triggeredAt: err.triggeredAt.toISOString(), data: '{"message":"kaput"}', protocolData: [] })
    })

    it('keeps retrying with a wrong secret and never connects', async () => {
      const port = await freePort()
      const server = refServer(port)
      void server.connect().catch(() => {})
      const client = ourClient(port, {}, 'wrong')
      let connected = false
      void client.connect().then(() => { connected = true }, () => {})
      await sleep(200)
      expect(connected).to.equal(false)
      expect(client.isConnected()).to.equal(false)
    })

    it('sends the auth message ilp-plugin-btp sends, byte for byte but the request id', async () => {
      const port = await freePort()
      const wss = new WebSocketServer({ host: '127.0.0.1', port })
      servers.push(wss)
      const frames: Buffer[] = []
      wss.on('connection', (ws) => { ws.on('message', (data) => { frames.push(data as Buffer); ws.close() }) })
      const ours = track(new BtpPlugin({ server: `btp+ws://bob:tok%40en@127.0.0.1:${port}/some/path`, reconnectIntervals: [1000] }))
      void ours.connect().catch(() => {})
      await waitFor(() => frames.length === 1)
      const ref = track(new RefBtpPlugin({ server: `btp+ws://bob:tok%40en@127.0.0.1:${port}/some/path`, reconnectIntervals: [1000], responseTimeout: 500 }))
      void ref.connect().catch(() => {})
      await waitFor(() => frames.length === 2)
      const [a, b] = frames as [Buffer, Buffer]
      expect(a.subarray(5).equals(b.subarray(5))).to.equal(true)
      expect(a[0]).to.equal(b[0])
      const pd = BtpPacket.deserialize(a).data.protocolData as Array<{ protocolName: string, data: Buffer, contentType: number }>
      expect(pd.map((p) => [p.protocolName, p.contentType, p.data.toString()])).to.deep.equal([
        ['auth', 0, ''], ['auth_username', 1, 'bob'], ['auth_token', 1, 'tok%40en']
      ])
    })
  })

  describe('our server, our client', () => {
    it('carries packets both ways', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      await roundTrips(client, server)
    })

    it('returns an empty Buffer when the RESPONSE has no ilp data, like ilp-plugin-btp', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      server.registerDataHandler(async () => undefined as unknown as Buffer)
      expect((await client.sendData(prepare({ destination: 'test.x' }))).length).to.equal(0)
    })

    it('times out a request with no answer after responseTimeout with "<id> timed out"', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port, { responseTimeout: 100 })
      await connectPair(server, client)
      server.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
      const started = Date.now()
      const err = await rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      expect(err.message).to.match(/^\d+ timed out$/)
      expect(Date.now() - started).to.be.within(90, 400)
    })

    it('sendData rejects at once while not connected', async () => {
      const client = ourClient(await freePort())
      const err = await rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      expect(err.message).to.equal('BTP connection is not open')
    })
  })

  describe('money', () => {
    it('by default sendMoney does nothing and an incoming TRANSFER gets ilp-plugin-btp\'s ERROR', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port, { transfers: true })
      await connectPair(server, client)
      const received: string[] = []
      server.registerMoneyHandler(async (amount) => { received.push(amount) })
      client.registerMoneyHandler(async (amount) => { received.push(amount) })
      await server.sendMoney('100')
      const err = await rejectionOf<BtpError>(client.sendMoney('5'))
      expect(err.btpCode).to.equal('F00')
      expect(err.btpName).to.equal('Error')
      expect(err.btpData).to.equal('{"message":"No sendMoney functionality is included in this module"}')
      expect(received).to.deep.equal([])
    })

    it('ilp-plugin-btp answers our TRANSFER with the same ERROR', async () => {
      const port = await freePort()
      const server = refServer(port)
      const client = ourClient(port, { transfers: true })
      await connectPair(server, client)
      const err = await rejectionOf<BtpError>(client.sendMoney('5'))
      expect([err.btpCode, err.btpName, err.btpData]).to.deep.equal(['F00', 'Error', '{"message":"No sendMoney functionality is included in this module"}'])
    })

    it('with transfers on both sides, sendMoney reaches the money handler; a throwing handler fails it', async () => {
      const port = await freePort()
      const server = ourServer(port, { transfers: true })
      const client = ourClient(port, { transfers: true })
      await connectPair(server, client)
      const received: string[] = []
      server.registerMoneyHandler(async (amount) => {
        received.push(amount)
        if (amount === '13') throw new Error('unlucky')
      })
      await client.sendMoney('18446744073709551615')
      await client.sendMoney('0') // nothing is sent for 0
      const err = await rejectionOf<BtpError>(client.sendMoney('13'))
      expect(err.btpData).to.equal('{"message":"unlucky"}')
      expect(received).to.deep.equal(['18446744073709551615', '13'])
      expect(await rejectionOf<Error>(client.sendMoney('1.5'))).to.be.instanceOf(TypeError)
    })

    describe('what a failed sendMoney says about the money (settlement signal)', () => {
      it('not connected: MoneyNotSentError naming the amount, and nothing reaches the peer', async () => {
        const port = await freePort()
        const server = ourServer(port, { transfers: true })
        const client = ourClient(port, { transfers: true })
        const received: string[] = []
        server.registerMoneyHandler(async (amount) => { received.push(amount) })
        const err = await rejectionOf<Error>(client.sendMoney('5'))
        expect(err).to.be.instanceOf(MoneyNotSentError)
        expect(err.message).to.equal('BTP connection is not open; the TRANSFER of 5 was not sent')
        await connectPair(server, client)
        await client.disconnect()
        const after = await rejectionOf<Error>(client.sendMoney('6'))
        expect(isMoneyNotSent(after)).to.equal(true)
        expect(received).to.deep.equal([])
      })

      it('the peer refuses it (ERROR): a BtpError with settlement "not-sent"', async () => {
        const port = await freePort()
        const server = ourServer(port, { transfers: true })
        const client = ourClient(port, { transfers: true })
        await connectPair(server, client)
        server.registerMoneyHandler(async () => { throw new Error('no thanks') })
        const err = await rejectionOf<BtpError>(client.sendMoney('7'))
        expect(err).to.be.instanceOf(BtpError)
        expect(err.btpData).to.equal('{"message":"no thanks"}')
        expect(isMoneyNotSent(err)).to.equal(true)
      })

      it('no answer in time, or the connection lost before the answer: a plain error (unknown outcome), though the peer got it', async () => {
        const port = await freePort()
        const server = ourServer(port, { transfers: true })
        const client = ourClient(port, { transfers: true, responseTimeout: 100 })
        await connectPair(server, client)
        const received: string[] = []
        server.registerMoneyHandler(async (amount) => {
          received.push(amount)
          await new Promise<void>(() => {})
        })
        const timedOut = await rejectionOf<Error>(client.sendMoney('8'))
        expect(timedOut.message).to.match(/^\d+ timed out$/)
        expect(isMoneyNotSent(timedOut)).to.equal(false)

        const lost = rejectionOf<Error>(client.sendMoney('9'))
        await waitFor(() => received.length === 2)
        await server.disconnect()
        const err = await lost
        expect(isMoneyNotSent(err)).to.equal(false)
        expect(received).to.deep.equal(['8', '9'])
      })
    })
  })

  describe('reconnect', () => {
    it('our client reconnects after our server restarts, with disconnect and connect events, and works again', async () => {
      const port = await freePort()
      let server = ourServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      const events: string[] = []
      client.on('connect', () => { events.push('connect') })
      client.on('disconnect', () => { events.push('disconnect') })
      await server.disconnect()
      await waitFor(() => events.includes('disconnect'))
      expect(client.isConnected()).to.equal(false)
      server = ourServer(port)
      await server.connect()
      await waitFor(() => client.isConnected())
      expect(events).to.deep.equal(['disconnect', 'connect'])
      await roundTrips(client, server)
    })

    it('our client reconnects to a restarted ilp-plugin-btp server', async () => {
      const port = await freePort()
      let server = refServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      await server.disconnect()
      await waitFor(() => !client.isConnected())
      await sleep(50)
      server = refServer(port)
      await server.connect()
      await waitFor(() => client.isConnected())
      await roundTrips(client, server)
    })

    it('an ilp-plugin-btp client reconnects to our restarted server', async () => {
      const port = await freePort()
      let server = ourServer(port)
      const client = refClient(port)
      await connectPair(server, client)
      await server.disconnect()
      server = ourServer(port)
      await server.connect()
      expect(server.isConnected()).to.equal(true)
      await roundTrips(server, client)
    })

    it('fails pending requests as soon as the connection drops, on both sides', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      server.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
      client.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
      const fromClient = rejectionOf<Error>(client.sendData(prepare({ destination: 'test.x' })))
      const fromServer = rejectionOf<Error>(server.sendData(prepare({ destination: 'test.x' })))
      await sleep(30)
      const started = Date.now()
      ;(client as unknown as { clientLink: { ws: { terminate: () => void } } }).clientLink.ws.terminate()
      expect((await fromClient).message).to.match(/^BTP connection closed before request \d+ was answered$/)
      expect((await fromServer).message).to.match(/^BTP connection closed before request \d+ was answered$/)
      expect(Date.now() - started).to.be.below(1000)
    })

    it('the same server object listens again after disconnect() and a client reconnects to it', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const client = ourClient(port)
      await connectPair(server, client)
      await server.disconnect()
      expect(server.isConnected()).to.equal(false)
      await server.connect()
      await waitFor(() => client.isConnected())
      await roundTrips(client, server)
    })

    it('connect() between two sessions waits for the next client without listening again', async () => {
      const port = await freePort()
      const server = ourServer(port)
      const first = ourClient(port)
      await connectPair(server, first)
      await first.disconnect()
      await waitFor(() => !server.isConnected())
      let resolved = false
      const again = server.connect().then(() => { resolved = true })
      await sleep(50)
      expect(resolved).to.equal(false)
      await ourClient(port).connect()
      await again
      expect(server.isConnected()).to.equal(true)
    })

    it('closes a session whose peer stops answering pings (half-open connection), with a disconnect event', async () => {
      const port = await freePort()
      const server = ourServer(port, { pingInterval: 50 })
      const connecting = server.connect()
      await sleep(30)
      const { WebSocket } = await import('ws')
      const silent = new WebSocket(`ws://127.0.0.1:${port}`, { autoPong: false })
      silent.on('error', () => {})
      await new Promise((resolve) => silent.once('open', resolve))
      silent.send(authMessage(SECRET))
      await connecting
      let disconnected = false
      server.on('disconnect', () => { disconnected = true })
      await waitFor(() => disconnected, 1000, 'the disconnect event')
      expect(server.isConnected()).to.equal(false)
      // a peer that answers pings (ws does by default) stays connected across many intervals
      const client = ourClient(port)
      await client.connect()
      await waitFor(() => server.isConnected())
      await sleep(300)
      expect(server.isConnected()).to.equal(true)
    })

    it('disconnect() during a pending connect() rejects it with "connection aborted"', async () => {
      const server = ourServer(await freePort())
      const connecting = rejectionOf<Error>(server.connect())
      await sleep(20)
      await server.disconnect()
      expect((await connecting).message).to.equal('connection aborted')
    })

    it('connect() rejects when the port is taken', async () => {
      const port = await freePort()
      const wss = new WebSocketServer({ host: '127.0.0.1', port })
      servers.push(wss)
      await new Promise((resolve) => wss.once('listening', resolve))
      const err = await rejectionOf<NodeJS.ErrnoException>(ourServer(port).connect())
      expect(err.code).to.equal('EADDRINUSE')
    })
  })

  it('logs nothing per packet, and the session events at info with the remote address', async () => {
    const port = await freePort()
    const log = new RecordingLogger({ level: 'info' })
    const server = track(new BtpPlugin({ listener: listener(port) }, { log }))
    const client = track(new BtpPlugin({ server: `btp+ws://:${SECRET}@127.0.0.1:${port}` }, { log: log.child({ side: 'client' }) }))
    await connectPair(server, client)
    expect(log.at('info').map((r) => r.msg)).to.include.members(['listening for BTP connections', 'BTP session authenticated'])
    expect(log.at('info').find((r) => r.msg === 'BTP session authenticated')!.obj.remote).to.match(/^127\.0\.0\.1:\d+$/)
    const before = log.records.length
    await roundTrips(client, server)
    for (let i = 0; i < 20; i++) await client.sendData(prepare({ destination: 'test.x' }))
    expect(log.records.length).to.equal(before)
  })

  it('round-trips real ILP packets as the exact bytes (ilp-packet parses them)', async () => {
    const port = await freePort()
    const server = ourServer(port)
    const client = refClient(port)
    await connectPair(server, client)
    const packet = prepare({ destination: 'test.bob', amount: '123', data: Buffer.alloc(32767, 7) })
    let seen: Buffer | undefined
    server.registerDataHandler(async (data) => { seen = data; return rejectPacket('T04', 'no liquidity') })
    const reply = await client.sendData(packet)
    expect(seen!.equals(packet)).to.equal(true)
    expect(IlpPacket.deserializeIlpReject(reply)).to.include({ code: 'T04', message: 'no liquidity' })
  })
})
