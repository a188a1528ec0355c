/**
 * BTP (RFC 23, version alpha as btp-packet 2.2 speaks it) frames, encoded and decoded by hand.
 *
 * Why our own codec: btp-packet measures every frame with an oer-utils Predictor, writes it twice and goes
 * through Writer/Reader objects and dateformat; on the packet path of a connector that was a tenth of the
 * CPU. Here a frame is sized with a few additions and written once into one Buffer, and the two frames of the
 * packet path (a MESSAGE or RESPONSE carrying one `ilp` sub-protocol entry) have their own writers. The bytes
 * are exactly btp-packet's (the tests compare them byte for byte).
 *
 * Decoding is strict: every length is checked against the bytes present, OER length prefixes must be
 * canonical (as oer-utils requires), and the contents must end exactly where their length says (btp-packet
 * ignores trailing bytes; nothing it writes has any), and protocol names, error codes and error names are
 * strict ASCII (btp-packet clears the high bit, so 0xf4 would read as `t` and `auth\xf4oken` as `auth_token`).
 * A malformed frame throws a BtpFormatError, never a RangeError from deep inside Buffer. The error's
 * triggeredAt is an Invalid Date when it is not a real time, as btp-packet gives one, not an error.
 *
 * Envelope: type (uint8), requestId (uint32 BE), contents (OER var-octet-string). Contents:
 * - RESPONSE (1), MESSAGE (6): protocolData
 * - ERROR (2): code (3 ASCII bytes), name (var-octets, ASCII), triggeredAt (var-octets, generalized time
 *   `YYYYMMDDHHMMSS.mmmZ`), data (var-octets, UTF-8), protocolData
 * - TRANSFER (7): amount (uint64 BE), protocolData
 * protocolData: count as a length-prefixed unsigned integer (one byte saying how many bytes the count has,
 * then the count), then per entry: protocolName (var-octets, ASCII), contentType (uint8), data (var-octets).
 *
 * The OER primitives (length prefixes, var-octets, the count's var uint) are @conn/codec's; BTP framing is here.
 */
import {
  OER_INVALID, OER_NON_CANONICAL, lengthPrefixSize, readLengthPrefix, readVarUInt, varUIntSize, writeLengthPrefix,
  writeVarUInt
} from '@conn/codec'

export const TYPE_RESPONSE = 1
export const TYPE_ERROR = 2
export const TYPE_MESSAGE = 6
export const TYPE_TRANSFER = 7

export const MIME_APPLICATION_OCTET_STREAM = 0
export const MIME_TEXT_PLAIN_UTF8 = 1
export const MIME_APPLICATION_JSON = 2

export interface ProtocolData {
  protocolName: string
  contentType: number
  data: Buffer
}

/** The fields of a BTP ERROR besides its protocol data. */
export interface BtpErrorFields {
  /** Three ASCII characters, e.g. `F00`. */
  code: string
  name: string
  /** When the error happened; written as generalized time with milliseconds, read back as a Date. */
  triggeredAt: Date
  data: string
}

/** A decoded frame. `amount` is set for TRANSFER (else ''), `error` for ERROR (else undefined). */
export interface BtpFrame {
  type: number
  requestId: number
  protocolData: ProtocolData[]
  amount: string
  error: BtpErrorFields | undefined
}

/** What `encode` takes: a frame, with `amount` required for TRANSFER and `error` for ERROR. */
export interface BtpFrameInput {
  type: number
  requestId: number
  protocolData: readonly ProtocolData[]
  amount?: string
  error?: BtpErrorFields
}

export class BtpFormatError extends Error {
  override name = 'BtpFormatError'
}

const EMPTY = Buffer.alloc(0)
const MAX_UINT64 = 0xffffffffffffffffn
const ILP_NAME = Buffer.from('ilp', 'ascii')

// ---- encoding -------------------------------------------------------------------------------------

function protocolNameBytes (name: string): Buffer {
  return name === 'ilp' ? ILP_NAME : Buffer.from(name, 'ascii')
}

/**
 * Encodes any frame into one Buffer (the bytes btp-packet's `serialize` produces). Throws a TypeError or
 * RangeError for fields btp-packet would refuse too (an error code that is not 3 characters, an amount that is
 * not a uint64).
 */
export function encode (frame: BtpFrameInput): Buffer {
  const { type, requestId, protocolData } = frame
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffffffff) {
    throw new RangeError(`requestId must be a uint32, got ${String(requestId)}`)
  }
  const names: Buffer[] = []
  let pdSize = varUIntSize(protocolData.length)
  for (const p of protocolData) {
    const name = protocolNameBytes(p.protocolName)
    names.push(name)
    pdSize += lengthPrefixSize(name.length) + name.length + 1 + lengthPrefixSize(p.data.length) + p.data.length
  }
  let head: Buffer = EMPTY
  let amount = 0n
  let contentsSize = pdSize
  switch (type) {
    case TYPE_RESPONSE:
    case TYPE_MESSAGE:
      break
    case TYPE_TRANSFER:
      amount = parseUint64(frame.amount)
      contentsSize += 8
      break
    case TYPE_ERROR:
      head = errorHead(frame.error)
      contentsSize += head.length
      break
    default:
      throw new RangeError(`unknown BTP packet type ${String(type)}`)
  }
  const buf = Buffer.allocUnsafe(5 + lengthPrefixSize(contentsSize) + contentsSize)
  buf[0] = type
  buf.writeUInt32BE(requestId, 1)
  let offset = writeLengthPrefix(buf, 5, contentsSize)
  if (type === TYPE_TRANSFER) {
    buf.writeBigUInt64BE(amount, offset)
    offset += 8
  } else if (head.length > 0) {
    offset += head.copy(buf, offset)
  }
  offset = writeVarUInt(buf, offset, protocolData.length)
  for (let i = 0; i < protocolData.length; i++) {
    const p = protocolData[i]!
    const name = names[i]!
    offset = writeLengthPrefix(buf, offset, name.length)
    offset += name.copy(buf, offset)
    buf[offset++] = p.contentType
    offset = writeLengthPrefix(buf, offset, p.data.length)
    offset += p.data.copy(buf, offset)
  }
  return buf
}

/**
 * A MESSAGE or RESPONSE whose only protocol data is `ilp` (application/octet-stream) carrying `packet`: the
 * frame of every ILP packet and reply. Written straight into one Buffer.
 */
export function encodeIlp (type: number, requestId: number, packet: Buffer): Buffer {
  const n = packet.length
  // count (2) + name (1 + 3) + contentType (1) + data prefix + data
  const contentsSize = 7 + lengthPrefixSize(n) + n
  const buf = Buffer.allocUnsafe(5 + lengthPrefixSize(contentsSize) + contentsSize)
  buf[0] = type
  buf.writeUInt32BE(requestId, 1)
  let offset = writeLengthPrefix(buf, 5, contentsSize)
  buf[offset] = 1 // the count takes one byte...
  buf[offset + 1] = 1 // ...and is 1
  buf[offset + 2] = 3
  buf[offset + 3] = 0x69 // i
  buf[offset + 4] = 0x6c // l
  buf[offset + 5] = 0x70 // p
  buf[offset + 6] = MIME_APPLICATION_OCTET_STREAM
  offset = writeLengthPrefix(buf, offset + 7, n)
  packet.copy(buf, offset)
  return buf
}

/** A frame with no protocol data (a RESPONSE to an auth or TRANSFER message, for instance). */
export function encodeEmpty (type: number, requestId: number): Buffer {
  const buf = Buffer.allocUnsafe(8)
  buf[0] = type
  buf.writeUInt32BE(requestId, 1)
  buf[5] = 2
  buf[6] = 1
  buf[7] = 0
  return buf
}

/** An ERROR frame without protocol data. */
export function encodeError (requestId: number, error: BtpErrorFields): Buffer {
  return encode({ type: TYPE_ERROR, requestId, protocolData: [], error })
}

function errorHead (error: BtpErrorFields | undefined): Buffer {
  if (error === undefined) throw new TypeError('an ERROR frame needs error fields')
  if (error.code.length !== 3) throw new RangeError(`error code must be 3 characters, got: "${error.code}"`)
  const name = Buffer.from(error.name, 'ascii')
  const time = Buffer.from(generalizedTime(error.triggeredAt), 'ascii')
  const data = Buffer.from(error.data, 'utf8')
  const buf = Buffer.allocUnsafe(3 + lengthPrefixSize(name.length) + name.length + lengthPrefixSize(time.length) +
    time.length + lengthPrefixSize(data.length) + data.length)
  let offset = buf.write(error.code, 0, 3, 'ascii')
  for (const field of [name, time, data]) {
    offset = writeLengthPrefix(buf, offset, field.length)
    offset += field.copy(buf, offset)
  }
  return buf
}

function parseUint64 (amount: string | undefined): bigint {
  if (typeof amount !== 'string' || !/^[0-9]{1,20}$/.test(amount)) {
    throw new RangeError(`amount must be a uint64 as a decimal string, got ${String(amount)}`)
  }
  const value = BigInt(amount)
  if (value > MAX_UINT64) throw new RangeError(`amount must be a uint64 as a decimal string, got ${amount}`)
  return value
}

function pad (n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** `YYYYMMDDHHMMSS.mmmZ` in UTC, as btp-packet writes it (dateformat "UTC:yyyymmddHHMMss.l'Z'"). */
export function generalizedTime (date: Date): string {
  return pad(date.getUTCFullYear(), 4) + pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) + pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + '.' +
    pad(date.getUTCMilliseconds(), 3) + 'Z'
}

// ---- decoding -------------------------------------------------------------------------------------

const GENERALIZED_TIME = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2}\.[0-9]{3}Z)$/

/**
 * A generalized time `YYYYMMDDHHMMSS.mmmZ` as a Date; an Invalid Date (as btp-packet gives, not an error) for
 * anything else, including times with no such instant (31 February) that Date's parser would roll over or guess.
 */
function readGeneralizedTime (time: string): Date {
  if (!GENERALIZED_TIME.test(time)) return new Date(NaN)
  const date = new Date(time.replace(GENERALIZED_TIME, '$1-$2-$3T$4:$5:$6'))
  return Number.isNaN(date.getTime()) || generalizedTime(date) !== time ? new Date(NaN) : date
}

/** The length the last readVarOctets call read (a module variable, so readers return only an offset). */
let lengthRead = 0

/** The bytes `start` to `end` as an ASCII string; a BtpFormatError naming `what` if any byte is 0x80 or more. */
function readAscii (buf: Buffer, start: number, end: number, what: string): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) throw new BtpFormatError(`${what} is not ASCII (byte 0x${buf[i]!.toString(16)})`)
  }
  return buf.toString('latin1', start, end)
}

/** Reads a var-octet-string's canonical length (to `lengthRead`), checks its bytes are there; returns the offset of its first byte. */
function readVarOctets (buf: Buffer, offset: number, end: number): number {
  const length = readLengthPrefix(buf, offset, end)
  if (length < 0) {
    if (length === OER_NON_CANONICAL) {
      throw new BtpFormatError(`length prefix encoding is not canonical (0x${buf.toString('hex', offset, Math.min(end, offset + 5))})`)
    }
    if (length === OER_INVALID) throw new BtpFormatError(`unsupported length prefix 0x${buf[offset]!.toString(16)}`)
    throw new BtpFormatError(offset >= end ? 'truncated BTP packet: length prefix missing' : 'truncated BTP packet: length prefix cut short')
  }
  const start = offset + lengthPrefixSize(length)
  if (start + length > end) {
    throw new BtpFormatError(`truncated BTP packet: ${length} bytes announced, ${end - start} left`)
  }
  lengthRead = length
  return start
}

function readProtocolData (buf: Buffer, offset: number, end: number): ProtocolData[] {
  const count = readVarUInt(buf, offset, end)
  if (count === OER_INVALID) throw new BtpFormatError(`invalid protocol data count length ${buf[offset]!}`)
  if (count < 0) {
    throw new BtpFormatError(offset >= end ? 'truncated BTP packet: protocol data count missing' : 'truncated BTP packet: protocol data count cut short')
  }
  offset += 1 + buf[offset]!
  // every entry takes at least 3 bytes (two empty var-octet strings and the content type)
  if (count * 3 > end - offset) throw new BtpFormatError(`protocol data count ${count} exceeds the packet`)
  const protocolData: ProtocolData[] = new Array(count)
  for (let i = 0; i < count; i++) {
    let start = readVarOctets(buf, offset, end)
    const nameLength = lengthRead
    const protocolName = nameLength === 3 && buf[start] === 0x69 && buf[start + 1] === 0x6c && buf[start + 2] === 0x70
      ? 'ilp'
      : readAscii(buf, start, start + nameLength, 'protocol name')
    offset = start + nameLength
    if (offset >= end) throw new BtpFormatError('truncated BTP packet: content type missing')
    const contentType = buf[offset]!
    start = readVarOctets(buf, offset + 1, end)
    offset = start + lengthRead
    protocolData[i] = { protocolName, contentType, data: buf.subarray(start, offset) }
  }
  if (offset !== end) throw new BtpFormatError(`${end - offset} unexpected bytes after the protocol data`)
  return protocolData
}

/**
 * Decodes one frame. Protocol data buffers are views into `buf`, not copies. Throws a BtpFormatError if the
 * bytes are not exactly one well-formed frame of a known type.
 */
export function decode (buf: Buffer): BtpFrame {
  if (buf.length < 6) throw new BtpFormatError(`BTP packet too short (${buf.length} bytes)`)
  const type = buf[0]!
  if (type !== TYPE_MESSAGE && type !== TYPE_RESPONSE && type !== TYPE_ERROR && type !== TYPE_TRANSFER) {
    throw new BtpFormatError(`unknown BTP packet type ${type}`)
  }
  const requestId = buf.readUInt32BE(1)
  const end = buf.length
  let offset = readVarOctets(buf, 5, end)
  if (offset + lengthRead !== end) {
    throw new BtpFormatError(`BTP packet contents are ${lengthRead} bytes, but ${end - offset} follow`)
  }
  let amount = ''
  let error: BtpErrorFields | undefined
  if (type === TYPE_TRANSFER) {
    if (offset + 8 > end) throw new BtpFormatError('truncated BTP packet: amount cut short')
    amount = buf.readBigUInt64BE(offset).toString()
    offset += 8
  } else if (type === TYPE_ERROR) {
    if (offset + 3 > end) throw new BtpFormatError('truncated BTP packet: error code cut short')
    const code = readAscii(buf, offset, offset + 3, 'error code')
    let start = readVarOctets(buf, offset + 3, end)
    const name = readAscii(buf, start, start + lengthRead, 'error name')
    start = readVarOctets(buf, start + lengthRead, end)
    const time = buf.toString('latin1', start, start + lengthRead) // a byte of 0x80 or more fails the pattern
    start = readVarOctets(buf, start + lengthRead, end)
    const data = buf.toString('utf8', start, start + lengthRead)
    offset = start + lengthRead
    error = { code, name, triggeredAt: readGeneralizedTime(time), data }
  }
  return { type, requestId, protocolData: readProtocolData(buf, offset, end), amount, error }
}

/** The data of the first `ilp` protocol data entry, or undefined. */
export function ilpOf (frame: BtpFrame): Buffer | undefined {
  const pd = frame.protocolData
  for (let i = 0; i < pd.length; i++) {
    if (pd[i]!.protocolName === 'ilp') return pd[i]!.data
  }
  return undefined
}

/**
 * The request id of bytes that failed to decode, when there are at least five of them and the type is one a
 * peer waits for a reply to (MESSAGE, TRANSFER); else undefined.
 */
export function requestIdOfMalformed (buf: Buffer): number | undefined {
  if (buf.length < 5 || (buf[0] !== TYPE_MESSAGE && buf[0] !== TYPE_TRANSFER)) return undefined
  return buf.readUInt32BE(1)
}
