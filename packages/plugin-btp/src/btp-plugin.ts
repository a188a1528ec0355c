/**
 * BtpPlugin: one account over BTP (RFC 23), as client (`server: 'btp+ws://:secret@host:port'`) or server
 * (`listener: { port, secret }`), a drop-in for ilp-plugin-btp 1.5 with the same options and bytes on the wire.
 *
 * Why not ilp-plugin-btp: per packet it awaits crypto.randomBytes for a request id, encodes with btp-packet
 * (twice, through oer-utils), arms a timer and an EventEmitter listener, and awaits a write callback; and in
 * server mode any socket that connects, fails authentication or drops marks the account disconnected or
 * drops its live session. Here: ids from a counter, one Buffer per frame written with one ws.send, one Map of
 * pending requests swept by one interval, and a live session only an authenticated socket can replace.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { MoneyNotSentError, type Plugin, type PluginServices } from '@conn/types'
import { WebSocket, type RawData, type ServerOptions, type WebSocketServer } from 'ws'
import {
  decode, encode, encodeEmpty, encodeError, encodeIlp, ilpOf, MIME_APPLICATION_JSON, MIME_APPLICATION_OCTET_STREAM,
  MIME_TEXT_PLAIN_UTF8, TYPE_MESSAGE, TYPE_RESPONSE, TYPE_TRANSFER, type BtpFrame, type ProtocolData
} from './codec.ts'
import {
  BtpEndpoint, btpPluginErrorFields, DEFAULT_AUTH_TIMEOUT, DEFAULT_MAX_PAYLOAD, DEFAULT_PING_INTERVAL,
  DEFAULT_RESPONSE_TIMEOUT, Link, LINK_AUTHENTICATED, LINK_AUTHENTICATING, LINK_CLOSING, LINK_NEW, closeLink,
  closeServer, DEFAULT_MAX_UNAUTHENTICATED, makeLog, msOr, notAcceptedFields
} from './endpoint.ts'
import { listenWebSocket } from './listen.ts'
import { KIND_ILP, KIND_VOID } from './pending.ts'
import { checkBtpOptions } from './options.ts'

/** ilp-plugin-btp's reconnect back-off (ws-reconnect.js). */
const DEFAULT_RECONNECT_INTERVALS = [0, 100, 500, 1000, 2000, 5000]
const DEFAULT_RECONNECT_CLEAR_TRY_TIMEOUT = 10_000

export interface BtpListenerOptions {
  /** Port to listen on (all interfaces unless `wsOpts.host` says otherwise). */
  port?: number
  /** The token clients must send as `auth_token`. */
  secret: string
  /** Options for ws's WebSocketServer (`host`, `port`, `server`, `maxPayload`, ...). */
  wsOpts?: ServerOptions
}

export interface BtpPluginOptions {
  /** Client mode: `btp+ws://[username]:token@host:port[/path]` or `btp+wss://...`. */
  server?: string
  /** Server mode. */
  listener?: BtpListenerOptions
  /** Client mode: `auth_username` when the URL has none. */
  btpAccount?: string
  /** Client mode: `auth_token` when the URL has none. */
  btpToken?: string
  /** Client mode: more sub-protocols for the auth message (Buffer: octet-stream, string: text, else JSON). */
  btpAuthFlags?: Record<string, unknown>
  /** Client mode: one reconnect delay (ms), used when `reconnectIntervals` is not set. */
  reconnectInterval?: number
  /** Client mode: reconnect delays (ms) for the 1st, 2nd, ... attempt; the last one repeats. */
  reconnectIntervals?: number[]
  /** Client mode: the back-off starts over after this long (ms) without a drop. */
  reconnectClearTryTimeout?: number
  /** How long (ms) a request waits for its RESPONSE or ERROR. */
  responseTimeout?: number
  /** Server mode: how long (ms) a new socket has to authenticate. */
  authTimeout?: number
  /** Ping the peer this often (ms); one unanswered ping closes the connection. 0: off. */
  pingInterval?: number
  /** Largest BTP frame accepted (bytes); `listener.wsOpts.maxPayload` wins in server mode. */
  maxPayload?: number
  /** Sockets waiting to authenticate at once (default 100); more are closed at once (1013). */
  maxUnauthenticated?: number
  /** Move money with BTP TRANSFER frames (sendMoney sends one; incoming ones reach the money handler). */
  transfers?: boolean
  /** conn and ilp-connector pass the account's store and logger here too. */
  _store?: unknown
  _log?: unknown
}

function sha256 (data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

/** ilp-plugin-btp's protocolMap-to-protocolData conversion for the auth message. */
function authProtocolData (map: Record<string, unknown>): ProtocolData[] {
  const out: ProtocolData[] = []
  for (const [protocolName, value] of Object.entries(map)) {
    if (Buffer.isBuffer(value)) out.push({ protocolName, contentType: MIME_APPLICATION_OCTET_STREAM, data: value })
    else if (typeof value === 'string') out.push({ protocolName, contentType: MIME_TEXT_PLAIN_UTF8, data: Buffer.from(value) })
    else out.push({ protocolName, contentType: MIME_APPLICATION_JSON, data: Buffer.from(JSON.stringify(value)) })
  }
  return out
}

/** ilp-plugin-btp's checks of an auth message, with its messages; returns the auth_token. */
export function authToken (frame: BtpFrame): Buffer {
  if (frame.type !== TYPE_MESSAGE) throw new Error('First message sent over BTP connection must be auth packet')
  const pd = frame.protocolData
  if (pd.length < 2) throw new Error('Auth packet must have auth and auth_token subprotocols')
  if (pd[0]!.protocolName !== 'auth') throw new Error('First subprotocol must be auth')
  const token = pd.find((p) => p.protocolName === 'auth_token')
  if (token === undefined) throw new Error('auth_token subprotocol is required')
  return token.data
}

export class BtpPlugin extends BtpEndpoint implements Plugin {
  protected readonly sweepInterval: number
  protected readonly orderedDeadlines = true

  private readonly listener: BtpListenerOptions | undefined
  private readonly secretHash: Buffer | undefined
  private readonly authTimeout: number
  private readonly maxPayload: number
  private readonly transfers: boolean
  // client mode
  private readonly url: string | undefined
  private readonly authFrameData: ProtocolData[] = []
  private readonly reconnectIntervals: number[]
  private readonly reconnectClearTryTimeout: number
  private tries = 0
  private lastDropAt = 0
  private reconnectTimer: NodeJS.Timeout | undefined = undefined
  /** Client mode: the socket being dialled, authenticating or authenticated. */
  private clientLink: Link | undefined = undefined
  // server mode
  private wss: WebSocketServer | undefined = undefined
  /** The HTTP server under `wss`, and whether it is ours (see listenWebSocket). */
  private httpServer: { server: unknown, own: boolean } | undefined
  /** Server mode: every socket, authenticated or not. */
  private readonly links = new Set<Link>()
  /** Sockets not authenticated yet, capped at maxUnauthenticated so a connect flood cannot pile them up. */
  private readonly unauthenticated = new Set<Link>()
  private readonly maxUnauthenticated: number

  /** The authenticated session; only it carries packets, and only its coming and going are events. */
  private live: Link | undefined = undefined
  private started = false
  private connecting: Promise<void> | undefined = undefined
  private settleConnect: { resolve: () => void, reject: (err: Error) => void } | undefined = undefined

  /** Throws PluginOptionsError naming every option it refuses (see options.ts), before anything starts. */
  constructor (options: BtpPluginOptions, services?: Partial<PluginServices>) {
    const unknown = checkBtpOptions(options as Record<string, unknown>)
    const responseTimeout = msOr(options.responseTimeout, 0) || DEFAULT_RESPONSE_TIMEOUT
    super(makeLog(services?.log ?? options._log), {
      responseTimeout,
      pingInterval: msOr(options.pingInterval, DEFAULT_PING_INTERVAL)
    })
    if (unknown.length > 0) this.log.warn({ options: unknown }, 'unknown plugin options ignored: ' + unknown.join(', '))
    this.sweepInterval = Math.max(5, Math.min(1000, Math.floor(responseTimeout / 10)))
    this.authTimeout = msOr(options.authTimeout, DEFAULT_AUTH_TIMEOUT)
    this.maxPayload = msOr(options.maxPayload, DEFAULT_MAX_PAYLOAD)
    this.maxUnauthenticated = msOr(options.maxUnauthenticated, DEFAULT_MAX_UNAUTHENTICATED)
    this.transfers = options.transfers === true
    this.reconnectIntervals = options.reconnectIntervals ??
      (options.reconnectInterval !== undefined ? [options.reconnectInterval] : DEFAULT_RECONNECT_INTERVALS)
    this.reconnectClearTryTimeout = msOr(options.reconnectClearTryTimeout, 0) || DEFAULT_RECONNECT_CLEAR_TRY_TIMEOUT

    if (options.listener !== undefined) {
      this.listener = options.listener
      this.secretHash = sha256(options.listener.secret)
    } else {
      const parsed = new URL(options.server!.substring(4))
      // Like ilp-plugin-btp: URL credentials as written (percent-encoding kept), or the options, not both.
      const account = parsed.username !== '' ? parsed.username : options.btpAccount ?? ''
      const token = parsed.password !== '' ? parsed.password : options.btpToken ?? ''
      this.authFrameData = authProtocolData({
        auth: Buffer.alloc(0),
        auth_username: account,
        auth_token: token,
        ...options.btpAuthFlags
      })
      parsed.username = ''
      parsed.password = ''
      this.url = parsed.toString()
    }
  }

  isConnected (): boolean {
    return this.live !== undefined
  }

  /**
   * Client mode: dials (retrying with the reconnect intervals) and resolves once authenticated. Server mode:
   * listens and resolves once a client has authenticated, as ilp-plugin-btp does (a connector's start-up waits
   * for that up to its initialConnectTimeout). Rejects if listening fails or disconnect() is called first.
   */
  async connect (_options?: { timeout?: number }): Promise<void> {
    if (this.live !== undefined) return
    if (this.connecting !== undefined) return await this.connecting
    const connecting = this.connecting = new Promise<void>((resolve, reject) => { this.settleConnect = { resolve, reject } })
    // already listening or dialling, between two sessions: wait for the next one
    if (this.started) return await connecting
    this.started = true
    this.startTimers()
    try {
      if (this.listener !== undefined) await this.listen(this.listener)
      else this.dial()
    } catch (err) {
      const settle = this.settleConnect
      this.settleConnect = undefined
      await this.disconnect()
      settle?.reject(err as Error)
    }
    return await connecting
  }

  /** Closes everything; emits 'disconnect' if a session was up. Pending requests fail. */
  async disconnect (): Promise<void> {
    this.started = false
    this.stopTimers()
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    const wasLive = this.live !== undefined
    this.live = undefined
    this.pending.failAll(undefined, (r) => new Error(`BTP plugin disconnected before request ${r.id} was answered`))
    if (this.settleConnect !== undefined) {
      this.settleConnect.reject(new Error('connection aborted'))
      this.settleConnect = undefined
      this.connecting = undefined
    }
    const client = this.clientLink
    this.clientLink = undefined
    if (client !== undefined) closeLink(client, 1000, 'disconnect')
    const wss = this.wss
    this.wss = undefined
    if (wss !== undefined) {
      for (const link of this.links) closeLink(link, 1001, 'server shutting down')
      await closeServer(wss, this.links, this.httpServer?.server, this.httpServer?.own)
      this.links.clear()
    }
    if (wasLive) this.emit('disconnect')
  }

  /** Sends an ILP packet; resolves with the `ilp` data of the RESPONSE (empty if none), rejects on ERROR. */
  sendData (data: Buffer): Promise<Buffer> {
    const link = this.live
    if (link === undefined) return Promise.reject(new Error('BTP connection is not open'))
    if (!Buffer.isBuffer(data)) return Promise.reject(new TypeError('sendData: expected a Buffer'))
    const id = this.pending.nextId()
    return this.request(link, id, KIND_ILP, encodeIlp(TYPE_MESSAGE, id, data))
  }

  /**
   * Without `transfers` (the default), does nothing, like ilp-plugin-btp 1.5. With it, sends a BTP TRANSFER of
   * `amount` and resolves once the peer answers with a RESPONSE. What a failure says about the money (see
   * `@conn/types` settlement.ts): no session, or a socket no longer open, throws MoneyNotSentError before anything
   * is written; the peer's ERROR answer is a BtpError, `settlement: 'not-sent'` (it refused the money); a time-out
   * or a connection lost before the answer is a plain Error: the TRANSFER may have reached the peer.
   */
  async sendMoney (amount: string): Promise<void> {
    if (!this.transfers) return
    if (typeof amount !== 'string' || !/^[0-9]{1,20}$/.test(amount) || BigInt(amount) > 0xffffffffffffffffn) {
      throw new TypeError(`sendMoney: expected a uint64 amount as a decimal string, got ${String(amount)}`)
    }
    if (BigInt(amount) === 0n) return
    const link = this.live
    if (link === undefined || link.ws.readyState !== WebSocket.OPEN) {
      throw new MoneyNotSentError(`BTP connection is not open; the TRANSFER of ${amount} was not sent`)
    }
    const id = this.pending.nextId()
    await this.request(link, id, KIND_VOID, encode({ type: TYPE_TRANSFER, requestId: id, protocolData: [], amount }))
  }

  protected * liveLinks (): Iterable<Link> {
    if (this.live !== undefined) yield this.live
  }

  // ---- incoming requests ----------------------------------------------------------------------------

  protected async onMessage (link: Link, frame: BtpFrame): Promise<void> {
    let reply: Buffer
    try {
      const handler = this.dataHandler
      if (handler === undefined) throw new Error('no request handler registered')
      const ilp = ilpOf(frame)
      const response = ilp === undefined ? undefined : await handler(ilp)
      if (response === undefined || response === null) {
        reply = encodeEmpty(TYPE_RESPONSE, frame.requestId)
      } else if (Buffer.isBuffer(response)) {
        reply = encodeIlp(TYPE_RESPONSE, frame.requestId, response)
      } else {
        throw new TypeError('data handler must resolve with a Buffer')
      }
    } catch (err) {
      reply = encodeError(frame.requestId, btpPluginErrorFields(err))
    }
    link.send(reply)
  }

  protected async onTransfer (link: Link, frame: BtpFrame): Promise<void> {
    let reply: Buffer
    try {
      if (!this.transfers) throw new Error('No sendMoney functionality is included in this module')
      const handler = this.moneyHandler
      if (handler === undefined) throw new Error('no money handler registered')
      await handler(frame.amount)
      reply = encodeEmpty(TYPE_RESPONSE, frame.requestId)
    } catch (err) {
      reply = encodeError(frame.requestId, btpPluginErrorFields(err))
    }
    link.send(reply)
  }

  // ---- becoming connected and disconnected ----------------------------------------------------------

  /** `link` authenticated: it becomes the session; 'connect' if there was none. */
  private goLive (link: Link): void {
    link.state = LINK_AUTHENTICATED
    this.unauthenticated.delete(link)
    const previous = this.live
    this.live = link
    if (previous !== undefined) {
      // A reconnect: the old socket is done. Its requests fail now rather than at their time-out.
      previous.state = LINK_CLOSING
      this.pending.failAll(previous, (r) => new Error(`BTP connection replaced by a new one before request ${r.id} was answered`))
      closeLink(previous, 1000, 'replaced by a new connection')
      this.log.info({ remote: link.remote }, 'BTP session replaced by a newly authenticated connection')
      return
    }
    this.log.info({ remote: link.remote }, 'BTP session authenticated')
    this.emit('connect')
    const settle = this.settleConnect
    this.settleConnect = undefined
    this.connecting = undefined
    settle?.resolve()
  }

  /** `link` closed: if it was the session, its requests fail and 'disconnect' is emitted. */
  private lost (link: Link): void {
    link.state = LINK_CLOSING
    clearTimeout(link.authTimer)
    if (link !== this.live) return
    this.live = undefined
    this.pending.failAll(link, (r) => new Error(`BTP connection closed before request ${r.id} was answered`))
    this.log.info({ remote: link.remote }, 'BTP session closed')
    this.emit('disconnect')
  }

  // ---- server mode ----------------------------------------------------------------------------------

  private async listen (listener: BtpListenerOptions): Promise<void> {
    const wsOpts = listener.wsOpts ?? {}
    const { wss, listening, httpServer, ownServer } = listenWebSocket({
      port: listener.port,
      wsOpts,
      maxPayload: this.maxPayload,
      handshakeTimeout: this.authTimeout,
      onConnection: (ws, req) => { this.accept(ws, req) },
      onError: (err) => { this.log.error({ err }, 'BTP server error') }
    })
    this.wss = wss
    this.httpServer = { server: httpServer, own: ownServer }
    await listening
    this.log.info({ port: listener.port, host: wsOpts.host ?? '(all interfaces)' }, 'listening for BTP connections')
  }

  /** A new socket: it gets `authTimeout` ms to authenticate, and nothing it does touches the session before. */
  private accept (ws: WebSocket, req: IncomingMessage): void {
    if (!this.started) {
      ws.terminate()
      return
    }
    const link = new Link(ws, `${req.socket.remoteAddress ?? ''}:${String(req.socket.remotePort ?? '')}`)
    if (this.unauthenticated.size >= this.maxUnauthenticated) {
      if (this.log.debugEnabled) this.log.debug({ remote: link.remote, waiting: this.unauthenticated.size }, 'too many sockets waiting to authenticate; closing this one')
      ws.close(1013, 'too many unauthenticated connections')
      return
    }
    this.unauthenticated.add(link)
    this.links.add(link)
    this.watch(link)
    ws.on('message', (data: RawData) => {
      if (link.state === LINK_AUTHENTICATED) this.receive(link, data as Buffer)
      else if (link.state === LINK_NEW) this.authenticate(link, data as Buffer)
    })
    ws.on('close', () => {
      this.links.delete(link)
      this.unauthenticated.delete(link)
      this.lost(link)
    })
    if (this.authTimeout > 0) {
      link.authTimer = setTimeout(() => {
        if (link.state !== LINK_NEW) return
        if (this.log.debugEnabled) this.log.debug({ remote: link.remote }, 'BTP socket did not authenticate in time; closing it')
        link.state = LINK_CLOSING
        ws.terminate()
      }, this.authTimeout)
      link.authTimer.unref()
    }
  }

  /** The first message of a server-side socket: the auth message, checked as ilp-plugin-btp checks it. */
  private authenticate (link: Link, data: Buffer): void {
    clearTimeout(link.authTimer)
    link.state = LINK_CLOSING
    let frame: BtpFrame
    try {
      frame = decode(data)
    } catch (err) {
      if (this.log.debugEnabled) this.log.debug({ remote: link.remote, reason: (err as Error).message }, 'BTP socket sent a malformed auth packet')
      link.ws.close(1002, 'malformed BTP packet')
      return
    }
    try {
      const token = authToken(frame)
      if (!timingSafeEqual(sha256(token), this.secretHash!)) throw new Error('invalid auth_token')
    } catch (err) {
      if (this.log.debugEnabled) this.log.debug({ remote: link.remote, reason: (err as Error).message }, 'BTP authentication failed')
      link.send(encodeError(frame.requestId, notAcceptedFields(err)))
      link.ws.close()
      return
    }
    link.send(encodeEmpty(TYPE_RESPONSE, frame.requestId))
    this.goLive(link)
  }

  // ---- client mode ----------------------------------------------------------------------------------

  private dial (): void {
    const ws = new WebSocket(this.url!, { perMessageDeflate: false, maxPayload: this.maxPayload })
    const link = new Link(ws, this.url!)
    this.clientLink = link
    this.watch(link)
    ws.on('open', () => { this.sendAuth(link) })
    ws.on('message', (data: RawData) => {
      if (link.state === LINK_AUTHENTICATED || link.state === LINK_AUTHENTICATING) this.receive(link, data as Buffer)
    })
    ws.on('close', () => { this.clientClosed(link) })
  }

  private sendAuth (link: Link): void {
    if (link !== this.clientLink) return
    link.state = LINK_AUTHENTICATING
    const id = this.pending.nextId()
    const frame = encode({ type: TYPE_MESSAGE, requestId: id, protocolData: this.authFrameData })
    this.request(link, id, KIND_VOID, frame).then(() => {
      if (link === this.clientLink && link.state === LINK_AUTHENTICATING) this.goLive(link)
    }, (err: Error) => {
      if (link !== this.clientLink) return
      this.log.warn({ server: this.url, reason: err.message }, 'BTP authentication failed; will retry')
      closeLink(link, 1000, 'authentication failed')
    })
  }

  private clientClosed (link: Link): void {
    if (link !== this.clientLink) return
    this.clientLink = undefined
    this.pending.failAll(link, (r) => new Error(`BTP connection closed before request ${r.id} was answered`))
    this.lost(link)
    if (!this.started) return
    const now = Date.now()
    if (now - this.lastDropAt > this.reconnectClearTryTimeout) this.tries = 0
    this.lastDropAt = now
    const delay = this.reconnectIntervals[Math.min(this.tries, this.reconnectIntervals.length - 1)]!
    this.tries++
    if (this.log.debugEnabled) this.log.debug({ server: this.url, delay }, 'BTP connection down; reconnecting')
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.started && this.clientLink === undefined) this.dial()
    }, delay)
  }
}

export default BtpPlugin
