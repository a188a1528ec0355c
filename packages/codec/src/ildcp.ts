/**
 * IL-DCP (RFC 31): a child asks its parent for its address and asset with a Prepare to `peer.config`; the parent
 * answers with a Fulfill whose data is the address (var-octets, ASCII), the asset scale (uint8) and the asset
 * code (var-octets, UTF-8). The same bytes and the same error messages as ilp-protocol-ildcp 2.2.
 */
import { PacketType, type IlpPrepare } from '@conn/types'
import { isValidIlpAddress, readAddress } from './address.ts'
import { IlpCodecError } from './errors.ts'
import { OER_TRUNCATED, lengthPrefixSize, readLengthPrefix, varOctetsSize, writeVarOctets } from './oer.ts'
import { envelopeContentsOffset, parseFulfill, parsePrepare, parseReject, serializeFulfill, serializePrepare, serializeReject } from './packet.ts'

export const ILDCP_DESTINATION = 'peer.config'
/** SHA-256 of 32 zero bytes: the condition of every peer protocol request (IL-DCP, CCP). */
export const PEER_PROTOCOL_CONDITION: Buffer = Buffer.from('Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU=', 'base64')
/** 32 zero bytes: the fulfillment of every peer protocol response. */
export const PEER_PROTOCOL_FULFILLMENT: Buffer = Buffer.alloc(32)
/** How long an IL-DCP request is valid by default (ms), as in ilp-protocol-ildcp. */
export const ILDCP_EXPIRY = 60_000

const PEER_CONFIG = Buffer.from(ILDCP_DESTINATION, 'latin1')
const EMPTY = Buffer.alloc(0)

export interface IldcpInfo {
  clientAddress: string
  assetScale: number
  assetCode: string
}

export interface IldcpRequest {
  /** Milliseconds since the epoch. */
  expiresAt: number
  data: Buffer
}

/** An IL-DCP request: a Prepare of amount 0 to `peer.config` with the peer protocol condition. */
export function serializeIldcpRequest (request: Partial<IldcpRequest> = {}): Buffer {
  return serializePrepare({
    amount: 0n,
    expiresAt: request.expiresAt ?? Date.now() + ILDCP_EXPIRY,
    executionCondition: PEER_PROTOCOL_CONDITION,
    destination: ILDCP_DESTINATION,
    data: request.data ?? EMPTY
  })
}

/**
 * Reads an IL-DCP request: a well-formed Prepare (or one parsed already) to `peer.config` with the peer protocol
 * condition. Expiry is the server's check (serveIldcp). Throws an IlpCodecError.
 */
export function parseIldcpRequest (request: Buffer | IlpPrepare): IldcpRequest {
  const prepare = Buffer.isBuffer(request) ? parsePrepare(request) : request
  if (prepare.destination !== ILDCP_DESTINATION) throw new IlpCodecError('packet is not an IL-DCP request.')
  if (!PEER_PROTOCOL_CONDITION.equals(prepare.executionCondition)) {
    throw new IlpCodecError('packet does not contain correct condition for a peer protocol request.')
  }
  return { expiresAt: prepare.expiresAt, data: prepare.data }
}

/**
 * True if `packet` is a Prepare whose destination bytes are `peer.config`: a quick look (no string is built,
 * nothing is thrown) for picking IL-DCP requests out of a client's traffic; serveIldcp checks the rest.
 */
export function isIldcpRequest (packet: Buffer): boolean {
  if (packet[0] !== PacketType.Prepare) return false
  const offset = envelopeContentsOffset(packet) + 57
  const end = offset + 1 + PEER_CONFIG.length
  return end <= packet.length && packet[offset] === PEER_CONFIG.length &&
    packet.compare(PEER_CONFIG, 0, PEER_CONFIG.length, offset + 1, end) === 0
}

/** An IL-DCP response: a Fulfill with the peer protocol fulfillment and the info as its data. */
export function serializeIldcpResponse (info: IldcpInfo): Buffer {
  const { clientAddress, assetScale, assetCode } = info
  if (!isValidIlpAddress(clientAddress)) throw new RangeError('clientAddress is not a valid ILP address')
  if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > 255) throw new RangeError('assetScale must be an integer 0..255')
  const code = Buffer.from(assetCode, 'utf8')
  const data = Buffer.allocUnsafe(varOctetsSize(clientAddress.length) + 1 + varOctetsSize(code.length))
  let offset = writeVarOctets(data, 0, Buffer.from(clientAddress, 'latin1'))
  data[offset++] = assetScale
  writeVarOctets(data, offset, code)
  return serializeFulfill({ fulfillment: PEER_PROTOCOL_FULFILLMENT, data })
}

/** The length of the var-octets field at `offset` of an IL-DCP response's data, checked to fit; else an IlpCodecError. */
function fieldLength (data: Buffer, offset: number): number {
  const length = readLengthPrefix(data, offset, data.length)
  if (length === OER_TRUNCATED || (length >= 0 && offset + lengthPrefixSize(length) + length > data.length)) {
    throw new IlpCodecError('IL-DCP response data is truncated.')
  }
  if (length < 0) throw new IlpCodecError('IL-DCP response has an invalid length prefix.')
  return length
}

/**
 * Reads an IL-DCP response (a Fulfill). The Fulfill is checked as strictly as any (parseFulfill); bytes after the
 * asset code in its data are ignored, as ilp-protocol-ildcp ignores them. Throws an IlpCodecError.
 */
export function parseIldcpResponse (response: Buffer): IldcpInfo {
  const { fulfillment, data } = parseFulfill(response)
  if (!PEER_PROTOCOL_FULFILLMENT.equals(fulfillment)) {
    throw new IlpCodecError('IL-DCP response does not contain the expected fulfillment.')
  }
  const addressLength = fieldLength(data, 0)
  const addressStart = lengthPrefixSize(addressLength)
  const scaleAt = addressStart + addressLength
  const clientAddress = readAddress(data, addressStart, scaleAt)
  if (clientAddress === undefined) throw new IlpCodecError('Invalid ILP address')
  if (scaleAt >= data.length) throw new IlpCodecError('IL-DCP response data is truncated.')
  const codeLength = fieldLength(data, scaleAt + 1)
  const codeStart = scaleAt + 1 + lengthPrefixSize(codeLength)
  return { clientAddress, assetScale: data[scaleAt]!, assetCode: data.toString('utf8', codeStart, codeStart + codeLength) }
}

/**
 * What a child makes of its parent's reply, as ilp-protocol-ildcp's `fetch` does: the info from a Fulfill; for a
 * Reject an Error "IL-DCP failed: <its message>"; for anything else an Error. A malformed Fulfill or Reject
 * throws an IlpCodecError.
 */
export function readIldcpReply (reply: Buffer): IldcpInfo {
  if (reply[0] === PacketType.Reject) throw new Error('IL-DCP failed: ' + parseReject(reply).message)
  if (reply[0] !== PacketType.Fulfill) throw new Error('IL-DCP error, unable to retrieve client configuration.')
  return parseIldcpResponse(reply)
}

/** Asks for our address and asset through `sendData` (a plugin's, or the connector's). */
export async function fetchIldcp (sendData: (data: Buffer) => Promise<Buffer>): Promise<IldcpInfo> {
  return readIldcpReply(await sendData(serializeIldcpRequest()))
}

/**
 * A parent's answer to an IL-DCP request, as ilp-protocol-ildcp's `serve` answers: the response with `info`, or
 * an F00 Reject from `serverAddress` saying why (not an IL-DCP request, wrong condition, expired, malformed).
 */
export function serveIldcp (request: Buffer | IlpPrepare, info: IldcpInfo, serverAddress: string, now = Date.now()): Buffer {
  let message: string
  try {
    const { expiresAt } = parseIldcpRequest(request)
    if (now <= expiresAt) return serializeIldcpResponse(info)
    message = 'IL-DCP request packet is expired.'
  } catch (err) {
    message = (err as Error).message
  }
  return serializeReject({ code: 'F00', triggeredBy: serverAddress, message, data: EMPTY })
}
