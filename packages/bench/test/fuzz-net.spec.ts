/**
 * The fuzzer's sockets count silence as a failure: a server that keeps the connection open without answering makes
 * them throw Hang after the time-out, and a server that closes ends the wait at once.
 */
import { expect } from 'chai'
import { createServer, type Server, type Socket } from 'node:net'
import { Hang, WsConn, rawExchange } from '../src/fuzz-net.ts'

async function listen (onSocket: (socket: Socket) => void): Promise<{ server: Server, port: number, sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const server = createServer({ allowHalfOpen: true }, (socket) => { sockets.add(socket); socket.on('error', () => {}); onSocket(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port, sockets }
}

describe('fuzz-net', () => {
  const servers: Array<{ server: Server, sockets: Set<Socket> }> = []
  afterEach(async () => {
    for (const { server, sockets } of servers.splice(0)) {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('rawExchange throws Hang when the server keeps the connection open after our FIN', async () => {
    const s = await listen(() => {}) // reads, never answers, never closes (half-open allowed)
    servers.push(s)
    const started = Date.now()
    const err = await rawExchange(s.port, [Buffer.from('hello')], 200).then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(Hang)
    expect(Date.now() - started).to.be.within(180, 1000)
  })

  it('rawExchange returns the first line when the server answers and closes', async () => {
    const s = await listen((socket) => { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n') })
    servers.push(s)
    expect(await rawExchange(s.port, [Buffer.from('x')], 1000)).to.deep.equal({ firstLine: 'HTTP/1.1 400 Bad Request', received: 28 })
  })

  it('WsConn.open throws Hang when the handshake gets no answer, and returns the status of a refusal', async () => {
    const silent = await listen(() => {})
    servers.push(silent)
    expect(await WsConn.open(silent.port, 200).then(() => undefined, (e: Error) => e)).to.be.instanceOf(Hang)
    const refusing = await listen((socket) => { socket.end('HTTP/1.1 426 Upgrade Required\r\n\r\n') })
    servers.push(refusing)
    expect(await WsConn.open(refusing.port, 1000)).to.deep.equal({ status: 'HTTP/1.1 426 Upgrade Required' })
  })
})
