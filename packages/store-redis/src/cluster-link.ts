/**
 * The internal link between cluster members: plain TCP, one connection per pair and direction, frames of
 * `[u32 length][u8 type][body]`. Both ends prove they hold the cluster secret before any packet passes
 * (HMAC-SHA256 over both sides' random nonces, so a recorded handshake is worth nothing); a socket that fails,
 * or says nothing within AUTH_TIMEOUT, is closed.
 *
 *   server -> HELLO    nonce(32)
 *   client -> AUTH     nonce(32) hmac(secret, "client", serverNonce, clientNonce)(32) memberId
 *   server -> AUTH_OK  hmac(secret, "server", clientNonce, serverNonce)(32)
 *   client -> PREPARE  requestId(u32) expiresAt(u48, ms) accountIdLength(u8) accountId packet
 *   server -> REPLY    requestId(u32) status(u8: 0 the reply follows, 1 not delivered: a reason follows)
 *
 * A Prepare is the serialized packet as the sender's outgoing pipeline left it; the server hands it straight
 * to the account's plugin and sends back what the plugin answered.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { PeerUnreachableError, TransferTimedOutError, type Logger } from '@conn/types'

const HELLO = 1
const AUTH = 2
const AUTH_OK = 3
const PREPARE = 4
const REPLY = 5
const STATUS_OK = 0
const STATUS_NOT_DELIVERED = 1
const NONCE = 32
/** Largest frame accepted (an ILP packet is at most ~32 KiB of data plus its head). */
const MAX_FRAME = 128 * 1024
/** How long (ms) a new connection has to authenticate, either way. */
export const AUTH_TIMEOUT = 2000
/** A request whose packet expired this long ago (ms) without a reply is failed (the expire middleware answered it already). */
const EXPIRY_GRACE = 1000
const SWEEP_INTERVAL = 250
/** Connections waiting to authenticate at once; more are closed at once (a connect flood cannot pile them up). */
const MAX_UNAUTHENTICATED = 64
/** Longest member id (bytes) an AUTH may carry, and longest account id a PREPARE may name (one length byte). */
const MAX_MEMBER_ID = 128
const MAX_ACCOUNT_ID = 255

function mac (secret: string, label: string, a: Buffer, b: Buffer): Buffer {
  return createHmac('sha256', secret).update(label).update(a).update(b).digest()
}

function frame (type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length)
  out.writeUInt32BE(body.length + 1, 0)
  out[4] = type
  body.copy(out, 5)
  return out
}

/** Splits a byte stream into frames; false from `onFrame` (or a frame too large) stops reading. */
class FrameReader {
  private buffered: Buffer | undefined
  constructor (private readonly onFrame: (type: number, body: Buffer) => boolean) {}

  /** False when the stream must be closed (oversized frame, or onFrame said so). */
  push (chunk: Buffer): boolean {
    let data = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk])
    this.buffered = undefined
    while (data.length >= 4) {
      const length = data.readUInt32BE(0)
      if (length < 1 || length > MAX_FRAME) return false
      if (data.length < 4 + length) break
      if (!this.onFrame(data[4]!, data.subarray(5, 4 + length))) return false
      data = data.subarray(4 + length)
    }
    if (data.length > 0) this.buffered = data
    return true
  }
}

/** Writes frames corked until the current callback ends, so the Prepares of one burst leave in one write. */
class Writer {
  private corked = false
  constructor (private readonly socket: Socket) {}
  write (data: Buffer): void {
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(this.uncork)
    }
    this.socket.write(data)
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.socket.uncork()
  }
}

// ---- server: where other members' Prepares arrive ----------------------------------------------------

/** Hands a Prepare to the account's plugin; rejects when the account (or client) is not connected here. */
export type Deliver = (accountId: string, packet: Buffer) => Promise<Buffer>

export interface LinkServerOptions {
  secret: string
  deliver: Deliver
  logger: Logger
}

export class LinkServer {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private unauthenticated = 0
  /** Prepares from other members not answered yet, and the latest expiry among them (0 when none). */
  private inFlight = 0
  private latestExpiry = 0
  private idle: (() => void) | undefined

  constructor (private readonly options: LinkServerOptions) {}

  get deliveriesInFlight (): number { return this.inFlight }

  /**
   * Listens; resolves with the port (useful with port 0). Exclusive: in a worker of `conn --workers` the port is
   * this process's own, not shared with the other workers through node:cluster (the others dial this member).
   */
  async listen (host: string, port: number): Promise<number> {
    const server = this.server = createServer((socket) => { this.accept(socket) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port, host, exclusive: true }, () => { server.off('error', reject); resolve() })
    })
    server.on('error', (err) => this.options.logger.warn({ err }, 'cluster link server error'))
    return (server.address() as AddressInfo).port
  }

  /**
   * Stops accepting, waits for the Prepares in flight to be answered (at most `timeout` ms, and not past the
   * latest of their expiries: the senders have answered those themselves by then), closes every socket.
   */
  async close (timeout: number): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.close()
    const wait = Math.min(timeout, this.latestExpiry + EXPIRY_GRACE - Date.now())
    if (this.inFlight > 0 && wait > 0) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.idle = resolve
        timer = setTimeout(resolve, wait)
      })
      clearTimeout(timer)
      this.idle = undefined
    }
    // end, not destroy: the last replies (written corked, until the current callback ends) still go out
    for (const socket of this.sockets) {
      socket.end()
      setTimeout(() => socket.destroy(), 1000).unref()
    }
    this.sockets.clear()
  }

  private accept (socket: Socket): void {
    const { secret, logger } = this.options
    if (this.unauthenticated >= MAX_UNAUTHENTICATED) {
      socket.destroy()
      return
    }
    this.unauthenticated++
    socket.setNoDelay(true)
    this.sockets.add(socket)
    const writer = new Writer(socket)
    const nonce = randomBytes(NONCE)
    let member: string | undefined
    const remote = `${socket.remoteAddress ?? ''}:${String(socket.remotePort ?? '')}`
    let waiting = true
    const authenticated = (): void => {
      if (!waiting) return
      waiting = false
      this.unauthenticated--
    }
    const timer = setTimeout(() => {
      logger.warn({ remote }, 'cluster link: a connection did not authenticate in time; closed')
      socket.destroy()
    }, AUTH_TIMEOUT)
    timer.unref()
    const reader = new FrameReader((type, body) => {
      if (member !== undefined) {
        if (type !== PREPARE || body.length < 12) return false
        this.prepare(writer, body)
        return true
      }
      if (type !== AUTH || body.length < 2 * NONCE || body.length > 2 * NONCE + MAX_MEMBER_ID) {
        logger.warn({ remote }, 'cluster link: refused a connection that did not authenticate')
        return false
      }
      const clientNonce = body.subarray(0, NONCE)
      const proof = body.subarray(NONCE, 2 * NONCE)
      if (!timingSafeEqual(proof, mac(secret, 'client', nonce, clientNonce))) {
        logger.warn({ remote }, 'cluster link: refused a connection with a wrong cluster secret')
        return false
      }
      clearTimeout(timer)
      authenticated()
      member = body.subarray(2 * NONCE).toString('utf8')
      writer.write(frame(AUTH_OK, mac(secret, 'server', clientNonce, nonce)))
      logger.info({ member, remote }, 'cluster link: member connected')
      return true
    })
    socket.on('data', (chunk: Buffer) => { if (!reader.push(chunk)) socket.destroy() })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); authenticated(); this.sockets.delete(socket) })
    socket.write(frame(HELLO, nonce))
  }

  private prepare (writer: Writer, body: Buffer): void {
    const id = body.readUInt32BE(0)
    const expiresAt = body.readUIntBE(4, 6)
    const idLength = body[10]!
    const accountId = body.toString('utf8', 11, 11 + idLength)
    // copied: the frame's bytes belong to the read buffer, the plugin may keep the packet past this callback
    const packet = Buffer.from(body.subarray(11 + idLength))
    this.inFlight++
    if (expiresAt > this.latestExpiry) this.latestExpiry = expiresAt
    let sent: Promise<Buffer>
    try {
      sent = this.options.deliver(accountId, packet)
    } catch (err) {
      sent = Promise.reject(err)
    }
    sent.then((reply) => {
      this.answered(writer, id, STATUS_OK, reply)
    }, (err: unknown) => {
      this.answered(writer, id, STATUS_NOT_DELIVERED, Buffer.from(err instanceof Error ? err.message : String(err)))
    })
  }

  private answered (writer: Writer, id: number, status: number, payload: Buffer): void {
    const out = Buffer.allocUnsafe(10 + payload.length)
    out.writeUInt32BE(6 + payload.length, 0)
    out[4] = REPLY
    out.writeUInt32BE(id, 5)
    out[9] = status
    payload.copy(out, 10)
    writer.write(out)
    if (--this.inFlight > 0) return
    this.latestExpiry = 0
    if (this.idle !== undefined) this.idle()
  }
}

// ---- client: how this member sends to another --------------------------------------------------------

interface Pending {
  resolve: (reply: Buffer) => void
  reject: (err: Error) => void
  accountId: string
  expiresAt: number
}

export interface LinkClientOptions {
  secret: string
  /** This member's id (the other side logs it). */
  memberId: string
  host: string
  port: number
  logger: Logger
}

/**
 * One member's connection to another. Emits `up` once both sides proved the secret and `down` once it is
 * closed (after failing every request still waiting with T01); it does not reconnect: the cluster makes a new
 * one when the registry still lists the member.
 */
export class LinkClient extends EventEmitter<{ up: [], down: [] }> {
  private readonly socket: Socket
  private readonly writer: Writer
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private ready = false
  private closed = false
  private closeWhenIdle = false
  private readonly sweeper: NodeJS.Timeout

  constructor (private readonly options: LinkClientOptions) {
    super()
    const { host, port, secret, memberId, logger } = options
    const socket = this.socket = connect({ host, port })
    socket.setNoDelay(true)
    this.writer = new Writer(socket)
    const nonce = randomBytes(NONCE)
    let serverNonce: Buffer | undefined
    const timer = setTimeout(() => { if (!this.ready) socket.destroy() }, AUTH_TIMEOUT)
    timer.unref()
    const reader = new FrameReader((type, body) => {
      if (this.ready) {
        if (type !== REPLY || body.length < 5) return false
        this.reply(body)
        return true
      }
      if (serverNonce === undefined) {
        if (type !== HELLO || body.length !== NONCE) return false
        serverNonce = Buffer.from(body)
        const auth = Buffer.concat([nonce, mac(secret, 'client', serverNonce, nonce), Buffer.from(memberId, 'utf8')])
        this.writer.write(frame(AUTH, auth))
        return true
      }
      if (type !== AUTH_OK || body.length !== NONCE || !timingSafeEqual(body, mac(secret, 'server', nonce, serverNonce))) {
        logger.warn({ member: `${host}:${port}` }, 'cluster link: the other side did not prove the cluster secret; closed')
        return false
      }
      clearTimeout(timer)
      this.ready = true
      this.emit('up')
      return true
    })
    socket.on('data', (chunk: Buffer) => { if (!reader.push(chunk)) socket.destroy() })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); this.down() })
    this.sweeper = setInterval(this.sweep, SWEEP_INTERVAL)
    this.sweeper.unref()
  }

  /** Authenticated and open. */
  get isUp (): boolean { return this.ready && !this.closed }

  get isClosed (): boolean { return this.closed }

  get requestsInFlight (): number { return this.pending.size }

  /** Sends a Prepare for `accountId` at the other member; resolves with its reply, rejects T01 if the link goes first. */
  send (accountId: string, packet: Buffer, expiresAt: number): Promise<Buffer> {
    if (!this.isUp) return Promise.reject(new PeerUnreachableError('no connection to account. account=' + accountId))
    const id = this.nextId = (this.nextId + 1) >>> 0
    const idLength = Buffer.byteLength(accountId)
    if (idLength > MAX_ACCOUNT_ID) return Promise.reject(new PeerUnreachableError('account id too long for the cluster link. account=' + accountId))
    const out = Buffer.allocUnsafe(16 + idLength + packet.length)
    out.writeUInt32BE(12 + idLength + packet.length, 0)
    out[4] = PREPARE
    out.writeUInt32BE(id, 5)
    out.writeUIntBE(expiresAt, 9, 6)
    out[15] = idLength
    out.write(accountId, 16, 'utf8')
    packet.copy(out, 16 + idLength)
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, accountId, expiresAt })
      this.writer.write(out)
    })
  }

  /** Closes now (requests waiting fail with T01) or, with `whenIdle`, once the last request was answered. */
  close (whenIdle = false): void {
    if (whenIdle && this.pending.size > 0) {
      this.closeWhenIdle = true
      return
    }
    this.socket.destroy()
  }

  private reply (body: Buffer): void {
    const id = body.readUInt32BE(0)
    const request = this.pending.get(id)
    if (request === undefined) return // failed at expiry already: never answered twice
    this.pending.delete(id)
    if (body[4] === STATUS_OK) request.resolve(Buffer.from(body.subarray(5)))
    else {
      if (this.options.logger.isLevelEnabled('debug')) {
        this.options.logger.debug({ account: request.accountId, reason: body.toString('utf8', 5) }, 'cluster member could not deliver')
      }
      request.reject(new PeerUnreachableError('no connection to account. account=' + request.accountId))
    }
    if (this.closeWhenIdle && this.pending.size === 0) this.socket.destroy()
  }

  private readonly sweep = (): void => {
    const before = Date.now() - EXPIRY_GRACE
    for (const [id, request] of this.pending) {
      if (request.expiresAt > before) continue
      this.pending.delete(id)
      request.reject(new TransferTimedOutError('packet expired. account=' + request.accountId))
    }
    if (this.closeWhenIdle && this.pending.size === 0) this.socket.destroy()
  }

  private down (): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.sweeper)
    const pending = [...this.pending.values()]
    this.pending.clear()
    for (const request of pending) {
      request.reject(new PeerUnreachableError('no connection to account. account=' + request.accountId))
    }
    this.emit('down')
  }
}
