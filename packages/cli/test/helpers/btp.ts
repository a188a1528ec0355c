/**
 * Real ilp-plugin-btp pairs on loopback for in-process connector tests (adapted from core's helper): the
 * connector's side listens, the client side connects like any BTP client would, retrying quickly while the
 * connector is still starting.
 */
import { createHash, randomBytes } from 'node:crypto'
import { freePort } from '@conn/testkit'
import BtpPluginModule from 'ilp-plugin-btp'
import IlpPacket from 'ilp-packet'

export const BtpPlugin = BtpPluginModule.default
export type BtpPluginInstance = InstanceType<typeof BtpPlugin>

/** A free TCP port on 127.0.0.1. */
export { freePort }

/** A server-side (listener) plugin for a connector account and the URL a client uses to reach it. */
export async function btpServer (secret = 'secret'): Promise<{ plugin: BtpPluginInstance, url: string, port: number }> {
  const port = await freePort()
  const plugin = new BtpPlugin({ listener: { port, secret, wsOpts: { port, host: '127.0.0.1' } } })
  return { plugin, url: `btp+ws://:${secret}@127.0.0.1:${port}`, port }
}

/**
 * A client plugin. It retries every 50 ms (instead of the default back-off up to 5 s), because the
 * listener it dials may only start once its connector's listen() gets to it.
 */
export function btpClient (url: string): BtpPluginInstance {
  return new BtpPlugin({ server: url, reconnectIntervals: [50] })
}

export function condition (fulfillment: Buffer): Buffer {
  return createHash('sha256').update(fulfillment).digest()
}

export function newFulfillment (): { fulfillment: Buffer, executionCondition: Buffer } {
  const fulfillment = randomBytes(32)
  return { fulfillment, executionCondition: condition(fulfillment) }
}

export interface PrepareFields {
  amount: string
  destination: string
  executionCondition: Buffer
  expiresAt?: Date
  data?: Buffer
}

export function prepare (fields: PrepareFields): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount: fields.amount,
    destination: fields.destination,
    executionCondition: fields.executionCondition,
    expiresAt: fields.expiresAt ?? new Date(Date.now() + 10000),
    data: fields.data ?? Buffer.alloc(0)
  })
}

export const { deserializeIlpPrepare, deserializeIlpReply, deserializeIlpReject, deserializeIlpFulfill, serializeIlpFulfill, serializeIlpReject } = IlpPacket
export type IlpReject = ReturnType<typeof IlpPacket.deserializeIlpReject>

export function isReject (reply: Buffer): boolean { return reply[0] === 14 }
export function isFulfill (reply: Buffer): boolean { return reply[0] === 13 }
