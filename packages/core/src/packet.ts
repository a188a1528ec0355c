/**
 * Reading and writing ILP Prepares on the hot path (RFC 27). The parser is strict where ilp-packet is
 * lenient: trailing bytes, data over 32767 bytes, impossible timestamps and invalid addresses are all
 * refused, so the switch never forwards a packet it could not have produced itself.
 */
import { InvalidPacketError, PacketType, envelopeContentsOffset, type IlpPrepare } from '@conn/types'
import { isValidIlpAddress, serializeIlpPrepare } from './vendor/ilp-packet.ts'

export const MAX_DATA_LENGTH = 32767
const TIMESTAMP_LENGTH = 17
const CONDITION_LENGTH = 32
const MAX_UINT64 = 0xffffffffffffffffn

/** SHA-256 of 32 zero bytes: the condition of every peer protocol request (ILDCP, CCP). */
export const PEER_PROTOCOL_CONDITION = Buffer.from('Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU=', 'base64')
export const PEER_PROTOCOL_FULFILLMENT = Buffer.alloc(32)

/** Reads an OER length prefix at `offset`: [length, offset of the first byte after the prefix]. */
function readLength (buf: Buffer, offset: number): [number, number] {
  const first = buf[offset]
  if (first === undefined) throw new InvalidPacketError('packet is truncated.')
  if (first < 0x80) return [first, offset + 1]
  const lengthOfLength = first & 0x7f
  if (lengthOfLength === 0 || lengthOfLength > 3 || offset + 1 + lengthOfLength > buf.length) {
    throw new InvalidPacketError('packet has an invalid length prefix.')
  }
  const length = buf.readUIntBE(offset + 1, lengthOfLength)
  // Canonical OER only (as ilp-packet requires): the next hop gets our bytes and must be able to read them.
  if (length < Math.max(0x80, 2 ** (8 * (lengthOfLength - 1)))) {
    throw new InvalidPacketError('packet has a non-canonical length prefix.')
  }
  return [length, offset + 1 + lengthOfLength]
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function digits (buf: Buffer, start: number, count: number): number {
  let value = 0
  for (let i = start; i < start + count; i++) {
    const c = buf[i]! - 48
    if (c < 0 || c > 9) return -1
    value = value * 10 + c
  }
  return value
}

/** Parses the 17-digit UTC timestamp YYYYMMDDHHmmssSSS into epoch milliseconds, or NaN if invalid. */
export function readInterledgerTime (buf: Buffer, offset: number): number {
  const year = digits(buf, offset, 4)
  const month = digits(buf, offset + 4, 2)
  const day = digits(buf, offset + 6, 2)
  const hour = digits(buf, offset + 8, 2)
  const minute = digits(buf, offset + 10, 2)
  const second = digits(buf, offset + 12, 2)
  const ms = digits(buf, offset + 14, 3)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) {
    return NaN
  }
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms)
  // Date.UTC rolls 29 February over into March in common years; that is not a real timestamp.
  return new Date(time).getUTCDate() === day ? time : NaN
}

function writeDigits (buf: Buffer, offset: number, value: number, width: number): void {
  for (let i = offset + width - 1; i >= offset; i--) {
    buf[i] = 48 + (value % 10)
    value = Math.floor(value / 10)
  }
}

/** Writes epoch milliseconds as the 17-digit timestamp at `offset`. */
export function writeInterledgerTime (buf: Buffer, offset: number, time: number): void {
  const date = new Date(time)
  writeDigits(buf, offset, date.getUTCFullYear(), 4)
  writeDigits(buf, offset + 4, date.getUTCMonth() + 1, 2)
  writeDigits(buf, offset + 6, date.getUTCDate(), 2)
  writeDigits(buf, offset + 8, date.getUTCHours(), 2)
  writeDigits(buf, offset + 10, date.getUTCMinutes(), 2)
  writeDigits(buf, offset + 12, date.getUTCSeconds(), 2)
  writeDigits(buf, offset + 14, date.getUTCMilliseconds(), 3)
}

/**
 * Parses a serialized Prepare. Throws InvalidPacketError (F01) naming what is wrong.
 * The returned Prepare keeps `raw` and views into it (condition, data), not copies.
 */
export function parsePrepare (raw: Buffer): IlpPrepare {
  if (raw[0] !== PacketType.Prepare) {
    throw new InvalidPacketError('invalid packet type received. type=' + String(raw[0]))
  }
  const [length, start] = readLength(raw, 1)
  if (start + length !== raw.length) {
    throw new InvalidPacketError(start + length > raw.length
      ? 'packet is truncated.'
      : 'packet has trailing bytes after its envelope.')
  }
  const fixed = start + 8 + TIMESTAMP_LENGTH + CONDITION_LENGTH
  if (fixed > raw.length) throw new InvalidPacketError('packet is truncated.')
  const amount = raw.readBigUInt64BE(start)
  const expiresAt = readInterledgerTime(raw, start + 8)
  if (Number.isNaN(expiresAt)) throw new InvalidPacketError('packet has an invalid expiry.')
  const executionCondition = raw.subarray(start + 8 + TIMESTAMP_LENGTH, fixed)

  const [destinationLength, destinationStart] = readLength(raw, fixed)
  const destinationEnd = destinationStart + destinationLength
  if (destinationEnd > raw.length) throw new InvalidPacketError('packet is truncated.')
  // latin1 keeps every byte as is ('ascii' would clear the high bit and turn 0xe9 into a valid 'i')
  const destination = raw.toString('latin1', destinationStart, destinationEnd)
  if (!isValidIlpAddress(destination)) {
    throw new InvalidPacketError('packet has an invalid destination address.')
  }

  const [dataLength, dataStart] = readLength(raw, destinationEnd)
  if (dataLength > MAX_DATA_LENGTH) {
    throw new InvalidPacketError('packet data is too long. length=' + dataLength + ' maximum=' + MAX_DATA_LENGTH)
  }
  if (dataStart + dataLength !== raw.length) {
    throw new InvalidPacketError(dataStart + dataLength > raw.length
      ? 'packet is truncated.'
      : 'packet has trailing bytes after its data.')
  }
  const data = raw.subarray(dataStart, dataStart + dataLength)
  return { amount, expiresAt, executionCondition, destination, data, raw }
}

/** A reply we can pass upstream: a Fulfill or Reject whose (canonical) envelope length matches its bytes. */
export function isWellFormedReply (reply: unknown): reply is Buffer {
  if (!Buffer.isBuffer(reply) || (reply[0] !== PacketType.Fulfill && reply[0] !== PacketType.Reject)) return false
  try {
    const [length, start] = readLength(reply, 1)
    return start + length === reply.length
  } catch {
    return false
  }
}

/** A copy of a serialized Prepare with a new amount and expiry; everything else stays the received bytes. */
export function patchPrepare (raw: Buffer, amount: bigint, expiresAt: number): Buffer {
  const copy = Buffer.allocUnsafe(raw.length)
  raw.copy(copy)
  const offset = envelopeContentsOffset(copy) // the amount is the first field
  copy.writeBigUInt64BE(amount, offset)
  writeInterledgerTime(copy, offset + 8, expiresAt)
  return copy
}

/** Serializes a Prepare: patches its received bytes when it has them, else encodes it in full. */
export function serializePrepare (prepare: IlpPrepare): Buffer {
  if (prepare.raw !== undefined) return prepare.raw
  if (prepare.amount < 0n || prepare.amount > MAX_UINT64) throw new RangeError('amount is not a UInt64')
  return serializeIlpPrepare({
    amount: prepare.amount.toString(),
    expiresAt: new Date(prepare.expiresAt),
    executionCondition: prepare.executionCondition,
    destination: prepare.destination,
    data: prepare.data
  })
}

export { MAX_UINT64 }
