/**
 * The fuzzer's sockets: raw TCP and a WebSocket client written on a TCP socket, so a case can send any bytes
 * (frames that lie about their length, unmasked frames, bad opcodes) and see everything the server does back.
 * Every wait has a deadline: a case ends with an answer, a close, or `hang` (the server neither answered nor
 * closed within the time-out), which the runner counts as a failure.
 */
import { createHash, randomBytes } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** Thrown when a wait passes its deadline. */
export class Hang extends Error {
  constructor (what: string) {
    super(`hang: ${what}`)
    this.name = 'Hang'
  }
}

/** A TCP connection to 127.0.0.1:port; rejects (ECONNREFUSED, ...) or hangs past `timeout`. */
export async function tcpConnect (port: number, timeout: number): Promise<Socket> {
  return await new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port })
    socket.setNoDelay(true)
    const timer = setTimeout(() => { socket.destroy(); reject(new Hang('TCP connect')) }, timeout)
    socket.once('connect', () => { clearTimeout(timer); socket.off('error', onError); resolve(socket) })
    const onError = (err: Error): void => { clearTimeout(timer); socket.destroy(); reject(err) }
    socket.once('error', onError)
  })
}

export interface RawAnswer {
  /** The first line the server sent back, if any (e.g. `HTTP/1.1 400 Bad Request`). */
  firstLine?: string
  /** Bytes received before the close. */
  received: number
}

/**
 * Connects, writes `chunks` (each in its own write), half-closes, and waits until the server closes the
 * connection. Throws Hang if it stays open for `timeout` ms after our FIN.
 */
export async function rawExchange (port: number, chunks: Buffer[], timeout: number, halfClose = true): Promise<RawAnswer> {
  const socket = await tcpConnect(port, timeout)
  return await new Promise<RawAnswer>((resolve, reject) => {
    const received: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => { socket.destroy(); reject(new Hang(`TCP connection open ${timeout} ms after our last byte (${size} bytes back)`)) }, timeout)
    socket.on('data', (chunk: Buffer) => { if (size < 65536) received.push(chunk); size += chunk.length })
    socket.on('error', () => {}) // ECONNRESET and EPIPE end the case like a close
    socket.once('close', () => {
      clearTimeout(timer)
      const head = Buffer.concat(received).toString('latin1')
      const end = head.indexOf('\r\n')
      resolve({ firstLine: size === 0 ? undefined : (end < 0 ? head.slice(0, 80) : head.slice(0, end)), received: size })
    })
    for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk)
    if (halfClose && !socket.destroyed) socket.end()
  })
}

/** The status code of an HTTP answer's first line, or undefined. */
export function httpStatus (answer: RawAnswer): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer.firstLine ?? '')
  return match === null ? undefined : Number(match[1])
}

export const OP_TEXT = 0x1
export const OP_BINARY = 0x2
export const OP_CLOSE = 0x8
export const OP_PING = 0x9
export const OP_PONG = 0xa

export interface FrameOptions {
  fin?: boolean
  opcode?: number
  /** Client frames must be masked; false sends it unmasked (a protocol error). */
  mask?: boolean
  /** The length the header announces, if not the payload's (a lie). */
  announced?: bigint
  /** Reserved bits (0..7) set in the first byte. */
  rsv?: number
}

/** One WebSocket frame, masked with a random key unless `mask: false`. */
export function frame (payload: Buffer, options: FrameOptions = {}): Buffer {
  const { fin = true, opcode = OP_BINARY, mask = true, rsv = 0 } = options
  const n = options.announced ?? BigInt(payload.length)
  let head: Buffer
  if (n < 126n) {
    head = Buffer.from([0, Number(n)])
  } else if (n < 65536n) {
    head = Buffer.from([0, 126, Number(n >> 8n), Number(n & 0xffn)])
  } else {
    head = Buffer.alloc(10)
    head[1] = 127
    head.writeBigUInt64BE(n & 0xffffffffffffffffn, 2)
  }
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)
  if (!mask) return Buffer.concat([head, payload])
  head[1] = head[1]! | 0x80
  const key = randomBytes(4)
  const masked = Buffer.allocUnsafe(payload.length)
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ key[i & 3]!
  return Buffer.concat([head, key, masked])
}

export type WsEvent =
  | { kind: 'message', opcode: number, data: Buffer }
  | { kind: 'closed', code?: number }

export interface HandshakeOptions {
  path?: string
  /** Extra header lines, or replacements (`Sec-WebSocket-Version: 8`). */
  headers?: string[]
  /** Leave out the Sec-WebSocket-Key (a bad handshake). */
  noKey?: boolean
}

/**
 * A WebSocket connection. `open` resolves with the connection when the server answered 101, or with the status
 * line of any other answer (the socket then closed).
 */
export class WsConn {
  private readonly events: WsEvent[] = []
  private waiter: (() => void) | undefined
  private pending: Buffer = Buffer.alloc(0)
  private fragments: Buffer[] = []
  private closedWith: WsEvent | undefined

  private constructor (readonly socket: Socket) {
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => { this.receive(chunk) })
    socket.on('close', () => { this.close() })
  }

  static async open (port: number, timeout: number, options: HandshakeOptions = {}): Promise<WsConn | { status: string }> {
    const socket = await tcpConnect(port, timeout)
    const key = randomBytes(16).toString('base64')
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64')
    const head = await new Promise<{ head: string, rest: Buffer } | { status: string }>((resolve, reject) => {
      let buf = Buffer.alloc(0)
      const timer = setTimeout(() => { done(); socket.destroy(); reject(new Hang('WebSocket handshake: no answer')) }, timeout)
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk])
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        done()
        resolve({ head: buf.toString('latin1', 0, end), rest: buf.subarray(end + 4) })
      }
      const onClose = (): void => {
        done()
        const line = buf.toString('latin1').split('\r\n')[0]
        resolve({ status: line === '' || line === undefined ? 'closed' : line.slice(0, 60) })
      }
      const done = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', onClose) }
      socket.on('data', onData)
      socket.on('close', onClose)
      socket.on('error', () => {})
      const lines = [`GET ${options.path ?? '/'} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade']
      if (options.noKey !== true) lines.push(`Sec-WebSocket-Key: ${key}`)
      const extra = options.headers ?? []
      if (!extra.some((l) => l.toLowerCase().startsWith('sec-websocket-version:'))) lines.push('Sec-WebSocket-Version: 13')
      socket.write([...lines, ...extra, '', ''].join('\r\n'))
    })
    if ('status' in head) return head
    const lines = head.head.split('\r\n')
    const upgraded = /^HTTP\/1\.1 101/.test(lines[0]!) &&
      lines.some((l) => l.toLowerCase().startsWith('sec-websocket-accept:') && l.slice(21).trim() === accept)
    if (!upgraded) {
      socket.destroy()
      return { status: lines[0]!.slice(0, 60) }
    }
    const conn = new WsConn(socket)
    if (head.rest.length > 0) conn.receive(head.rest)
    return conn
  }

  get isClosed (): boolean { return this.closedWith !== undefined }

  /** Writes bytes as they are (a frame from `frame()`, or anything else). */
  write (bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Sends `payload` as one masked binary frame. */
  send (payload: Buffer): void {
    this.write(frame(payload))
  }

  /** The next event: a message, or the close (repeated once it happened). Throws Hang after `timeout` ms. */
  async next (timeout: number, what = 'an answer'): Promise<WsEvent> {
    const deadline = Date.now() + timeout
    for (;;) {
      const event = this.events.shift()
      if (event !== undefined) return event
      if (this.closedWith !== undefined) return this.closedWith
      const left = deadline - Date.now()
      if (left <= 0) throw new Hang(`no ${what} within ${timeout} ms, connection still open`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiter = undefined; resolve() }, left)
        this.waiter = () => { clearTimeout(timer); this.waiter = undefined; resolve() }
      })
    }
  }

  /** Waits for the server to close the connection (messages meanwhile are dropped). Throws Hang. */
  async closed (timeout: number): Promise<number | undefined> {
    for (;;) {
      const event = await this.next(timeout, 'close')
      if (event.kind === 'closed') return event.code
    }
  }

  /** Closes our side at once. */
  destroy (): void {
    this.socket.destroy()
    this.close()
  }

  private close (code?: number): void {
    if (this.closedWith !== undefined) return
    this.closedWith = { kind: 'closed', code }
    this.wake()
  }

  private push (event: WsEvent): void {
    this.events.push(event)
    this.wake()
  }

  private wake (): void { this.waiter?.() }

  private receive (chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    while (buf.length >= 2) {
      const b0 = buf[0]!
      const b1 = buf[1]!
      let length = b1 & 0x7f
      let start = 2
      if (length === 126) {
        if (buf.length < 4) break
        length = buf.readUInt16BE(2)
        start = 4
      } else if (length === 127) {
        if (buf.length < 10) break
        length = Number(buf.readBigUInt64BE(2))
        start = 10
      }
      if ((b1 & 0x80) !== 0) start += 4
      if (buf.length < start + length) break
      const payload = Buffer.from(buf.subarray(start, start + length))
      buf = buf.subarray(start + length)
      this.onFrame(b0 & 0x0f, (b0 & 0x80) !== 0, payload)
    }
    this.pending = Buffer.from(buf)
  }

  private onFrame (opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode === OP_CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : undefined
      this.write(frame(payload.subarray(0, 2), { opcode: OP_CLOSE }))
      this.socket.end()
      this.close(code)
    } else if (opcode === OP_PING) {
      this.write(frame(payload, { opcode: OP_PONG }))
    } else if (opcode === OP_PONG) {
      // ignore
    } else {
      this.fragments.push(payload)
      if (!fin) return
      const data = this.fragments.length === 1 ? payload : Buffer.concat(this.fragments)
      this.fragments = []
      this.push({ kind: 'message', opcode, data })
    }
  }
}
