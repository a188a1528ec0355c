/**
 * ILPv4 packets as the packet path sees them (RFC 27). A Prepare is parsed once when it arrives;
 * replies travel as the bytes the next hop sent, read with the small helpers below.
 */

export const PacketType = { Prepare: 12, Fulfill: 13, Reject: 14 } as const

export interface IlpPrepare {
  /** Amount in the account's base units. */
  amount: bigint
  /** Expiry, in milliseconds since the epoch. */
  expiresAt: number
  executionCondition: Buffer
  destination: string
  data: Buffer
  /**
   * The serialized packet as received, when amount and expiry still match it. The switch forwards a copy
   * of these bytes with amount and expiry patched, so data it did not change is never re-encoded.
   */
  raw?: Buffer
}

export interface IlpFulfillFields {
  /** 32 bytes whose SHA-256 is the Prepare's execution condition. */
  fulfillment: Buffer
  data: Buffer
}

export interface IlpRejectFields {
  code: string
  triggeredBy: string
  message: string
  data: Buffer
}

/** True if the reply is a Fulfill. */
export function isFulfill (reply: Buffer): boolean {
  return reply[0] === PacketType.Fulfill
}

/** True if the reply is a Reject. */
export function isReject (reply: Buffer): boolean {
  return reply[0] === PacketType.Reject
}

/**
 * Offset of an envelope's contents (RFC 30): after the type byte and the OER length prefix. The same for
 * a Prepare, Fulfill or Reject; read from the bytes alone, nothing is parsed.
 */
export function envelopeContentsOffset (packet: Buffer): number {
  const first = packet[1] ?? 0
  return first < 0x80 ? 2 : 2 + (first & 0x7f)
}

/** The 32-byte fulfillment of a Fulfill (a view, not a copy). */
export function fulfillmentOf (fulfill: Buffer): Buffer {
  const start = envelopeContentsOffset(fulfill)
  return fulfill.subarray(start, start + 32)
}

function readVarOctets (buf: Buffer, offset: number): [Buffer, number] {
  const first = buf[offset]
  if (first === undefined) throw new RangeError('truncated packet')
  let length = first
  let start = offset + 1
  if (first >= 0x80) {
    const lengthOfLength = first & 0x7f
    length = buf.readUIntBE(offset + 1, lengthOfLength)
    start = offset + 1 + lengthOfLength
  }
  if (start + length > buf.length) throw new RangeError('truncated packet')
  return [buf.subarray(start, start + length), start + length]
}

/** The three-character code of a Reject, without parsing the rest. */
export function rejectCodeOf (reject: Buffer): string {
  const start = envelopeContentsOffset(reject)
  return reject.toString('ascii', start, start + 3)
}

/** All fields of a Reject. Throws a RangeError if the bytes are truncated. */
export function readReject (reject: Buffer): IlpRejectFields {
  let offset = envelopeContentsOffset(reject)
  const code = reject.toString('ascii', offset, offset + 3)
  let field: Buffer
  ;[field, offset] = readVarOctets(reject, offset + 3)
  const triggeredBy = field.toString('ascii')
  ;[field, offset] = readVarOctets(reject, offset)
  const message = field.toString('utf8')
  ;[field] = readVarOctets(reject, offset)
  return { code, triggeredBy, message, data: field }
}

/** OER length prefix of `length` (RFC 30: short form below 128, else long form with 1 to 3 length bytes). */
export function oerLengthPrefix (length: number): Buffer {
  if (length < 0x80) return Buffer.of(length)
  const bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : 3
  const prefix = Buffer.alloc(1 + bytes)
  prefix[0] = 0x80 | bytes
  prefix.writeUIntBE(length, 1, bytes)
  return prefix
}

function envelope (type: number, contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents)
  return Buffer.concat([Buffer.of(type), oerLengthPrefix(body.length), body])
}

function varOctets (bytes: Buffer): Buffer[] {
  return [oerLengthPrefix(bytes.length), bytes]
}

/** Serialize a Reject. The code must be three ASCII characters. */
export function serializeReject (reject: IlpRejectFields): Buffer {
  return envelope(PacketType.Reject, [
    Buffer.from(reject.code.padEnd(3, '0').slice(0, 3), 'ascii'),
    ...varOctets(Buffer.from(reject.triggeredBy, 'ascii')),
    ...varOctets(Buffer.from(reject.message, 'utf8')),
    ...varOctets(reject.data)
  ])
}

/** Serialize a Fulfill. */
export function serializeFulfill (fulfill: { fulfillment: Buffer, data: Buffer }): Buffer {
  if (fulfill.fulfillment.length !== 32) throw new RangeError('fulfillment must be 32 bytes')
  return envelope(PacketType.Fulfill, [fulfill.fulfillment, ...varOctets(fulfill.data)])
}
