/**
 * The incoming side: one port for HTTP/1.1 (keep-alive) and cleartext HTTP/2 (prior knowledge), told apart by
 * the HTTP/2 connection preface. A request reaches the connector only if it is a POST, authorized, no larger than
 * the limit and an ILP Prepare; otherwise it gets its HTTP status at once (405, 401, 413, 400). GET and HEAD
 * answer 200 (a health check, as ilp-plugin-http).
 */
import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server, type ServerResponse } from 'node:http'
import { createServer as createHttp2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net'
import { parsePrepare } from '@conn/codec'
import type { IncomingAuth } from './auth.ts'

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const OCTET_STREAM = 'application/octet-stream'

type Request = IncomingMessage | Http2ServerRequest
type Response = ServerResponse | Http2ServerResponse

export interface ServerDeps {
  auth: IncomingAuth
  maxBodyBytes: number
  /** The connector's handler; undefined while none is registered (503). */
  handler: () => ((prepare: Buffer) => Promise<Buffer>) | undefined
}

export class IlpHttpServer {
  private readonly tcp: TcpServer
  private readonly http1: Http1Server
  private readonly http2: Http2Server
  private readonly sockets = new Set<Socket>()

  constructor (private readonly deps: ServerDeps) {
    this.http1 = createHttp1Server({ keepAlive: true }, (req, res) => { this.handle(req, res) })
    this.http2 = createHttp2Server({}, (req, res) => { this.handle(req, res) })
    this.tcp = createTcpServer((socket) => { this.route(socket) })
  }

  async listen (port: number, host: string | undefined): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject)
      this.tcp.listen(port, host, () => { this.tcp.off('error', reject); resolve() })
    })
    return (this.tcp.address() as { port: number }).port
  }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    this.http1.closeAllConnections()
    await closed
  }

  /** Hands a connection to the HTTP/2 server if it starts with the HTTP/2 preface, else to the HTTP/1.1 one. */
  private route (socket: Socket): void {
    // a reply is one small write: sent at once, not held back for Nagle's algorithm
    socket.setNoDelay(true)
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.once('readable', () => {
      const head = socket.read(HTTP2_PREFACE.length) as Buffer | null ?? socket.read() as Buffer | null
      if (head !== null) socket.unshift(head)
      const http2 = head !== null && head.length >= 3 && head.subarray(0, 3).equals(HTTP2_PREFACE.subarray(0, 3))
      ;(http2 ? this.http2 : this.http1).emit('connection', socket)
    })
    socket.on('error', () => socket.destroy())
  }

  private handle (req: Request, res: Response): void {
    if (req.method === 'GET' || req.method === 'HEAD') return answer(res, 200, 'OK')
    if (req.method !== 'POST') return answer(res, 405, 'only POST carries ILP packets')
    const authorized = this.deps.auth.check(header(req, 'authorization'))
    if (authorized === true) return this.readBody(req, res)
    if (authorized === false) return answer(res, 401, 'invalid authorization')
    authorized.then((ok) => { if (ok) this.readBody(req, res); else answer(res, 401, 'invalid authorization') }, () => answer(res, 401, 'invalid authorization'))
  }

  private readBody (req: Request, res: Response): void {
    const declared = Number(header(req, 'content-length') ?? NaN)
    if (declared > this.deps.maxBodyBytes) return answer(res, 413, 'body larger than ' + this.deps.maxBodyBytes + ' bytes')
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > this.deps.maxBodyBytes) {
        answer(res, 413, 'body larger than ' + this.deps.maxBodyBytes + ' bytes')
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > this.deps.maxBodyBytes) return
      this.forward(Buffer.concat(chunks, size), res)
    })
    req.on('error', () => {})
  }

  private forward (body: Buffer, res: Response): void {
    try {
      parsePrepare(body)
    } catch (err) {
      return answer(res, 400, 'not an ILP Prepare: ' + (err as Error).message)
    }
    const handler = this.deps.handler()
    if (handler === undefined) return answer(res, 503, 'not ready')
    handler(body).then((reply) => {
      if (res.writableEnded) return
      res.writeHead(200, { 'content-type': OCTET_STREAM, 'content-length': reply.length })
      res.end(reply)
    }, () => answer(res, 500, 'the connector failed to answer'))
  }
}

function header (req: Request, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function answer (res: Response, status: number, message: string): void {
  if (res.headersSent || res.writableEnded) return
  const body = Buffer.from(message)
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length })
  res.end(body)
}
