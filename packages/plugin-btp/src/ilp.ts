/**
 * The little of ILPv4 (RFC 27) and IL-DCP (RFC 31) MiniAccountsPlugin needs: the head of a Prepare (to route
 * it and time it out), its own IL-DCP request and response, and a check of a Fulfill. The rest of a packet is
 * forwarded as the bytes received; nothing here runs for BtpPlugin.
 */
import { createHash } from 'node:crypto'
import { serializeFulfill, serializeReject } from '@conn/types'

export const TYPE_PREPARE = 12
export const TYPE_FULFILL = 13
export const TYPE_REJECT = 14

export const ILDCP_DESTINATION = 'peer.config'
export const PEER_PROTOCOL_FULFILLMENT = Buffer.alloc(32)
export const PEER_PROTOCOL_CONDITION = Buffer.from('Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU=', 'base64')
const ILDCP_EXPIRY = 60_000

/** RFC 15 address: a scheme, then one or more segments. */
const ADDRESS = /^(g|private|example|peer|self|test[1-3]?|local)([.][a-zA-Z0-9_~-]+)+$/

export function isValidIlpAddress (address: string): boolean {
  return address.length <= 1023 && ADDRESS.test(address)
}

export interface IldcpInfo {
  clientAddress: string
  assetScale: number
  assetCode: string
}

/** The fields of a Prepare that routing and time-outs need. */
export interface PrepareHead {
  destination: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  executionCondition: Buffer
}

/** [length, offset of the first byte] of a var-octet-string, or undefined if it does not fit in `end`. */
function varOctets (buf: Buffer, offset: number, end: number): [number, number] | undefined {
  const first = buf[offset]
  if (first === undefined || offset >= end) return undefined
  if (first < 0x80) return offset + 1 + first <= end ? [first, offset + 1] : undefined
  const bytes = first & 0x7f
  if (bytes === 0 || bytes > 3 || offset + 1 + bytes > end) return undefined
  const length = buf.readUIntBE(offset + 1, bytes)
  const start = offset + 1 + bytes
  return start + length <= end ? [length, start] : undefined
}

/** Offset and end of an ILP packet's contents, or undefined if the envelope does not fit. */
function contents (packet: Buffer): [number, number] | undefined {
  const field = varOctets(packet, 1, packet.length)
  return field === undefined ? undefined : [field[1], field[1] + field[0]]
}

/** `width` ASCII digits at `offset` as a number, or NaN. */
function digits (buf: Buffer, offset: number, width: number): number {
  let value = 0
  for (let i = offset; i < offset + width; i++) {
    const c = (buf[i] ?? 0) - 0x30
    if (c < 0 || c > 9) return NaN
    value = value * 10 + c
  }
  return value
}

/** Interledger time `YYYYMMDDHHmmssSSS` (17 digits, UTC) at `offset` as ms since the epoch, or NaN. */
function readTime (buf: Buffer, offset: number): number {
  return Date.UTC(digits(buf, offset, 4), digits(buf, offset + 4, 2) - 1, digits(buf, offset + 6, 2),
    digits(buf, offset + 8, 2), digits(buf, offset + 10, 2), digits(buf, offset + 12, 2), digits(buf, offset + 14, 3))
}

function writeTime (buf: Buffer, offset: number, ms: number): void {
  const date = new Date(ms)
  const text = String(date.getUTCFullYear()).padStart(4, '0') +
    String(date.getUTCMonth() + 1).padStart(2, '0') + String(date.getUTCDate()).padStart(2, '0') +
    String(date.getUTCHours()).padStart(2, '0') + String(date.getUTCMinutes()).padStart(2, '0') +
    String(date.getUTCSeconds()).padStart(2, '0') + String(date.getUTCMilliseconds()).padStart(3, '0')
  buf.write(text, offset, 17, 'ascii')
}

/**
 * Destination, expiry and condition of a Prepare; undefined if `packet` is not a Prepare whose fixed fields and
 * destination are all there. Amount and data are not read.
 */
export function readPrepareHead (packet: Buffer): PrepareHead | undefined {
  if (packet[0] !== TYPE_PREPARE) return undefined
  const body = contents(packet)
  if (body === undefined) return undefined
  const [start, end] = body
  // amount (8), expiresAt (17), executionCondition (32), then the destination
  if (start + 57 > end) return undefined
  const expiresAt = readTime(packet, start + 8)
  if (Number.isNaN(expiresAt)) return undefined
  const destination = varOctets(packet, start + 57, end)
  if (destination === undefined) return undefined
  return {
    destination: packet.toString('ascii', destination[1], destination[1] + destination[0]),
    expiresAt,
    executionCondition: packet.subarray(start + 25, start + 57)
  }
}

const PEER_CONFIG = Buffer.from(ILDCP_DESTINATION, 'ascii')

/** True if `packet` is a Prepare addressed to `peer.config` (compares bytes; builds no string). */
export function isIldcpRequest (packet: Buffer): boolean {
  if (packet[0] !== TYPE_PREPARE) return false
  const body = contents(packet)
  if (body === undefined || body[0] + 57 >= body[1]) return false
  const offset = body[0] + 57
  return packet[offset] === PEER_CONFIG.length &&
    offset + 1 + PEER_CONFIG.length <= body[1] &&
    packet.compare(PEER_CONFIG, 0, PEER_CONFIG.length, offset + 1, offset + 1 + PEER_CONFIG.length) === 0
}

function writeVarOctets (buf: Buffer, offset: number, data: Buffer): number {
  if (data.length < 0x80) {
    buf[offset] = data.length
    offset += 1
  } else {
    const bytes = data.length < 0x100 ? 1 : data.length < 0x10000 ? 2 : 3
    buf[offset] = 0x80 | bytes
    buf.writeUIntBE(data.length, offset + 1, bytes)
    offset += 1 + bytes
  }
  return offset + data.copy(buf, offset)
}

function varOctetsSize (length: number): number {
  return (length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 4) + length
}

/** A Prepare with amount 0 (the only amount an IL-DCP request has). */
function zeroPrepare (destination: string, expiresAt: number, condition: Buffer, data: Buffer): Buffer {
  const dest = Buffer.from(destination, 'ascii')
  const size = 8 + 17 + 32 + varOctetsSize(dest.length) + varOctetsSize(data.length)
  const head = size < 0x80 ? 2 : size < 0x100 ? 3 : 4
  const buf = Buffer.alloc(head + size)
  buf[0] = TYPE_PREPARE
  let offset = 1
  if (size < 0x80) {
    buf[offset++] = size
  } else {
    const bytes = head - 2
    buf[offset] = 0x80 | bytes
    buf.writeUIntBE(size, offset + 1, bytes)
    offset += 1 + bytes
  }
  offset += 8 // amount 0
  writeTime(buf, offset, expiresAt)
  offset += 17
  offset += condition.copy(buf, offset)
  offset = writeVarOctets(buf, offset, dest)
  writeVarOctets(buf, offset, data)
  return buf
}

/** The IL-DCP request a child sends its parent (ilp-protocol-ildcp's `serializeIldcpRequest`). */
export function ildcpRequest (now = Date.now()): Buffer {
  return zeroPrepare(ILDCP_DESTINATION, now + ILDCP_EXPIRY, PEER_PROTOCOL_CONDITION, Buffer.alloc(0))
}

/** An IL-DCP response: a Fulfill with the zero fulfillment and the info in its data. */
export function ildcpResponse (info: IldcpInfo): Buffer {
  const address = Buffer.from(info.clientAddress, 'ascii')
  const code = Buffer.from(info.assetCode, 'utf8')
  const data = Buffer.alloc(varOctetsSize(address.length) + 1 + varOctetsSize(code.length))
  let offset = writeVarOctets(data, 0, address)
  data[offset++] = info.assetScale
  writeVarOctets(data, offset, code)
  return serializeFulfill({ fulfillment: PEER_PROTOCOL_FULFILLMENT, data })
}

/** Reads an IL-DCP reply like ilp-protocol-ildcp's `fetch` does, with its error messages. */
export function readIldcpResponse (reply: Buffer): IldcpInfo {
  if (reply[0] === TYPE_REJECT) {
    const body = contents(reply)
    let message = ''
    if (body !== undefined) {
      const triggeredBy = varOctets(reply, body[0] + 3, body[1])
      const msg = triggeredBy === undefined ? undefined : varOctets(reply, triggeredBy[1] + triggeredBy[0], body[1])
      if (msg !== undefined) message = reply.toString('utf8', msg[1], msg[1] + msg[0])
    }
    throw new Error('IL-DCP failed: ' + message)
  }
  if (reply[0] !== TYPE_FULFILL) throw new Error('IL-DCP error, unable to retrieve client configuration.')
  const body = contents(reply)
  if (body === undefined || body[0] + 32 > body[1]) throw new Error('IL-DCP response is not a valid Fulfill.')
  if (!PEER_PROTOCOL_FULFILLMENT.equals(reply.subarray(body[0], body[0] + 32))) {
    throw new Error('IL-DCP response does not contain the expected fulfillment.')
  }
  const data = varOctets(reply, body[0] + 32, body[1])
  if (data === undefined) throw new Error('IL-DCP response is not a valid Fulfill.')
  const end = data[1] + data[0]
  const address = varOctets(reply, data[1], end)
  if (address === undefined) throw new Error('IL-DCP response data is truncated.')
  const clientAddress = reply.toString('ascii', address[1], address[1] + address[0])
  if (!isValidIlpAddress(clientAddress)) throw new Error('Invalid ILP address')
  const scaleAt = address[1] + address[0]
  if (scaleAt >= end) throw new Error('IL-DCP response data is truncated.')
  const assetScale = reply[scaleAt]!
  const code = varOctets(reply, scaleAt + 1, end)
  if (code === undefined) throw new Error('IL-DCP response data is truncated.')
  return { clientAddress, assetScale, assetCode: reply.toString('utf8', code[1], code[1] + code[0]) }
}

/**
 * Answers a client's IL-DCP request as ilp-protocol-ildcp's `serve` does: the info, or an F00 Reject with the
 * reason if the request has the wrong condition or has expired.
 */
export function serveIldcp (request: Buffer, info: IldcpInfo, serverAddress: string, now = Date.now()): Buffer {
  const head = readPrepareHead(request)
  let message: string | undefined
  if (head === undefined || head.destination !== ILDCP_DESTINATION) {
    message = 'packet is not an IL-DCP request.'
  } else if (!PEER_PROTOCOL_CONDITION.equals(head.executionCondition)) {
    message = 'packet does not contain correct condition for a peer protocol request.'
  } else if (now > head.expiresAt) {
    message = 'IL-DCP request packet is expired.'
  }
  if (message !== undefined) return reject('F00', serverAddress, message)
  return ildcpResponse(info)
}

export function reject (code: string, triggeredBy: string, message: string): Buffer {
  return serializeReject({ code, triggeredBy, message, data: Buffer.alloc(0) })
}

/** The 32-byte fulfillment of a Fulfill, or undefined if it is cut short. */
export function fulfillmentOf (fulfill: Buffer): Buffer | undefined {
  const body = contents(fulfill)
  if (body === undefined || body[0] + 32 > body[1]) return undefined
  return fulfill.subarray(body[0], body[0] + 32)
}

export function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}
