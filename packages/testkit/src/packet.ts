/**
 * Packets for tests: a PacketContext with a Prepare, and Fulfills and Rejects serialized with the helpers of
 * @conn/codec, as the next hop's bytes would arrive. Conditions made here (and the default one) remember their
 * fulfillment, so `fulfillFor(prepare)` can answer a Prepare with the Fulfill that matches it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { serializePrepare as encodePrepare, serializeFulfill, serializeReject } from '@conn/codec'
import type { Account, IlpPrepare, PacketContext } from '@conn/types'
import { fakeAccount } from './account.ts'

/** Fulfillments by the hex of their condition. */
const fulfillments = new Map<string, Buffer>()

function remember (fulfillment: Buffer): Buffer {
  const condition = createHash('sha256').update(fulfillment).digest()
  fulfillments.set(condition.toString('hex'), fulfillment)
  return condition
}

/** The fulfillment of the default condition of `packetContext()`. */
export const DEFAULT_FULFILLMENT: Buffer = Buffer.alloc(32, 0xf1)
/** SHA-256 of DEFAULT_FULFILLMENT. */
export const DEFAULT_CONDITION: Buffer = remember(DEFAULT_FULFILLMENT)

/** A random 32-byte fulfillment and its condition (SHA-256), remembered for `fulfillFor`. */
export function condition (): { fulfillment: Buffer, condition: Buffer } {
  const fulfillment = randomBytes(32)
  return { fulfillment, condition: remember(fulfillment) }
}

export interface PacketContextOptions extends Partial<IlpPrepare> {
  /** Default `fakeAccount()` (alice). */
  account?: Account
  /** outgoingData: the context of the incoming packet (default undefined). */
  incoming?: PacketContext
}

/**
 * A PacketContext. The Prepare: amount 100, expiry 30 s after `Date.now()` at the call (fake timers apply),
 * DEFAULT_CONDITION, destination `test.bob`, empty data, no raw bytes; each field can be given.
 */
export function packetContext (options: PacketContextOptions = {}): PacketContext {
  const { account = fakeAccount(), incoming, ...fields } = options
  const prepare: IlpPrepare = {
    amount: fields.amount ?? 100n,
    expiresAt: fields.expiresAt ?? Date.now() + 30_000,
    executionCondition: fields.executionCondition ?? DEFAULT_CONDITION,
    destination: fields.destination ?? 'test.bob',
    data: fields.data ?? Buffer.alloc(0)
  }
  if (fields.raw !== undefined) prepare.raw = fields.raw
  return { account, prepare, incoming }
}

/** A serialized Fulfill (default fulfillment: 32 zero bytes; default data: empty). */
export function fulfill (fulfillment: Buffer = Buffer.alloc(32), data: Buffer = Buffer.alloc(0)): Buffer {
  return serializeFulfill({ fulfillment, data })
}

/**
 * The serialized Fulfill that matches the Prepare's condition. The condition must be DEFAULT_CONDITION or
 * one made by `condition()`: a fulfillment cannot be found from its hash.
 */
export function fulfillFor (prepare: Pick<IlpPrepare, 'executionCondition'>, data: Buffer = Buffer.alloc(0)): Buffer {
  const fulfillment = fulfillments.get(prepare.executionCondition.toString('hex'))
  if (fulfillment === undefined) {
    throw new Error('fulfillFor: this condition was not made by @conn/testkit (use condition() or the default one)')
  }
  return serializeFulfill({ fulfillment, data })
}

export interface RejectOptions {
  /** Default `F99`. */
  code?: string
  /** Default `test.bob`. */
  triggeredBy?: string
  /** Default empty. */
  message?: string
  /** Default empty. */
  data?: Buffer
}

/** A serialized Reject, as a next hop would answer. */
export function reject (options: RejectOptions = {}): Buffer {
  return serializeReject({
    code: options.code ?? 'F99',
    triggeredBy: options.triggeredBy ?? 'test.bob',
    message: options.message ?? '',
    data: options.data ?? Buffer.alloc(0)
  })
}

/**
 * A serialized ILP Prepare (RFC 27), for the plugin suite to send: amount (default 100), expiry (default 30 s
 * from now), condition (default DEFAULT_CONDITION), destination (default `test.bob`), data (default empty).
 */
export function serializePrepare (fields: Partial<Omit<IlpPrepare, 'raw'>> = {}): Buffer {
  return encodePrepare({
    amount: fields.amount ?? 100n,
    expiresAt: fields.expiresAt ?? Date.now() + 30_000,
    executionCondition: fields.executionCondition ?? DEFAULT_CONDITION,
    destination: fields.destination ?? 'test.bob',
    data: fields.data ?? Buffer.alloc(0)
  })
}
