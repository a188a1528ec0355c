/**
 * The echo protocol on packets addressed to the connector itself: an echo request names its sender, and
 * the connector sends the same amount and condition back to that address as an echo response, routed like
 * any other packet. Senders use it to test a route through this connector and back (ilp-ping).
 */
import { MAX_ADDRESS_LENGTH, OER_TRUNCATED, lengthPrefixSize, readAddress, readLengthPrefix } from '@conn/codec'
import { InvalidPacketError, type DataHandler, type Logger, type Middleware, type MiddlewareApi, type NextData, type PacketContext } from '@conn/types'

/** The first 16 bytes of every echo packet's data (ASCII). */
export const ECHO_PREFIX = 'ECHOECHOECHOECHO'
/** The type byte after the prefix. */
export const ECHO_REQUEST = 0
export const ECHO_RESPONSE = 1
const PREFIX = Buffer.from(ECHO_PREFIX, 'ascii')
/** The prefix and the type byte. */
const MINIMUM_LENGTH = PREFIX.length + 1
/** The data of every echo response: the prefix and type 1. Shared: nobody writes into it. */
const RESPONSE_DATA = Buffer.concat([PREFIX, Buffer.of(ECHO_RESPONSE)])

export class Echo implements Middleware {
  readonly name = 'echo'
  private readonly logger: Logger

  constructor (private readonly api: Pick<MiddlewareApi, 'logger' | 'getOwnAddress'>) {
    this.logger = api.logger
  }

  // Not async: a packet for anyone else costs no promise of its own here.
  readonly incomingData: DataHandler = (ctx, next) => {
    if (ctx.prepare.destination !== this.api.getOwnAddress()) return next(ctx)
    return this.answer(ctx, next)
  }

  /** An echo packet to our own address: turn a request around, refuse anything else. */
  private async answer (ctx: PacketContext, next: NextData): Promise<Buffer> {
    const prepare = ctx.prepare
    const data = prepare.data
    if (data.length < MINIMUM_LENGTH) {
      throw new InvalidPacketError('packet data too short for echo request. length=' + data.length)
    }
    if (data.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) {
      throw new InvalidPacketError('packet data does not start with ECHO prefix.')
    }
    if (data[PREFIX.length] !== ECHO_REQUEST) {
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ account: ctx.account.id }, 'unexpected echo response addressed to us')
      throw new InvalidPacketError('unexpected ping response.')
    }
    const sourceAddress = readSourceAddress(data, MINIMUM_LENGTH)
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ account: ctx.account.id, sourceAddress, amount: String(prepare.amount) }, 'responding to echo request')
    }
    ctx.prepare = {
      amount: prepare.amount,
      expiresAt: prepare.expiresAt,
      executionCondition: prepare.executionCondition,
      destination: sourceAddress,
      data: RESPONSE_DATA,
      raw: undefined
    }
    return await next(ctx)
  }
}

/** Reads the OER var-octet-string at `offset` as an ILP address; F01 when it is truncated or not an address. */
function readSourceAddress (data: Buffer, offset: number): string {
  if (offset >= data.length) throw new InvalidPacketError('echo request has no source address.')
  // Addresses are at most 1023 bytes: a length needs at most two bytes.
  const length = readLengthPrefix(data, offset, data.length, 2)
  if (length === OER_TRUNCATED) throw new InvalidPacketError('echo request source address is truncated.')
  if (length < 0) throw new InvalidPacketError('echo request has an invalid source address length.')
  const start = offset + lengthPrefixSize(length)
  if (start + length > data.length) throw new InvalidPacketError('echo request source address is truncated.')
  if (length > MAX_ADDRESS_LENGTH) throw new InvalidPacketError('echo request source address is too long. length=' + length)
  const address = readAddress(data, start, start + length)
  if (address === undefined) throw new InvalidPacketError('echo request source address is not a valid ILP address.')
  return address
}
