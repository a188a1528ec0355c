/**
 * ILPv4 packets (RFC 27): Prepare, Fulfill and Reject, and the fast paths of the packet path.
 *
 * Decoding is strict where ilp-packet is lenient: trailing bytes, data over 32767 bytes, non-canonical length
 * prefixes, impossible timestamps and invalid addresses are all refused with an IlpCodecError (F01), so the
 * switch never forwards a packet it could not have produced itself. Encoders refuse (RangeError) what the
 * decoders would refuse, so whatever they write reads back.
 *
 * The fast paths (patchPrepare, envelopeContentsOffset, fulfillmentOf, rejectCodeOf) read from the bytes alone
 * and assume the envelope was checked (parsePrepare for a Prepare, isWellFormedReply for a reply).
 */
import { PacketType, type IlpFulfillFields, type IlpPrepare, type IlpRejectFields } from '@conn/types'
import { isValidIlpAddress, readAddress } from './address.ts'
import { IlpCodecError } from './errors.ts'
import {
  MAX_UINT64, OER_INVALID, OER_TRUNCATED, lengthPrefixSize, readLengthPrefix, varOctetsSize, writeLengthPrefix,
  writeVarOctets
} from './oer.ts'
import { readInterledgerTime, writeInterledgerTime } from './time.ts'

/** The most data a Prepare, Fulfill or Reject may carry (RFC 27). */
export const MAX_DATA_LENGTH = 32767
const FULFILLMENT_LENGTH = 32
const CODE_LENGTH = 3
/** amount (8), expiresAt (17), executionCondition (32): the fixed fields before a Prepare's destination. */
const PREPARE_FIXED_LENGTH = 57
const EXPIRES_AT = 8
const CONDITION = 25
/** An ILP packet is far below 16 MiB: a length prefix of more than three length bytes is invalid. */
const MAX_LENGTH_BYTES = 3

function truncated (): IlpCodecError {
  return new IlpCodecError('packet is truncated.')
}

/** The length prefix at `offset`, or an IlpCodecError saying what is wrong with it. */
function lengthAt (raw: Buffer, offset: number): number {
  const length = readLengthPrefix(raw, offset, raw.length, MAX_LENGTH_BYTES)
  if (length >= 0) return length
  throw length === OER_TRUNCATED
    ? truncated()
    : new IlpCodecError(length === OER_INVALID ? 'packet has an invalid length prefix.' : 'packet has a non-canonical length prefix.')
}

/** Checks the type byte and that the envelope's length is exactly the bytes that follow; returns where the contents start. */
function contentsOf (raw: Buffer, type: number): number {
  if (raw[0] !== type) throw new IlpCodecError('invalid packet type received. type=' + String(raw[0]))
  const length = lengthAt(raw, 1)
  const start = 1 + lengthPrefixSize(length)
  if (start + length !== raw.length) {
    throw start + length > raw.length ? truncated() : new IlpCodecError('packet has trailing bytes after its envelope.')
  }
  return start
}

/** Checks the data field at `offset`, the last field of every packet; returns where the data starts (it ends at raw.length). */
function dataAt (raw: Buffer, offset: number): number {
  const length = lengthAt(raw, offset)
  if (length > MAX_DATA_LENGTH) {
    throw new IlpCodecError('packet data is too long. length=' + length + ' maximum=' + MAX_DATA_LENGTH)
  }
  const start = offset + lengthPrefixSize(length)
  if (start + length !== raw.length) {
    throw start + length > raw.length ? truncated() : new IlpCodecError('packet has trailing bytes after its data.')
  }
  return start
}

// What readHead read besides its return value (module variables: no tuple per packet).
let headExpiresAt = 0
let headDestination = ''

/** Checks a Prepare up to its destination (type, envelope, expiry, address); returns the offset after the destination. */
function readHead (raw: Buffer): number {
  const start = contentsOf(raw, PacketType.Prepare)
  const fixedEnd = start + PREPARE_FIXED_LENGTH
  if (fixedEnd > raw.length) throw truncated()
  const expiresAt = readInterledgerTime(raw, start + EXPIRES_AT)
  if (Number.isNaN(expiresAt)) throw new IlpCodecError('packet has an invalid expiry.')
  const length = lengthAt(raw, fixedEnd)
  const destinationStart = fixedEnd + lengthPrefixSize(length)
  const destinationEnd = destinationStart + length
  if (destinationEnd > raw.length) throw truncated()
  const destination = readAddress(raw, destinationStart, destinationEnd)
  if (destination === undefined) throw new IlpCodecError('packet has an invalid destination address.')
  headExpiresAt = expiresAt
  headDestination = destination
  return destinationEnd
}

/**
 * Parses a serialized Prepare. Throws an IlpCodecError (F01) naming what is wrong. The returned Prepare keeps
 * `raw` and views into it (condition, data), not copies.
 */
export function parsePrepare (raw: Buffer): IlpPrepare {
  const dataStart = dataAt(raw, readHead(raw))
  const start = envelopeContentsOffset(raw)
  return {
    amount: raw.readBigUInt64BE(start),
    expiresAt: headExpiresAt,
    executionCondition: raw.subarray(start + CONDITION, start + PREPARE_FIXED_LENGTH),
    destination: headDestination,
    data: raw.subarray(dataStart),
    raw
  }
}

/** The fields of a Prepare that routing and time-outs need. */
export interface PrepareHead {
  destination: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  /** A view into the packet. */
  executionCondition: Buffer
}

/**
 * Destination, expiry and condition of a Prepare, checked as parsePrepare checks them; amount and data are
 * neither read nor checked. Throws an IlpCodecError.
 */
export function readPrepareHead (raw: Buffer): PrepareHead {
  readHead(raw)
  const start = envelopeContentsOffset(raw)
  return {
    destination: headDestination,
    expiresAt: headExpiresAt,
    executionCondition: raw.subarray(start + CONDITION, start + PREPARE_FIXED_LENGTH)
  }
}

/** Serializes a Prepare: its received bytes when it has them, else the whole packet. */
export function serializePrepare (prepare: IlpPrepare): Buffer {
  if (prepare.raw !== undefined) return prepare.raw
  const { amount, expiresAt, executionCondition, destination, data } = prepare
  if (amount < 0n || amount > MAX_UINT64) throw new RangeError('amount is not a UInt64')
  if (executionCondition.length !== 32) throw new RangeError('executionCondition must be 32 bytes')
  if (!isValidIlpAddress(destination)) throw new RangeError('destination is not a valid ILP address')
  if (data.length > MAX_DATA_LENGTH) throw new RangeError('data is longer than ' + MAX_DATA_LENGTH + ' bytes')
  const length = PREPARE_FIXED_LENGTH + varOctetsSize(destination.length) + varOctetsSize(data.length)
  const buf = Buffer.allocUnsafe(1 + varOctetsSize(length))
  buf[0] = PacketType.Prepare
  const start = writeLengthPrefix(buf, 1, length)
  buf.writeBigUInt64BE(amount, start)
  writeInterledgerTime(buf, start + EXPIRES_AT, expiresAt)
  buf.set(executionCondition, start + CONDITION)
  let offset = writeLengthPrefix(buf, start + PREPARE_FIXED_LENGTH, destination.length)
  offset += buf.write(destination, offset, 'latin1')
  writeVarOctets(buf, offset, data)
  return buf
}

/**
 * A copy of a serialized (and parsed) Prepare with a new amount and expiry; every other byte is the received
 * one. RangeError for an amount outside UInt64 or a time without an Interledger time form.
 */
export function patchPrepare (raw: Buffer, amount: bigint, expiresAt: number): Buffer {
  const copy = Buffer.allocUnsafe(raw.length)
  raw.copy(copy)
  const offset = envelopeContentsOffset(copy) // the amount is the first field
  copy.writeBigUInt64BE(amount, offset)
  writeInterledgerTime(copy, offset + EXPIRES_AT, expiresAt)
  return copy
}

/** Parses a serialized Fulfill; the fulfillment and data are views. Throws an IlpCodecError (F01). */
export function parseFulfill (raw: Buffer): IlpFulfillFields {
  const start = contentsOf(raw, PacketType.Fulfill)
  const end = start + FULFILLMENT_LENGTH
  if (end > raw.length) throw truncated()
  const dataStart = dataAt(raw, end)
  return { fulfillment: raw.subarray(start, end), data: raw.subarray(dataStart) }
}

/** Serializes a Fulfill. RangeError unless the fulfillment is 32 bytes and the data at most 32767. */
export function serializeFulfill (fulfill: IlpFulfillFields): Buffer {
  const { fulfillment, data } = fulfill
  if (fulfillment.length !== FULFILLMENT_LENGTH) throw new RangeError('fulfillment must be 32 bytes')
  if (data.length > MAX_DATA_LENGTH) throw new RangeError('data is longer than ' + MAX_DATA_LENGTH + ' bytes')
  const length = FULFILLMENT_LENGTH + varOctetsSize(data.length)
  const buf = Buffer.allocUnsafe(1 + varOctetsSize(length))
  buf[0] = PacketType.Fulfill
  const start = writeLengthPrefix(buf, 1, length)
  buf.set(fulfillment, start)
  writeVarOctets(buf, start + FULFILLMENT_LENGTH, data)
  return buf
}

/**
 * Parses a serialized Reject; `data` is a view. The code must be three ASCII bytes, `triggeredBy` empty or an
 * ILP address (read as a destination is); the message is UTF-8. Throws an IlpCodecError (F01).
 */
export function parseReject (raw: Buffer): IlpRejectFields {
  const start = contentsOf(raw, PacketType.Reject)
  const codeEnd = start + CODE_LENGTH
  if (codeEnd > raw.length) throw truncated()
  if ((raw[start]! | raw[start + 1]! | raw[start + 2]!) >= 0x80) throw new IlpCodecError('packet has an invalid error code.')
  const triggeredByLength = lengthAt(raw, codeEnd)
  const triggeredByStart = codeEnd + lengthPrefixSize(triggeredByLength)
  const triggeredByEnd = triggeredByStart + triggeredByLength
  if (triggeredByEnd > raw.length) throw truncated()
  const triggeredBy = triggeredByLength === 0 ? '' : readAddress(raw, triggeredByStart, triggeredByEnd)
  if (triggeredBy === undefined) throw new IlpCodecError('packet has an invalid triggeredBy address.')
  const messageLength = lengthAt(raw, triggeredByEnd)
  const messageStart = triggeredByEnd + lengthPrefixSize(messageLength)
  const messageEnd = messageStart + messageLength
  if (messageEnd > raw.length) throw truncated()
  const dataStart = dataAt(raw, messageEnd)
  return {
    code: raw.toString('latin1', start, codeEnd),
    triggeredBy,
    message: raw.toString('utf8', messageStart, messageEnd),
    data: raw.subarray(dataStart)
  }
}

/**
 * Serializes a Reject. RangeError unless the code is three ASCII characters and the data at most 32767 bytes.
 * The message is written as UTF-8; `triggeredBy` as given, one byte per character (as ilp-packet writes it): a
 * connector that has not learned its address yet answers from `unknown`, as the reference does, and the error
 * handler must never fail to write a Reject. (parseReject, like ilp-packet, refuses one that is not an address.)
 */
export function serializeReject (reject: IlpRejectFields): Buffer {
  const { code, triggeredBy, message, data } = reject
  if (code.length !== CODE_LENGTH || !/^[\x00-\x7f]{3}$/.test(code)) throw new RangeError('code must be three ASCII characters')
  if (data.length > MAX_DATA_LENGTH) throw new RangeError('data is longer than ' + MAX_DATA_LENGTH + ' bytes')
  const messageLength = Buffer.byteLength(message, 'utf8')
  const length = CODE_LENGTH + varOctetsSize(triggeredBy.length) + varOctetsSize(messageLength) + varOctetsSize(data.length)
  const buf = Buffer.allocUnsafe(1 + varOctetsSize(length))
  buf[0] = PacketType.Reject
  let offset = writeLengthPrefix(buf, 1, length)
  offset += buf.write(code, offset, 'latin1')
  offset = writeLengthPrefix(buf, offset, triggeredBy.length)
  offset += buf.write(triggeredBy, offset, 'latin1')
  offset = writeLengthPrefix(buf, offset, messageLength)
  offset += buf.write(message, offset, 'utf8')
  writeVarOctets(buf, offset, data)
  return buf
}

/** True if the reply is a Fulfill (its type byte; nothing else is read). */
export function isFulfill (reply: Buffer): boolean {
  return reply[0] === PacketType.Fulfill
}

/** True if the reply is a Reject (its type byte; nothing else is read). */
export function isReject (reply: Buffer): boolean {
  return reply[0] === PacketType.Reject
}

/**
 * A reply we can pass upstream: a Buffer holding a Fulfill or Reject whose canonical envelope length matches
 * its bytes. The contents are not parsed.
 */
export function isWellFormedReply (reply: unknown): reply is Buffer {
  if (!Buffer.isBuffer(reply) || (reply[0] !== PacketType.Fulfill && reply[0] !== PacketType.Reject)) return false
  const length = readLengthPrefix(reply, 1, reply.length, MAX_LENGTH_BYTES)
  return length >= 0 && 1 + lengthPrefixSize(length) + length === reply.length
}

/**
 * A reply that is wholly valid: well-formed (isWellFormedReply) and its contents read as parseFulfill or
 * parseReject read them (a 32-byte fulfillment; a code, an address or nothing as triggeredBy, a message). What
 * a connector may pass upstream as the bytes it received. Never throws.
 */
export function isValidReply (reply: unknown): reply is Buffer {
  if (!isWellFormedReply(reply)) return false
  try {
    if (reply[0] === PacketType.Fulfill) parseFulfill(reply)
    else parseReject(reply)
    return true
  } catch {
    return false
  }
}

/**
 * Offset of an envelope's contents (RFC 30): after the type byte and the OER length prefix. The same for a
 * Prepare, Fulfill or Reject; read from the bytes alone, nothing is checked.
 */
export function envelopeContentsOffset (packet: Buffer): number {
  const first = packet[1] ?? 0
  return first < 0x80 ? 2 : 2 + (first & 0x7f)
}

/** The 32-byte fulfillment of a well-formed Fulfill (a view, not a copy). */
export function fulfillmentOf (fulfill: Buffer): Buffer {
  const start = envelopeContentsOffset(fulfill)
  return fulfill.subarray(start, start + FULFILLMENT_LENGTH)
}

/** The three-character code of a well-formed Reject, without parsing the rest. */
export function rejectCodeOf (reject: Buffer): string {
  const start = envelopeContentsOffset(reject)
  return reject.toString('latin1', start, start + CODE_LENGTH)
}
