/**
 * ILPv4 packets as the packet path sees them (RFC 27): the shapes only. A Prepare is parsed once when it
 * arrives; replies travel as the bytes the next hop sent. Encoding and decoding live in `@conn/codec`.
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
