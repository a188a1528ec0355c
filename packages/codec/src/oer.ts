/**
 * OER primitives (X.696, as RFC 30 uses them for ILP): length prefixes, variable-length octet strings,
 * variable-length unsigned integers and UInt64.
 *
 * Readers return a number, never a tuple: a length prefix is canonical (checked), so it takes
 * `lengthPrefixSize(length)` bytes and the caller can compute where the contents start. A bad prefix is
 * reported as a negative number (OER_TRUNCATED, OER_INVALID, OER_NON_CANONICAL) rather than thrown, so each
 * framing (ILP here, BTP in @conn/plugin-btp) throws its own typed error with its own words.
 * Fixed-size integers (uint8, uint32) are Buffer's own readUInt8/readUInt32BE after the caller's bounds check.
 */

export const MAX_UINT64 = 0xffffffffffffffffn

/** The prefix or the value runs past `end`. */
export const OER_TRUNCATED = -1
/** A long-form prefix with no length bytes (0x80) or more than the reader allows. */
export const OER_INVALID = -2
/** A length written longer than it needs (OER requires the shortest form; so do oer-utils and ilp-packet). */
export const OER_NON_CANONICAL = -3

/** Largest value readVarUInt reads and writeVarUInt writes: six bytes, exact as a JavaScript number. */
export const MAX_VAR_UINT = 0xffffffffffff

/** Bytes the canonical length prefix of `length` takes. */
export function lengthPrefixSize (length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5
}

/** Writes the canonical length prefix of `length` (0 .. 2^32 - 1) at `offset`; returns the offset after it. */
export function writeLengthPrefix (buf: Uint8Array, offset: number, length: number): number {
  if (length < 0x80 && length >= 0) {
    buf[offset] = length
    return offset + 1
  }
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError(`length must be an integer 0..2^32-1, got ${length}`)
  }
  const bytes = lengthPrefixSize(length) - 1
  buf[offset] = 0x80 | bytes
  for (let i = offset + bytes; i > offset; i--) {
    buf[i] = length & 0xff
    length = Math.floor(length / 256)
  }
  return offset + 1 + bytes
}

/** The canonical length prefix of `length` as a new Buffer. */
export function lengthPrefix (length: number): Buffer {
  const prefix = Buffer.allocUnsafe(lengthPrefixSize(length))
  writeLengthPrefix(prefix, 0, length)
  return prefix
}

/**
 * Reads the length prefix at `offset`, with the bytes before `end` available: the length (the contents start at
 * `offset + lengthPrefixSize(length)`), or OER_TRUNCATED, OER_INVALID (a long form of 0 or more than
 * `maxLengthBytes` bytes) or OER_NON_CANONICAL. Whether the contents fit is the caller's check.
 */
export function readLengthPrefix (buf: Uint8Array, offset: number, end: number, maxLengthBytes = 4): number {
  if (offset >= end) return OER_TRUNCATED
  const first = buf[offset]!
  if (first < 0x80) return first
  const bytes = first & 0x7f
  if (bytes === 0 || bytes > maxLengthBytes) return OER_INVALID
  if (offset + 1 + bytes > end) return OER_TRUNCATED
  let length = 0
  for (let i = offset + 1; i <= offset + bytes; i++) length = length * 256 + buf[i]!
  return lengthPrefixSize(length) === 1 + bytes ? length : OER_NON_CANONICAL
}

/** Bytes a variable-length octet string of `length` bytes takes, prefix included. */
export function varOctetsSize (length: number): number {
  return lengthPrefixSize(length) + length
}

/** Writes `bytes` as a variable-length octet string at `offset`; returns the offset after it. */
export function writeVarOctets (buf: Uint8Array, offset: number, bytes: Uint8Array): number {
  offset = writeLengthPrefix(buf, offset, bytes.length)
  buf.set(bytes, offset)
  return offset + bytes.length
}

/** Bytes a variable-length unsigned integer takes: one length byte, then the value in as few bytes as it needs (at least one). */
export function varUIntSize (value: number): number {
  return value < 0x100 ? 2 : value < 0x10000 ? 3 : value < 0x1000000 ? 4 : value < 0x100000000 ? 5 : value < 0x10000000000 ? 6 : 7
}

/** Writes `value` (0 .. MAX_VAR_UINT) as a variable-length unsigned integer; returns the offset after it. */
export function writeVarUInt (buf: Uint8Array, offset: number, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_VAR_UINT) {
    throw new RangeError(`value must be an integer 0..${MAX_VAR_UINT}, got ${value}`)
  }
  const bytes = varUIntSize(value) - 1
  buf[offset] = bytes
  for (let i = offset + bytes; i > offset; i--) {
    buf[i] = value % 256
    value = Math.floor(value / 256)
  }
  return offset + 1 + bytes
}

/**
 * Reads a variable-length unsigned integer at `offset`: its value, or OER_TRUNCATED, or OER_INVALID (no value
 * bytes, or more than six). It takes `1 + buf[offset]` bytes. Leading zero bytes are accepted, as oer-utils does.
 */
export function readVarUInt (buf: Uint8Array, offset: number, end: number): number {
  if (offset >= end) return OER_TRUNCATED
  const bytes = buf[offset]!
  if (bytes === 0 || bytes > 6) return OER_INVALID
  if (offset + 1 + bytes > end) return OER_TRUNCATED
  let value = 0
  for (let i = offset + 1; i <= offset + bytes; i++) value = value * 256 + buf[i]!
  return value
}

/** Writes a UInt64 (big-endian) at `offset`; returns the offset after it. RangeError outside 0 .. 2^64 - 1. */
export function writeUInt64 (buf: Buffer, offset: number, value: bigint): number {
  if (value < 0n || value > MAX_UINT64) throw new RangeError('amount is not a UInt64')
  buf.writeBigUInt64BE(value, offset)
  return offset + 8
}
