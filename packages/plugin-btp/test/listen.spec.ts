import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { expect } from 'chai'
import { MapStore, rejectionOf } from '@conn/testkit'
import { WebSocket, WebSocketServer } from 'ws'
import { BtpPlugin, MiniAccountsPlugin } from '../src/index.ts'
import { listenWebSocket } from '../src/listen.ts'
import { freePort } from './helpers.ts'

/** Opens a WebSocket to the port and resolves with true once open, false if refused or closed first. */
async function opens (port: number): Promise<boolean> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`)
  return await new Promise<boolean>((resolve) => {
    ws.once('open', () => { ws.terminate(); resolve(true) })
    ws.once('error', () => { resolve(false) })
  })
}

async function listen (server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
}

async function close (wss: WebSocketServer, server?: Server): Promise<void> {
  await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
  if (server?.listening === true) await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}

describe('listenWebSocket', () => {
  const closing: Array<() => Promise<void>> = []
  afterEach(async () => { for (const done of closing.splice(0).reverse()) await done() })

  function started (options: Partial<Parameters<typeof listenWebSocket>[0]> & { port: number | undefined }): ReturnType<typeof listenWebSocket> & { connections: number, errors: Error[] } {
    const errors: Error[] = []
    const result = {
      connections: 0,
      errors,
      ...listenWebSocket({
        wsOpts: {},
        maxPayload: 4096,
        onConnection: (ws) => { result.connections++; ws.terminate() },
        onError: (err) => { errors.push(err) },
        ...options
      })
    }
    closing.push(async () => { await close(result.wss, result.httpServer) })
    return result
  }

  it('puts our defaults (no deflate, maxPayload, no client tracking, the port) under wsOpts, which win', async () => {
    const port = await freePort()
    const ours = started({ port, wsOpts: { host: '127.0.0.1' } })
    await ours.listening
    expect(ours.wss.options).to.include({ perMessageDeflate: false, maxPayload: 4096, clientTracking: false, host: '127.0.0.1' })
    expect(ours.wss.address()).to.deep.include({ address: '127.0.0.1', port })
    expect(ours.ownServer).to.equal(true)
    const other = await freePort()
    const theirs = started({ port, wsOpts: { host: '127.0.0.1', port: other, maxPayload: 10, clientTracking: true, perMessageDeflate: true } })
    await theirs.listening
    expect(theirs.wss.options).to.include({ maxPayload: 10, clientTracking: true })
    expect(theirs.wss.address()).to.deep.include({ port: other })
    expect(theirs.wss.options.perMessageDeflate).to.not.equal(false) // ws turns `true` into its default settings
    expect(await opens(other)).to.equal(true)
    expect(theirs.connections).to.equal(1)
  })

  it('answers a plain HTTP request 426, as ws does', async () => {
    const port = await freePort()
    await started({ port, wsOpts: { host: '127.0.0.1' } }).listening
    const res = await fetch(`http://127.0.0.1:${port}/`)
    expect([res.status, await res.text()]).to.deep.equal([426, 'Upgrade Required'])
  })

  it('closes a connection that has not upgraded within handshakeTimeout (silent, or half a request), not one that did', async () => {
    const port = await freePort()
    const result = started({ port, wsOpts: { host: '127.0.0.1' }, handshakeTimeout: 200 })
    await result.listening
    const closedAfter = async (bytes: string): Promise<number> => {
      const started = Date.now()
      const socket = connect(port, '127.0.0.1', () => { if (bytes !== '') socket.write(bytes) })
      socket.on('error', () => {})
      await new Promise((resolve) => socket.once('close', resolve))
      return Date.now() - started
    }
    const [silent, half] = await Promise.all([closedAfter(''), closedAfter('GET / HTTP/1.1\r\nHost: x\r\n')])
    expect(silent).to.be.within(150, 1500)
    expect(half).to.be.within(150, 1500)
    // an upgraded socket is the plugin's to time out (authTimeout), not this one's
    const upgraded = started({ port: await freePort(), wsOpts: { host: '127.0.0.1' }, handshakeTimeout: 200, onConnection: () => {} })
    await upgraded.listening
    const ws = new WebSocket(`ws://127.0.0.1:${(upgraded.wss.address() as { port: number }).port}`)
    await new Promise((resolve) => ws.once('open', resolve))
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(ws.readyState).to.equal(WebSocket.OPEN)
    ws.terminate()
  })

  it('rejects `listening` with EADDRINUSE when the port is taken, and does not report it as a server error', async () => {
    const port = await freePort()
    const taken = createServer()
    await listen(taken, port)
    closing.push(async () => { await new Promise<void>((resolve) => { taken.close(() => { resolve() }) }) })
    const { listening, errors } = started({ port, wsOpts: { host: '127.0.0.1' } })
    expect((await rejectionOf<NodeJS.ErrnoException>(listening)).code).to.equal('EADDRINUSE')
    expect(errors).to.deep.equal([])
  })

  it('reports server errors after listening to onError', async () => {
    const port = await freePort()
    const { wss, listening, errors } = started({ port, wsOpts: { host: '127.0.0.1' } })
    await listening
    const boom = new Error('boom')
    wss.emit('error', boom)
    expect(errors).to.deep.equal([boom])
  })

  it('listens an attached HTTP server that is not listening yet on the port (no port passed to ws)', async () => {
    const port = await freePort()
    const server = createServer()
    const { wss, listening } = started({ port, wsOpts: { server, host: '127.0.0.1' } })
    expect(wss.options.port ?? undefined).to.equal(undefined)
    await listening
    expect(server.listening).to.equal(true)
    expect(await opens(port)).to.equal(true)
  })

  it('takes an attached HTTP server that is already listening as is, and resolves at once', async () => {
    const port = await freePort()
    const server = createServer()
    await listen(server, port)
    const unused = await freePort()
    const result = started({ port: unused, wsOpts: { server } })
    await result.listening
    expect(await opens(port)).to.equal(true)
    expect(await opens(unused)).to.equal(false)
    expect(result.connections).to.equal(1)
  })

  it('with noServer, resolves at once and binds nothing (the operator hands upgrades to wss.handleUpgrade)', async () => {
    const port = await freePort()
    const result = started({ port, wsOpts: { noServer: true } })
    await result.listening
    expect(result.wss.options.port ?? undefined).to.equal(undefined)
    expect(await opens(port)).to.equal(false)
    const server = createServer()
    server.on('upgrade', (req, socket, head) => { result.wss.handleUpgrade(req, socket, head, (ws) => { result.wss.emit('connection', ws, req) }) })
    await listen(server, port)
    closing.push(async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }) }) })
    expect(await opens(port)).to.equal(true)
    expect(result.connections).to.equal(1)
  })

  describe('through the plugins', () => {
    it('MiniAccountsPlugin.connect() rejects with EADDRINUSE when the port is taken, and is not connected', async () => {
      const port = await freePort()
      const wss = new WebSocketServer({ host: '127.0.0.1', port })
      closing.push(async () => { await close(wss) })
      await new Promise((resolve) => wss.once('listening', resolve))
      const plugin = new MiniAccountsPlugin({ wsOpts: { host: '127.0.0.1', port }, debugHostIldcpInfo: { clientAddress: 'test.mini', assetScale: 9, assetCode: 'XRP' } }, { store: new MapStore() })
      expect((await rejectionOf<NodeJS.ErrnoException>(plugin.connect())).code).to.equal('EADDRINUSE')
      expect(plugin.isConnected()).to.equal(false)
    })

    it('BtpPlugin and MiniAccountsPlugin serve on an attached HTTP server, and close it on disconnect', async () => {
      for (const make of [
        (server: Server) => new BtpPlugin({ listener: { secret: 's', wsOpts: { server } } }),
        (server: Server) => new MiniAccountsPlugin({ wsOpts: { server }, debugHostIldcpInfo: { clientAddress: 'test.mini', assetScale: 9, assetCode: 'XRP' } })
      ]) {
        const port = await freePort()
        const server = createServer()
        await listen(server, port)
        const plugin = make(server)
        const client = new BtpPlugin({ server: `btp+ws://:s@127.0.0.1:${port}`, reconnectIntervals: [10] })
        await Promise.all([plugin.connect(), client.connect()])
        expect(client.isConnected()).to.equal(true)
        await client.disconnect()
        await plugin.disconnect()
        expect(server.listening).to.equal(false)
      }
    })
  })
})
