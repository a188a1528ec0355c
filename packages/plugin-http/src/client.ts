/**
 * The outgoing side: POSTs a Prepare to the peer and resolves its reply, over HTTP/1.1 with keep-alive or over one
 * HTTP/2 session (opened again when it closes). A request is abandoned at the packet's expiry: waiting longer
 * cannot help the sender. A reply that is not 200 is an error carrying the status.
 */
import { Agent as Http1Agent, request as http1Request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { connect as http2Connect, constants, type ClientHttp2Session } from 'node:http2'
import { readPrepareHead } from '@conn/codec'
import type { OutgoingAuth } from './auth.ts'

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_AUTHORIZATION } = constants
const OCTET_STREAM = 'application/octet-stream'
/** Largest reply taken (a Fulfill or Reject carries at most 32,767 bytes of data). */
const MAX_REPLY_BYTES = 65_536

export class HttpStatusError extends Error {
  constructor (readonly status: number, body: string) {
    super(`the peer answered HTTP ${status}${body === '' ? '' : ': ' + body.slice(0, 200)}`)
  }
}

export interface ClientOptions {
  url: URL
  http2: boolean
  name: string | undefined
  maxSockets: number
}

export class IlpHttpClient {
  private readonly agent: Http1Agent | undefined
  private session: ClientHttp2Session | undefined

  constructor (private readonly options: ClientOptions, private readonly auth: OutgoingAuth) {
    if (!options.http2) {
      const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, noDelay: true }
      this.agent = options.url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new Http1Agent(agentOptions)
    }
  }

  async send (prepare: Buffer): Promise<Buffer> {
    const authorization = await this.auth.value()
    // the packet's own expiry bounds the wait; a Prepare without a readable head waits a minute at most
    let timeout = 60_000
    try {
      timeout = Math.max(1, readPrepareHead(prepare).expiresAt - Date.now())
    } catch {}
    return this.options.http2 ? await this.sendHttp2(prepare, authorization, timeout) : await this.sendHttp1(prepare, authorization, timeout)
  }

  close (): void {
    this.agent?.destroy()
    this.session?.close()
    this.session = undefined
  }

  private async sendHttp1 (prepare: Buffer, authorization: string, timeout: number): Promise<Buffer> {
    const { url } = this.options
    const send = url.protocol === 'https:' ? httpsRequest : http1Request
    return await new Promise<Buffer>((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        agent: this.agent,
        headers: this.headers(authorization, prepare.length),
        timeout
      }, (res) => {
        collect(res, (err, body) => {
          if (err !== undefined) return reject(err)
          if (res.statusCode !== 200) return reject(new HttpStatusError(res.statusCode ?? 0, body!.toString('utf8')))
          resolve(body!)
        })
      })
      // idle time on the socket while this request waits: no AbortSignal (and its timer) per request
      req.once('timeout', () => { req.destroy(new Error(`no answer from the peer before the packet expired (${timeout} ms)`)) })
      req.on('error', reject)
      req.end(prepare)
    })
  }

  private async sendHttp2 (prepare: Buffer, authorization: string, timeout: number): Promise<Buffer> {
    const session = this.http2Session()
    const { url, name } = this.options
    return await new Promise<Buffer>((resolve, reject) => {
      const stream = session.request({
        [HTTP2_HEADER_METHOD]: 'POST',
        [HTTP2_HEADER_PATH]: url.pathname + url.search,
        [HTTP2_HEADER_CONTENT_TYPE]: OCTET_STREAM,
        [HTTP2_HEADER_AUTHORIZATION]: authorization,
        ...(name === undefined ? {} : { 'ilp-peer-name': name })
      }, { signal: AbortSignal.timeout(timeout) })
      let status = 0
      stream.on('response', (headers) => { status = Number(headers[HTTP2_HEADER_STATUS]) })
      collect(stream, (err, body) => {
        if (err !== undefined) return reject(err)
        if (status !== 200) return reject(new HttpStatusError(status, body!.toString('utf8')))
        resolve(body!)
      })
      stream.on('error', reject)
      stream.end(prepare)
    })
  }

  private http2Session (): ClientHttp2Session {
    const current = this.session
    if (current !== undefined && !current.closed && !current.destroyed) return current
    const session = http2Connect(this.options.url.origin)
    session.on('error', () => {}) // each request sees its own failure
    session.once('close', () => { if (this.session === session) this.session = undefined })
    session.once('goaway', () => { if (this.session === session) this.session = undefined })
    session.unref()
    this.session = session
    return session
  }

  private headers (authorization: string, length: number): Record<string, string | number> {
    const headers: Record<string, string | number> = { 'content-type': OCTET_STREAM, 'content-length': length, authorization }
    if (this.options.name !== undefined) headers['ilp-peer-name'] = this.options.name
    return headers
  }
}

/** Reads a response body up to MAX_REPLY_BYTES. */
function collect (stream: NodeJS.ReadableStream, done: (err: Error | undefined, body?: Buffer) => void): void {
  const chunks: Buffer[] = []
  let size = 0
  let finished = false
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > MAX_REPLY_BYTES && !finished) {
      finished = true
      done(new Error(`the peer's reply is larger than ${MAX_REPLY_BYTES} bytes`))
      return
    }
    chunks.push(chunk)
  })
  stream.on('end', () => { if (!finished) { finished = true; done(undefined, Buffer.concat(chunks, size)) } })
  stream.on('error', (err: Error) => { if (!finished) { finished = true; done(err) } })
}
