/**
 * MiniAccountsPlugin: one connector account, many BTP clients, a drop-in for ilp-plugin-mini-accounts 4.2.
 *
 * On connect it asks the connector for its address over IL-DCP (through the data handler) and listens. Each
 * client authenticates with `auth_username` + `auth_token` (the first token seen for a username is kept, hashed,
 * in the plugin store) and gets the address `<connector's address for this account>.<username>`; it asks for
 * it with IL-DCP, which the plugin answers itself. Packets from clients go to the connector; packets from the
 * connector go to the client their destination names.
 *
 * Beyond mini-accounts: a socket joins its account only once its token checked out (mini-accounts adds it
 * first, so a wrong token briefly receives the account's packets and may answer them), a reply is taken only
 * from a socket of the account the request went to, usernames must be address segments, sockets that do not
 * authenticate within `authTimeout` are closed, and request ids come from a counter.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import {
  ILDCP_DESTINATION, envelopeContentsOffset, fulfillmentOf, isIldcpRequest, isWellFormedReply, readIldcpReply,
  readPrepareHead, serializeIldcpRequest, serializeIldcpResponse, serializeReject, serveIldcp, type IldcpInfo,
  type PrepareHead
} from '@conn/codec'
import { PacketType, type Plugin, type PluginServices, type Store } from '@conn/types'
import type { RawData, ServerOptions, WebSocket, WebSocketServer } from 'ws'
import { decode, encodeEmpty, encodeError, encodeIlp, ilpOf, TYPE_MESSAGE, TYPE_RESPONSE, type BtpFrame } from './codec.ts'
import { authToken } from './btp-plugin.ts'
import {
  BtpEndpoint, closeLink, closeServer, DEFAULT_AUTH_TIMEOUT, DEFAULT_MAX_PAYLOAD, DEFAULT_PING_INTERVAL,
  DEFAULT_MAX_UNAUTHENTICATED, DEFAULT_RESPONSE_TIMEOUT, Link, LINK_AUTHENTICATED, LINK_AUTHENTICATING, LINK_CLOSING, LINK_NEW, makeLog,
  msOr, notAcceptedFields
} from './endpoint.ts'
import { listenWebSocket } from './listen.ts'
import { PendingRequest } from './pending.ts'
import { checkMiniAccountsOptions } from './options.ts'

const KIND_PREPARE = 2

function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

function reject (code: string, triggeredBy: string, message: string): Buffer {
  return serializeReject({ code, triggeredBy, message, data: Buffer.alloc(0) })
}
/** Usernames become an address segment (RFC 15). */
const SEGMENT = /^[a-zA-Z0-9_~-]+$/

export interface MiniAccountsOptions {
  /** Port to listen on (default 3000); or `wsOpts.port`, not both. */
  port?: number
  /** Options for ws's WebSocketServer (`host`, `port`, `server`, `maxPayload`, ...). */
  wsOpts?: ServerOptions
  /** Accepted for compatibility; mini-accounts itself does not use it either (subclasses did). */
  currencyScale?: number
  /** Use this instead of asking the connector over IL-DCP (mini-accounts' debug option). */
  debugHostIldcpInfo?: IldcpInfo
  /** Regular expressions; a browser socket (one with an Origin header) must match one, else it is closed. */
  allowedOrigins?: string[]
  /** true: the account is always the hash of the token; false: `auth_username` is required (needs a store). */
  generateAccount?: boolean
  /** The store (conn passes it here and as `services.store`). */
  _store?: Store
  _log?: unknown
  /** How long (ms) a request to a client may wait when its Prepare expires later. */
  responseTimeout?: number
  /** How long (ms) a new socket has to authenticate. */
  authTimeout?: number
  /** Ping clients this often (ms); one unanswered ping closes the connection. 0: off. */
  pingInterval?: number
  /** Largest BTP frame accepted (bytes) unless `wsOpts.maxPayload` says otherwise. */
  maxPayload?: number
  /** Sockets waiting to authenticate at once (default 100); more are closed at once (1013). */
  maxUnauthenticated?: number
}

const enum AccountMode {
  /** The account is `auth_username`; a store is required. */
  Username,
  /** The account is base64url(sha256(token)); `auth_username` may only repeat that. */
  HashToken,
  /** `auth_username` if given, else the hash of the token. */
  UsernameOrHashToken
}

/** base64url(sha256(token)) without padding, as btp-packet's base64url writes it. */
function hashToken (token: string): string {
  return sha256(Buffer.from(token, 'utf8')).toString('base64url')
}

const tokenKey = (account: string): string => account + ':hashed-token'
const deprecatedTokenKey = (account: string): string => account + ':token'

export class MiniAccountsPlugin extends BtpEndpoint implements Plugin {
  protected readonly sweepInterval = 100
  protected readonly orderedDeadlines = false

  private readonly port: number
  private readonly wsOpts: ServerOptions
  private readonly debugHostIldcpInfo: IldcpInfo | undefined
  private readonly allowedOrigins: RegExp[]
  private readonly accountMode: AccountMode
  private readonly store: Store | undefined
  private readonly authTimeout: number
  private readonly maxPayload: number

  private wss: WebSocketServer | undefined = undefined
  /** The HTTP server under `wss`, and whether it is ours (see listenWebSocket). */
  private httpServer: { server: unknown, own: boolean } | undefined
  private connecting: Promise<void> | undefined = undefined
  private hostInfo: IldcpInfo = { clientAddress: '', assetScale: 9, assetCode: '' }
  /** The connector's address for this account plus '.'. */
  private prefix = ''
  /** Every socket, authenticated or not. */
  private readonly links = new Set<Link>()
  /** Sockets not authenticated yet, capped at maxUnauthenticated so a connect flood cannot pile them up. */
  private readonly unauthenticated = new Set<Link>()
  private readonly maxUnauthenticated: number
  /** Authenticated sockets by account. */
  private readonly connections = new Map<string, Set<Link>>()
  /** Hashed tokens by account: a cache of the store, and what makes check-and-save atomic. */
  private readonly tokens = new Map<string, string>()

  /** Throws PluginOptionsError naming every option it refuses (see options.ts), before anything starts. */
  constructor (options: MiniAccountsOptions, services: Partial<PluginServices> = {}) {
    const store = services.store ?? options._store
    const unknown = checkMiniAccountsOptions(options as Record<string, unknown>, store !== undefined)
    const responseTimeout = msOr(options.responseTimeout, 0) || DEFAULT_RESPONSE_TIMEOUT
    super(makeLog(services.log ?? options._log), {
      responseTimeout,
      pingInterval: msOr(options.pingInterval, DEFAULT_PING_INTERVAL)
    })
    if (unknown.length > 0) this.log.warn({ options: unknown }, 'unknown plugin options ignored: ' + unknown.join(', '))
    this.port = options.wsOpts?.port ?? options.port ?? 3000
    this.wsOpts = options.wsOpts ?? { port: this.port }
    this.debugHostIldcpInfo = options.debugHostIldcpInfo
    this.allowedOrigins = (options.allowedOrigins ?? []).map((o) => new RegExp(o))
    this.store = store
    this.accountMode = this.store !== undefined ? AccountMode.UsernameOrHashToken : AccountMode.HashToken
    if (options.generateAccount === true) this.accountMode = AccountMode.HashToken
    if (options.generateAccount === false) this.accountMode = AccountMode.Username
    this.authTimeout = msOr(options.authTimeout, DEFAULT_AUTH_TIMEOUT)
    this.maxPayload = msOr(options.maxPayload, DEFAULT_MAX_PAYLOAD)
    this.maxUnauthenticated = msOr(options.maxUnauthenticated, DEFAULT_MAX_UNAUTHENTICATED)
  }

  /** Listening: clients may connect. (mini-accounts says the same.) */
  isConnected (): boolean {
    return this.wss !== undefined && this.connecting === undefined
  }

  /** The address prefix the clients live under (the connector's address for this account plus '.'). */
  getPrefix (): string { return this.prefix }

  /** The accounts with at least one authenticated client. */
  getAccounts (): string[] { return [...this.connections.keys()] }

  /** Whether the account has an authenticated client (for a conn cluster: deliver here or at another member). */
  hasAccount (account: string): boolean { return this.connections.has(account) }

  /**
   * Asks the connector for this account's address over IL-DCP (so a data handler must be registered, as with
   * mini-accounts), then listens. Resolves once listening and emits 'connect'.
   */
  async connect (_options?: { timeout?: number }): Promise<void> {
    if (this.connecting !== undefined) return await this.connecting
    if (this.wss !== undefined) return
    const connecting = this.connecting = this.start()
    try {
      await connecting
    } catch (err) {
      this.connecting = undefined
      await this.disconnect()
      throw err
    }
    this.connecting = undefined
    this.emit('connect')
  }

  private async start (): Promise<void> {
    if (this.debugHostIldcpInfo !== undefined) {
      this.hostInfo = this.debugHostIldcpInfo
    } else if (this.dataHandler !== undefined) {
      this.hostInfo = readIldcpReply(await this.dataHandler(serializeIldcpRequest()))
    } else {
      throw new Error('no request handler registered')
    }
    this.prefix = this.hostInfo.clientAddress + '.'
    const { wss, listening, httpServer, ownServer } = listenWebSocket({
      port: this.port,
      wsOpts: this.wsOpts,
      maxPayload: this.maxPayload,
      handshakeTimeout: this.authTimeout,
      onConnection: (ws, req) => { this.accept(ws, req) },
      onError: (err) => { this.log.error({ err }, 'mini-accounts server error') }
    })
    this.wss = wss
    this.httpServer = { server: httpServer, own: ownServer }
    await listening
    this.startTimers()
    this.log.info({ port: this.port, host: this.wsOpts.host ?? '(all interfaces)', prefix: this.prefix }, 'listening for BTP clients')
  }

  async disconnect (): Promise<void> {
    const wss = this.wss
    this.wss = undefined
    this.stopTimers()
    this.pending.failAll(undefined, (r) => new Error(`plugin disconnected before request ${r.id} was answered`))
    if (wss === undefined) return
    for (const link of this.links) closeLink(link, 1001, 'server shutting down')
    await closeServer(wss, this.links, this.httpServer?.server, this.httpServer?.own)
    this.links.clear()
    this.connections.clear()
    this.emit('disconnect')
  }

  /**
   * Sends a Prepare to the client its destination names and resolves with the reply, as mini-accounts does:
   * IL-DCP (`peer.config`) is answered with the connector's own info; an R00 Reject at expiry; a Fulfill that
   * arrives too late becomes R00, one with the wrong fulfillment F05. Throws (the connector makes it F02) if
   * the destination is not under our prefix or no client of that account is connected.
   */
  sendData (data: Buffer): Promise<Buffer> {
    let head: PrepareHead
    try {
      head = readPrepareHead(data)
    } catch {
      return Promise.reject(new Error('can\'t route packet that\'s not a PREPARE.'))
    }
    const { destination } = head
    if (destination === ILDCP_DESTINATION) return Promise.resolve(serializeIldcpResponse(this.hostInfo))
    if (!destination.startsWith(this.prefix) || this.prefix === '') {
      return Promise.reject(new Error(`can't route packet that is not meant for one of my clients. destination=${destination} prefix=${this.prefix}`))
    }
    const dot = destination.indexOf('.', this.prefix.length)
    const account = destination.slice(this.prefix.length, dot === -1 ? undefined : dot)
    const links = this.connections.get(account)
    if (links === undefined) return Promise.reject(new Error('No clients connected for account ' + account))
    const now = Date.now()
    if (now > head.expiresAt) return Promise.resolve(this.expiredReject())
    const id = this.pending.nextId()
    const frame = encodeIlp(TYPE_MESSAGE, id, data)
    return new Promise((resolve, reject) => {
      const request = new PendingRequest(id, account, KIND_PREPARE, Math.min(head.expiresAt, now + this.responseTimeout), resolve, reject)
      request.expiresAt = head.expiresAt
      request.condition = head.executionCondition
      this.track(request)
      for (const link of links) link.send(frame)
    })
  }

  /** Does nothing, like mini-accounts (which inherits ilp-plugin-btp's no-op). */
  async sendMoney (_amount: string): Promise<void> {}

  protected liveLinks (): Iterable<Link> {
    return [...this.links].filter((l) => l.state === LINK_AUTHENTICATED)
  }

  private expiredReject (): Buffer {
    return reject('R00', this.hostInfo.clientAddress, 'Packet expired')
  }

  protected override onExpired (request: PendingRequest): void {
    if (request.kind === KIND_PREPARE && Date.now() >= request.expiresAt) request.resolve(this.expiredReject())
    else super.onExpired(request)
  }

  /** A client's reply to a Prepare: checked for expiry and fulfillment, as mini-accounts does. */
  protected override replyOf (request: PendingRequest, ilp: Buffer | undefined): Buffer {
    if (ilp === undefined) throw new Error('BTP response carries no ilp protocol data')
    if (request.kind !== KIND_PREPARE || ilp[0] !== PacketType.Fulfill) return ilp
    if (Date.now() > request.expiresAt) return this.expiredReject()
    // a Fulfill cut short has no fulfillment
    const fulfillment = isWellFormedReply(ilp) && ilp.length - envelopeContentsOffset(ilp) >= 32 ? fulfillmentOf(ilp) : undefined
    if (fulfillment === undefined || !sha256(fulfillment).equals(request.condition!)) {
      return reject('F05', this.hostInfo.clientAddress, 'condition and fulfillment don\'t match. ' +
        `condition=${request.condition!.toString('hex')} fulfillment=${fulfillment?.toString('hex') ?? ''}`)
    }
    return ilp
  }

  // ---- incoming requests ----------------------------------------------------------------------------

  protected async onMessage (link: Link, frame: BtpFrame): Promise<void> {
    let reply: Buffer
    try {
      const ilp = ilpOf(frame)
      if (ilp !== undefined && isIldcpRequest(ilp)) {
        const info = { ...this.hostInfo, clientAddress: this.prefix + link.account }
        reply = encodeIlp(TYPE_RESPONSE, frame.requestId, serveIldcp(ilp, info, this.hostInfo.clientAddress))
      } else {
        if (ilp === undefined) throw new Error('invalid packet, no ilp protocol data.')
        const handler = this.dataHandler
        if (handler === undefined) throw new Error('no request handler registered')
        const response = await handler(ilp)
        if (response === undefined || response === null) reply = encodeEmpty(TYPE_RESPONSE, frame.requestId)
        else if (Buffer.isBuffer(response)) reply = encodeIlp(TYPE_RESPONSE, frame.requestId, response)
        else throw new TypeError('data handler must resolve with a Buffer')
      }
    } catch (err) {
      reply = encodeError(frame.requestId, notAcceptedFields(err))
    }
    link.send(reply)
  }

  protected async onTransfer (link: Link, frame: BtpFrame): Promise<void> {
    link.send(encodeError(frame.requestId, notAcceptedFields(new Error('No sendMoney functionality is included in this module'))))
  }

  // ---- sockets --------------------------------------------------------------------------------------

  private accept (ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress ?? ''}:${String(req.socket.remotePort ?? '')}`
    const origin = req.headers.origin
    if (typeof origin === 'string' && !this.allowedOrigins.some((re) => re.test(origin))) {
      if (this.log.debugEnabled) this.log.debug({ origin, remote }, 'closing a websocket from a browser origin that is not allowed')
      ws.close()
      return
    }
    if (this.unauthenticated.size >= this.maxUnauthenticated) {
      if (this.log.debugEnabled) this.log.debug({ remote, waiting: this.unauthenticated.size }, 'too many sockets waiting to authenticate; closing this one')
      ws.close(1013, 'too many unauthenticated connections')
      return
    }
    const link = new Link(ws, remote)
    this.unauthenticated.add(link)
    this.links.add(link)
    this.watch(link)
    ws.on('message', (data: RawData) => {
      if (link.state === LINK_AUTHENTICATED) this.receive(link, data as Buffer)
      else if (link.state === LINK_NEW) void this.authenticate(link, data as Buffer)
    })
    ws.on('close', () => { this.unauthenticated.delete(link); this.closed(link) })
    if (this.authTimeout > 0) {
      link.authTimer = setTimeout(() => {
        if (link.state !== LINK_NEW && link.state !== LINK_AUTHENTICATING) return
        if (this.log.debugEnabled) this.log.debug({ remote }, 'BTP socket did not authenticate in time; closing it')
        link.state = LINK_CLOSING
        ws.terminate()
      }, this.authTimeout)
      link.authTimer.unref()
    }
  }

  private closed (link: Link): void {
    clearTimeout(link.authTimer)
    this.links.delete(link)
    const wasAuthenticated = link.state === LINK_AUTHENTICATED
    link.state = LINK_CLOSING
    if (!wasAuthenticated) return
    const account = link.account
    const links = this.connections.get(account)
    if (links === undefined) return
    links.delete(link)
    if (links.size > 0) return
    this.connections.delete(account)
    this.pending.failAll(account, (r) => new Error(`BTP connection of account ${account} closed before request ${r.id} was answered`))
    this.emit('client-disconnect', account)
    if (this.log.debugEnabled) this.log.debug({ account, remote: link.remote }, 'mini-accounts client disconnected')
  }

  private async authenticate (link: Link, data: Buffer): Promise<void> {
    link.state = LINK_AUTHENTICATING
    let frame: BtpFrame
    try {
      frame = decode(data)
    } catch (err) {
      if (this.log.debugEnabled) this.log.debug({ remote: link.remote, reason: (err as Error).message }, 'BTP socket sent a malformed auth packet')
      closeLink(link, 1002, 'malformed BTP packet')
      return
    }
    let account: string
    try {
      account = await this.checkAuth(frame)
    } catch (err) {
      if (this.log.debugEnabled) this.log.debug({ remote: link.remote, reason: (err as Error).message }, 'BTP authentication failed')
      link.send(encodeError(frame.requestId, notAcceptedFields(err)))
      closeLink(link, 1000, 'authentication failed')
      return
    }
    if (link.state !== LINK_AUTHENTICATING) return // timed out or closed meanwhile
    clearTimeout(link.authTimer)
    link.state = LINK_AUTHENTICATED
    this.unauthenticated.delete(link)
    link.account = account
    link.owner = account
    let links = this.connections.get(account)
    const first = links === undefined
    if (links === undefined) this.connections.set(account, links = new Set())
    links.add(link)
    link.send(encodeEmpty(TYPE_RESPONSE, frame.requestId))
    if (first) this.emit('client-connect', account)
    if (this.log.debugEnabled) this.log.debug({ account, remote: link.remote }, 'mini-accounts client authenticated')
  }

  /** mini-accounts' checks, in its order and with its messages; resolves with the account. */
  private async checkAuth (frame: BtpFrame): Promise<string> {
    authToken(frame) // the structural checks
    let token = ''
    let account = ''
    for (const p of frame.protocolData) {
      if (p.protocolName === 'auth_token') token = p.data.toString()
      else if (p.protocolName === 'auth_username') account = p.data.toString()
    }
    if (token === '') throw new Error('auth_token subprotocol is required')
    if (this.accountMode === AccountMode.Username && account === '') throw new Error('auth_username subprotocol is required')
    const hashed = hashToken(token)
    if (this.accountMode === AccountMode.HashToken && account !== '' && account !== hashed) {
      throw new Error('auth_username subprotocol is not available')
    }
    if (account === '') account = hashed
    if (!SEGMENT.test(account)) throw new Error('auth_username must be an ILP address segment (letters, digits, _ ~ -)')
    if (this.accountMode !== AccountMode.HashToken && this.store !== undefined) await this.checkToken(account, hashed)
    return account
  }

  /** The first token seen for an account is kept (hashed); later ones must match it. */
  private async checkToken (account: string, hashed: string): Promise<void> {
    let stored = this.tokens.get(account)
    if (stored === undefined) {
      const loaded = await this.loadToken(account)
      // another socket of the same account may have saved its token while we were reading the store
      stored = this.tokens.get(account) ?? loaded
    }
    if (stored === undefined) {
      this.tokens.set(account, hashed)
      await this.store!.put(tokenKey(account), hashed)
      return
    }
    this.tokens.set(account, stored)
    const a = Buffer.from(stored)
    const b = Buffer.from(hashed)
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new Error('incorrect token for account. account=' + account)
  }

  /** The stored hash, migrating mini-accounts' old plain `<account>:token` entry as it does. */
  private async loadToken (account: string): Promise<string | undefined> {
    const store = this.store!
    const hashed = await store.get(tokenKey(account))
    if (typeof hashed === 'string' && hashed !== '') return hashed
    const plain = await store.get(deprecatedTokenKey(account))
    if (typeof plain !== 'string' || plain === '') return undefined
    const migrated = hashToken(plain)
    await store.put(tokenKey(account), migrated)
    await store.del(deprecatedTokenKey(account))
    return migrated
  }
}

export default MiniAccountsPlugin
