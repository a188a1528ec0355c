/**
 * The load generator's BTP client: BTP (RFC 23) over a WebSocket (RFC 6455) written directly on a TCP socket,
 * so that the sender, the receiver and the 10,000 children cost as little CPU and memory as possible and the
 * connector under test gets the machine. Wire-compatible with any BTP server (ilp-plugin-btp,
 * ilp-plugin-mini-accounts, @conn/plugin-btp): the same handshake, masked client frames and the same
 * `auth` / `auth_username` / `auth_token` authentication as ilp-plugin-btp's client.
 *
 * Client frames use an all-zero masking key (a valid key; masking only matters against browser cache
 * poisoning), so a frame can be encoded once, ahead of time, and sent with one write. Writes made while
 * handling one chunk of input go out together (the socket is corked meanwhile).
 */
import { createHash, randomBytes } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import { lengthPrefix, lengthPrefixSize, readLengthPrefix, readVarUInt } from '@conn/codec'

export const BTP_RESPONSE = 1
export const BTP_ERROR = 2
export const BTP_MESSAGE = 6

const OP_CONTINUATION = 0x0
const OP_BINARY = 0x2
const OP_CLOSE = 0x8
const OP_PING = 0x9
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function varOctetString (data: Buffer): Buffer {
  return Buffer.concat([lengthPrefix(data.length), data])
}

export interface ProtocolData { name: string, contentType: number, data: Buffer }

/** A BTP packet of type MESSAGE or RESPONSE: type, request id, protocol data. */
export function encodeBtp (type: number, requestId: number, protocolData: ProtocolData[]): Buffer {
  const count = protocolData.length
  const contents = Buffer.concat([
    Buffer.from([1, count]), // protocol data count: a 1-byte length of a 1-byte unsigned integer
    ...protocolData.map((p) => Buffer.concat([varOctetString(Buffer.from(p.name, 'ascii')), Buffer.from([p.contentType]), varOctetString(p.data)]))
  ])
  const head = Buffer.alloc(5)
  head[0] = type
  head.writeUInt32BE(requestId, 1)
  return Buffer.concat([head, varOctetString(contents)])
}

/** A masked binary WebSocket frame (zero masking key) around `payload`. */
export function encodeFrame (payload: Buffer): Buffer {
  const n = payload.length
  let head: Buffer
  if (n < 126) {
    head = Buffer.from([0x80 | OP_BINARY, 0x80 | n, 0, 0, 0, 0])
  } else if (n < 65536) {
    head = Buffer.from([0x80 | OP_BINARY, 0x80 | 126, n >> 8, n & 0xff, 0, 0, 0, 0])
  } else {
    head = Buffer.alloc(14)
    head[0] = 0x80 | OP_BINARY
    head[1] = 0x80 | 127
    head.writeBigUInt64BE(BigInt(n), 2)
  }
  return Buffer.concat([head, payload])
}

/** Reads an OER length prefix at `offset` (@conn/codec's reader): [length, offset of the contents]. */
export function readLength (buf: Buffer, offset: number): [number, number] {
  const length = readLengthPrefix(buf, offset, buf.length)
  if (length < 0) throw new Error(`malformed OER length prefix at ${offset} (${length})`)
  return [length, offset + lengthPrefixSize(length)]
}

/**
 * Finds the `ilp` protocol data of a BTP MESSAGE or RESPONSE (`btp` is the whole BTP packet):
 * [start, end) offsets of the ILP packet, or undefined.
 */
export function findIlp (btp: Buffer): [number, number] | undefined {
  const [, contentsStart] = readLength(btp, 5)
  const count = readVarUInt(btp, contentsStart, btp.length)
  if (count < 0) return undefined
  let offset = contentsStart + 1 + btp[contentsStart]!
  for (let i = 0; i < count; i++) {
    const [nameLength, nameStart] = readLength(btp, offset)
    const isIlp = nameLength === 3 && btp[nameStart] === 0x69 && btp[nameStart + 1] === 0x6c && btp[nameStart + 2] === 0x70
    const [dataLength, dataStart] = readLength(btp, nameStart + nameLength + 1)
    if (isIlp) return [dataStart, dataStart + dataLength]
    offset = dataStart + dataLength
  }
  return undefined
}

/** Reads the code of a BTP ERROR packet (for messages). */
export function btpErrorCode (btp: Buffer): string {
  const [, contentsStart] = readLength(btp, 5)
  return btp.toString('ascii', contentsStart, contentsStart + 3)
}

export interface BtpClientOptions {
  host?: string
  port: number
  /** auth_token (ilp-plugin-btp's secret, or a mini-accounts token) */
  token: string
  /** auth_username; '' as ilp-plugin-btp's client sends without one */
  username?: string
  /** Gives up after this many ms of failed attempts (connection refused while the server starts). */
  timeout?: number
  /** Delay between attempts, ms. */
  retryInterval?: number
}

const AUTH_REQUEST_ID = 0xffffffff

/**
 * One authenticated BTP connection. `onPacket(btp)` receives every BTP packet (the whole packet, a view
 * into the receive buffer valid only during the call).
 */
export class BtpClient {
  private handler: (btp: Buffer) => void = () => {}
  /** Packets that came after the authentication reply (often in the same read) before a handler was set. */
  private early: Buffer[] | undefined

  /** Setting a handler first hands it the packets received since authentication, if any. */
  get onPacket (): (btp: Buffer) => void { return this.handler }
  set onPacket (handler: (btp: Buffer) => void) {
    this.handler = handler
    const early = this.early
    this.early = undefined
    if (early !== undefined) for (const btp of early) handler(btp)
  }

  onClose: () => void = () => {}
  private pending: Buffer | undefined
  private fragments: Buffer[] = []
  private closed = false

  private constructor (readonly socket: Socket) {}

  /** Connects, retrying while the port refuses connections, and authenticates. */
  static async connect (options: BtpClientOptions): Promise<BtpClient> {
    const deadline = Date.now() + (options.timeout ?? 30000)
    for (;;) {
      try {
        return await BtpClient.attempt(options)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        const retryable = code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || (err as Error).message.startsWith('websocket handshake')
        if (!retryable || Date.now() > deadline) throw err
        await new Promise((resolve) => setTimeout(resolve, options.retryInterval ?? 2))
      }
    }
  }

  private static async attempt (options: BtpClientOptions): Promise<BtpClient> {
    const host = options.host ?? '127.0.0.1'
    const socket = netConnect({ host, port: options.port })
    socket.setNoDelay(true)
    const key = randomBytes(16).toString('base64')
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64')
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        cleanup()
        const lines = head.toString('latin1', 0, end).split('\r\n')
        const ok = /^HTTP\/1\.1 101/.test(lines[0]!) &&
          lines.some((l) => l.toLowerCase().startsWith('sec-websocket-accept:') && l.slice(21).trim() === accept)
        if (!ok) { socket.destroy(); reject(new Error(`websocket handshake failed: ${lines[0]}`)); return }
        resolve(head.subarray(end + 4))
      }
      const onError = (err: Error): void => { cleanup(); socket.destroy(); reject(err) }
      const onClose = (): void => { cleanup(); reject(new Error('websocket handshake: connection closed')) }
      const cleanup = (): void => { socket.off('data', onData); socket.off('error', onError); socket.off('close', onClose) }
      socket.on('data', onData)
      socket.on('error', onError)
      socket.on('close', onClose)
      socket.write(`GET / HTTP/1.1\r\nHost: ${host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    const client = new BtpClient(socket)
    let authenticatedAlready = false
    const authenticated = new Promise<void>((resolve, reject) => {
      client.onPacket = (btp) => {
        if (btp.readUInt32BE(1) !== AUTH_REQUEST_ID) {
          // the server may send right after accepting us, in the same read: keep those for the caller
          if (authenticatedAlready) (client.early ??= []).push(Buffer.from(btp))
          return
        }
        authenticatedAlready = true
        if (btp[0] === BTP_RESPONSE) resolve()
        else reject(new Error(`BTP authentication rejected (${btp[0] === BTP_ERROR ? btpErrorCode(btp) : `type ${btp[0]}`})`))
      }
      client.onClose = () => reject(new Error('websocket handshake: closed during authentication'))
    })
    socket.on('data', (chunk: Buffer) => client.receive(chunk))
    socket.on('error', () => socket.destroy())
    socket.on('close', () => { client.closed = true; client.onClose() })
    if (rest.length > 0) client.receive(rest)
    client.send(encodeFrame(encodeBtp(BTP_MESSAGE, AUTH_REQUEST_ID, [
      { name: 'auth', contentType: 0, data: Buffer.alloc(0) },
      { name: 'auth_username', contentType: 1, data: Buffer.from(options.username ?? '') },
      { name: 'auth_token', contentType: 1, data: Buffer.from(options.token) }
    ])))
    try {
      await authenticated
    } catch (err) {
      socket.destroy()
      throw err
    }
    const early = client.early
    client.onPacket = () => {}
    client.early = early
    client.onClose = () => {}
    return client
  }

  get isClosed (): boolean { return this.closed }

  /** Writes a ready-made frame (see encodeFrame). */
  send (frame: Buffer): void {
    this.socket.write(frame)
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.socket.end(Buffer.from([0x80 | OP_CLOSE, 0x80, 0, 0, 0, 0]))
    this.socket.destroy()
  }

  private receive (chunk: Buffer): void {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = undefined
    let offset = 0
    this.socket.cork()
    try {
      while (buf.length - offset >= 2) {
        const b0 = buf[offset]!
        const b1 = buf[offset + 1]!
        let length = b1 & 0x7f
        let start = offset + 2
        if (length === 126) {
          if (buf.length - offset < 4) break
          length = buf.readUInt16BE(offset + 2)
          start = offset + 4
        } else if (length === 127) {
          if (buf.length - offset < 10) break
          length = Number(buf.readBigUInt64BE(offset + 2))
          start = offset + 10
        }
        if (b1 & 0x80) start += 4 // a server never masks, but skip a key if one is there
        if (buf.length < start + length) break
        const payload = buf.subarray(start, start + length)
        offset = start + length
        this.frame(b0 & 0x0f, (b0 & 0x80) !== 0, payload)
      }
    } finally {
      this.socket.uncork()
    }
    if (offset < buf.length) this.pending = Buffer.from(buf.subarray(offset))
  }

  private frame (opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode === OP_BINARY || opcode === 0x1 || opcode === OP_CONTINUATION) {
      if (!fin || this.fragments.length > 0) {
        this.fragments.push(Buffer.from(payload))
        if (!fin) return
        payload = Buffer.concat(this.fragments)
        this.fragments = []
      }
      this.onPacket(payload)
    } else if (opcode === OP_PING) {
      const pong = Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload])
      this.socket.write(pong)
    } else if (opcode === OP_CLOSE) {
      this.close()
    }
  }
}
