/**
 * What BtpPlugin and MiniAccountsPlugin share: the LPI2 handler registry, the table of requests waiting for a
 * reply (swept by one interval), a heartbeat, and the dispatch of frames arriving on an authenticated socket.
 */
import { EventEmitter } from 'node:events'
import type { PluginDataHandler, PluginMoneyHandler } from '@conn/types'
import { WebSocket, type WebSocketServer } from 'ws'
import type { Server as HttpServer } from 'node:http'
import {
  decode, encodeError, ilpOf, requestIdOfMalformed, TYPE_ERROR, TYPE_MESSAGE, TYPE_RESPONSE, TYPE_TRANSFER,
  type BtpErrorFields, type BtpFrame
} from './codec.ts'
import { KIND_VOID, PendingRequest, PendingRequests } from './pending.ts'

export const DEFAULT_RESPONSE_TIMEOUT = 35_000
export const DEFAULT_AUTH_TIMEOUT = 10_000
/** Sockets a listener keeps waiting for authentication at once; more are closed at once (1013). */
export const DEFAULT_MAX_UNAUTHENTICATED = 100
export const DEFAULT_PING_INTERVAL = 20_000
/** ILP packets are at most ~32 KiB; 1 MiB leaves room for any sub-protocol while refusing memory bombs. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024

const EMPTY = Buffer.alloc(0)
const OPEN = 1

// ---- logging --------------------------------------------------------------------------------------

/** The logger calls the plugins make: pino's (obj, msg) form, which ilp-logger-style loggers print too. */
export interface Log {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
  readonly debugEnabled: boolean
}

type LogFn = (obj: object, msg: string) => void
interface LoggerLike { [level: string]: unknown, isLevelEnabled?: (level: string) => boolean }

const noop: LogFn = () => {}

/** Adapts a pino logger (conn's `services.log`), an ilp-logger, or nothing (silent). */
export function makeLog (logger: unknown): Log {
  const l = (typeof logger === 'object' && logger !== null ? logger : {}) as LoggerLike
  const fn = (level: string): LogFn => typeof l[level] === 'function' ? (l[level] as LogFn).bind(l) : noop
  let debugEnabled = typeof l.debug === 'function'
  if (typeof l.isLevelEnabled === 'function') {
    try { debugEnabled = l.isLevelEnabled('debug') } catch {}
  }
  return { debug: fn('debug'), info: fn('info'), warn: fn('warn'), error: fn('error'), debugEnabled }
}

/** An option in milliseconds (or bytes), or the fallback when unset (options.ts has checked it). */
export function msOr (value: number | undefined, fallback: number): number {
  return value ?? fallback
}

// ---- sockets --------------------------------------------------------------------------------------

export const LINK_NEW = 0
export const LINK_AUTHENTICATING = 1
export const LINK_AUTHENTICATED = 2
export const LINK_CLOSING = 3

/** One WebSocket and what we know about it. */
export class Link {
  state = LINK_NEW
  /** Answered the last ping (or has not been pinged yet). */
  alive = true
  /** Who may answer requests sent on it: the link itself, or its account (MiniAccountsPlugin). */
  owner: unknown = this
  /** MiniAccountsPlugin: the account it authenticated as. */
  account = ''
  authTimer: NodeJS.Timeout | undefined = undefined

  constructor (readonly ws: WebSocket, readonly remote: string) {}

  /** The TCP socket is corked until the current tick's frames are all sent. */
  corked = false

  /**
   * Sends one frame with one ws.send; dropped if the socket is no longer open. The first frame of a tick corks
   * the TCP socket and a nextTick uncorks it, so every frame sent while handling one batch of input (with 100
   * packets in flight, often dozens) leaves in one writev instead of one syscall each.
   */
  send (frame: Buffer): void {
    const ws = this.ws
    if (ws.readyState !== OPEN) return
    if (!this.corked) {
      const socket = socketOf(ws)
      if (socket !== undefined) {
        socket.cork()
        this.corked = true
        process.nextTick(uncork, this)
      }
    }
    ws.send(frame)
  }
}

/** The net.Socket under a ws WebSocket (ws keeps it in `_socket`). */
function socketOf (ws: WebSocket): { cork: () => void, uncork: () => void } | undefined {
  return (ws as unknown as { _socket?: { cork: () => void, uncork: () => void } })._socket
}

function uncork (link: Link): void {
  link.corked = false
  socketOf(link.ws)?.uncork()
}

// ---- errors ---------------------------------------------------------------------------------------

/**
 * A BTP ERROR the other side answered our request with. The message is the JSON ilp-plugin-btp puts in its
 * rejection (`{"code","name","triggeredAt","data","protocolData"}`), so logs and F02 messages read the same.
 * The peer refused the request, so nothing of it took effect: for a TRANSFER, no money moved (`settlement:
 * 'not-sent'`, which conn's balance middleware reads as safe to send again).
 */
export class BtpError extends Error {
  override name = 'BtpError'
  readonly settlement = 'not-sent' as const
  readonly btpCode: string
  readonly btpName: string
  readonly btpData: string
  readonly triggeredAt: Date

  constructor (frame: BtpFrame) {
    const error = frame.error!
    super(JSON.stringify({ ...error, protocolData: frame.protocolData }))
    this.btpCode = error.code
    this.btpName = error.name
    this.btpData = error.data
    this.triggeredAt = error.triggeredAt
  }
}

/** ilp-plugin-btp's table from an Error's name to the BTP error code it sends. */
const NAMES_TO_CODES: Record<string, string> = {
  UnreachableError: 'T00',
  NotAcceptedError: 'F00',
  InvalidFieldsError: 'F01',
  TransferNotFoundError: 'F03',
  InvalidFulfillmentError: 'F04',
  DuplicateIdError: 'F05',
  AlreadyRolledBackError: 'F06',
  AlreadyFulfilledError: 'F07',
  InsufficientBalanceError: 'F08'
}

function messageOf (err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as Error).message === 'string'
    ? (err as Error).message
    : String(err)
}

/** What ilp-plugin-btp sends when handling a request throws: code by name, data `{"message": ...}` as JSON. */
export function btpPluginErrorFields (err: unknown): BtpErrorFields {
  const rawName = typeof err === 'object' && err !== null ? (err as Error).name : undefined
  const name = typeof rawName === 'string' && rawName !== '' ? rawName : 'NotAcceptedError'
  return {
    code: NAMES_TO_CODES[name] ?? 'F00',
    name,
    triggeredAt: new Date(),
    data: JSON.stringify({ message: messageOf(err) })
  }
}

/** What ilp-plugin-mini-accounts (and ilp-plugin-btp's auth) send: F00 NotAcceptedError with the bare message. */
export function notAcceptedFields (err: unknown): BtpErrorFields {
  return { code: 'F00', name: 'NotAcceptedError', triggeredAt: new Date(), data: messageOf(err) }
}

// ---- the endpoint ---------------------------------------------------------------------------------

export interface EndpointTimings {
  responseTimeout: number
  pingInterval: number
}

export abstract class BtpEndpoint extends EventEmitter {
  /** LPI version. */
  static readonly version = 2

  protected dataHandler: PluginDataHandler | undefined = undefined
  protected moneyHandler: PluginMoneyHandler | undefined = undefined
  protected readonly pending = new PendingRequests()
  protected readonly responseTimeout: number
  private readonly pingInterval: number
  private sweepTimer: NodeJS.Timeout | undefined = undefined
  private pingTimer: NodeJS.Timeout | undefined = undefined

  constructor (protected readonly log: Log, timings: EndpointTimings) {
    super()
    this.responseTimeout = timings.responseTimeout
    this.pingInterval = timings.pingInterval
  }

  registerDataHandler (handler: PluginDataHandler): void {
    if (this.dataHandler !== undefined) throw new Error('requestHandler is already registered')
    if (typeof handler !== 'function') throw new Error('requestHandler must be a function')
    this.dataHandler = handler
  }

  deregisterDataHandler (): void { this.dataHandler = undefined }

  registerMoneyHandler (handler: PluginMoneyHandler): void {
    if (this.moneyHandler !== undefined) throw new Error('requestHandler is already registered')
    if (typeof handler !== 'function') throw new Error('requestHandler must be a function')
    this.moneyHandler = handler
  }

  deregisterMoneyHandler (): void { this.moneyHandler = undefined }

  // ---- timers ---------------------------------------------------------------------------------------

  /** How often the pending table is swept, and whether deadlines grow in insertion order. */
  protected abstract readonly sweepInterval: number
  protected abstract readonly orderedDeadlines: boolean
  /** The authenticated links the heartbeat pings. */
  protected abstract liveLinks (): Iterable<Link>

  /** Starts the heartbeat (on connect). The sweep runs only while requests are pending (see `track`). */
  protected startTimers (): void {
    if (this.pingTimer === undefined && this.pingInterval > 0) {
      this.pingTimer = setInterval(this.heartbeat, this.pingInterval)
      this.pingTimer.unref()
    }
  }

  protected stopTimers (): void {
    clearInterval(this.sweepTimer)
    clearInterval(this.pingTimer)
    this.sweepTimer = undefined
    this.pingTimer = undefined
  }

  /** Adds a request to the table; arms the sweep if it is idle (so 10,000 idle accounts have no timer). */
  protected track (request: PendingRequest): void {
    this.pending.add(request)
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(this.sweep, this.sweepInterval)
      this.sweepTimer.unref()
    }
  }

  private readonly sweep = (): void => {
    if (this.pending.size > 0) this.pending.expire(Date.now(), this.orderedDeadlines, this.expired)
    if (this.pending.size === 0) {
      clearInterval(this.sweepTimer)
      this.sweepTimer = undefined
    }
  }

  private readonly expired = (request: PendingRequest): void => { this.onExpired(request) }

  /** A request got no reply in time: ilp-plugin-btp's `<requestId> timed out`. */
  protected onExpired (request: PendingRequest): void {
    request.reject(new Error(`${request.id} timed out`))
  }

  /** Terminates links that did not answer the previous ping (half-open TCP), pings the others. */
  private readonly heartbeat = (): void => {
    for (const link of this.liveLinks()) {
      if (!link.alive) {
        this.log.warn({ remote: link.remote }, 'BTP peer did not answer a ping; closing the connection')
        link.ws.terminate()
        continue
      }
      link.alive = false
      try { link.ws.ping() } catch {}
    }
  }

  /** Wires the ws events every link has: errors are logged (the close event follows), pongs keep it alive. */
  protected watch (link: Link): void {
    link.ws.on('pong', () => { link.alive = true })
    link.ws.on('error', (err) => {
      if (this.log.debugEnabled) this.log.debug({ err, remote: link.remote }, 'BTP websocket error')
    })
  }

  // ---- requests we send -----------------------------------------------------------------------------

  /** Sends `frame` (request `id`) on `link` and waits for its reply; `kind` says what the reply resolves with. */
  protected request (link: Link, id: number, kind: number, frame: Buffer): Promise<any> {
    return new Promise((resolve, reject) => {
      this.track(new PendingRequest(id, link.owner, kind, Date.now() + this.responseTimeout, resolve, reject))
      link.send(frame)
    })
  }

  // ---- frames we receive ----------------------------------------------------------------------------

  /** A frame from an authenticated link. */
  protected receive (link: Link, data: Buffer): void {
    let frame: BtpFrame
    try {
      frame = decode(data)
    } catch (err) {
      this.malformed(link, data, err as Error)
      return
    }
    switch (frame.type) {
      case TYPE_RESPONSE:
      case TYPE_ERROR:
        this.settle(link, frame)
        return
      case TYPE_MESSAGE:
        void this.onMessage(link, frame)
        return
      case TYPE_TRANSFER:
        void this.onTransfer(link, frame)
    }
  }

  /**
   * A frame that does not decode. A request (MESSAGE, TRANSFER) gets an F01 InvalidFieldsError ERROR and the
   * session goes on; anything else closes the socket (1002), as ilp-plugin-btp closes it on any bad frame.
   */
  private malformed (link: Link, data: Buffer, err: Error): void {
    const id = requestIdOfMalformed(data)
    this.log.warn({ remote: link.remote, reason: err.message }, 'malformed BTP packet')
    if (id !== undefined) {
      link.send(encodeError(id, { code: 'F01', name: 'InvalidFieldsError', triggeredAt: new Date(), data: err.message }))
      return
    }
    link.ws.close(1002, 'malformed BTP packet')
  }

  /** A RESPONSE or ERROR: settles the request it answers, if `link` may answer it. */
  private settle (link: Link, frame: BtpFrame): void {
    const request = this.pending.take(frame.requestId, link.owner)
    if (request === undefined) {
      if (this.log.debugEnabled) this.log.debug({ requestId: frame.requestId, remote: link.remote }, 'BTP reply to no request of ours')
      return
    }
    if (frame.type === TYPE_ERROR) {
      request.reject(new BtpError(frame))
    } else if (request.kind === KIND_VOID) {
      request.resolve(undefined)
    } else {
      try {
        request.resolve(this.replyOf(request, ilpOf(frame)))
      } catch (err) {
        request.reject(err as Error)
      }
    }
  }

  /** What a sendData resolves with, given the `ilp` data of the RESPONSE (ilp-plugin-btp: an empty Buffer if none). */
  protected replyOf (_request: PendingRequest, ilp: Buffer | undefined): Buffer {
    return ilp ?? EMPTY
  }

  protected abstract onMessage (link: Link, frame: BtpFrame): Promise<void>
  protected abstract onTransfer (link: Link, frame: BtpFrame): Promise<void>
}

/** Closes a socket (politely if open, else at once). */
export function closeLink (link: Link, code: number, reason: string): void {
  link.state = LINK_CLOSING
  clearTimeout(link.authTimer)
  const ws = link.ws
  if (ws.readyState === WebSocket.OPEN) ws.close(code, reason)
  else if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
}

/**
 * Closes a WebSocketServer once its sockets are gone; sockets that do not finish the close handshake within a
 * second are terminated. Its HTTP server is closed too (one passed in `wsOpts.server` as well, as ilp-plugin-btp
 * does); when it is our own (`own`), connections that never upgraded are ended with it.
 */
export async function closeServer (wss: WebSocketServer, links: Set<Link>, httpServer?: unknown, own = false): Promise<void> {
  const sockets = [...links].map((l) => l.ws)
  const timer = setTimeout(() => { for (const ws of sockets) ws.terminate() }, 1000)
  timer.unref()
  await Promise.all(sockets.map(async (ws) => {
    if (ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => ws.once('close', () => { resolve() }))
  }))
  clearTimeout(timer)
  await new Promise<void>((resolve) => { wss.close(() => { resolve() }) })
  const server = httpServer as HttpServer | undefined
  if (server?.listening === true) {
    await new Promise<void>((resolve) => {
      server.close(() => { resolve() })
      if (own) server.closeAllConnections()
    })
  }
}
