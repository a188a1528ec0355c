/**
 * Test helpers: the real ilp-plugin-btp / ilp-plugin-mini-accounts / btp-packet / ilp-packet, free ports on
 * 127.0.0.1, packet builders and a raw WebSocket for the attack tests.
 */
import { createHash, randomBytes } from 'node:crypto'
import { freePort } from '@conn/testkit'
import BtpPluginModule from 'ilp-plugin-btp'
import MiniAccountsModule from 'ilp-plugin-mini-accounts'
import * as BtpPacketModule from 'btp-packet'
import * as IlpPacket from 'ilp-packet'
import { WebSocket } from 'ws'

export const RefBtpPlugin = BtpPluginModule.default
export type RefBtpPluginInstance = InstanceType<typeof RefBtpPlugin>
export const RefMiniAccounts = MiniAccountsModule.default
export const BtpPacket = BtpPacketModule
export { IlpPacket }

export { freePort }

export function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every 5 ms until it is true; throws after `timeout` ms. */
export async function waitFor (check: () => boolean, timeout = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

export function newFulfillment (): { fulfillment: Buffer, executionCondition: Buffer } {
  const fulfillment = randomBytes(32)
  return { fulfillment, executionCondition: sha256(fulfillment) }
}

export function prepare (fields: { destination: string, amount?: string, executionCondition?: Buffer, expiresAt?: Date, data?: Buffer }): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount: fields.amount ?? '10',
    destination: fields.destination,
    executionCondition: fields.executionCondition ?? newFulfillment().executionCondition,
    expiresAt: fields.expiresAt ?? new Date(Date.now() + 10000),
    data: fields.data ?? Buffer.alloc(0)
  })
}

export function fulfill (fulfillment: Buffer, data = Buffer.alloc(0)): Buffer {
  return IlpPacket.serializeIlpFulfill({ fulfillment, data })
}

export function rejectPacket (code: string, message: string, triggeredBy = 'test.x'): Buffer {
  return IlpPacket.serializeIlpReject({ code, message, triggeredBy, data: Buffer.alloc(0) })
}

/** A data handler that fulfills any Prepare whose condition it knows, else rejects F99. */
export function fulfiller (fulfillments: Map<string, Buffer>): (data: Buffer) => Promise<Buffer> {
  return async (data) => {
    const { executionCondition } = IlpPacket.deserializeIlpPrepare(data)
    const f = fulfillments.get(executionCondition.toString('hex'))
    return f !== undefined ? fulfill(f) : rejectPacket('F99', 'unknown condition')
  }
}

/** The auth message ilp-plugin-btp's client sends. */
export function authMessage (token: string, username = '', requestId = 1): Buffer {
  return BtpPacket.serialize({
    type: BtpPacket.TYPE_MESSAGE,
    requestId,
    data: {
      protocolData: [
        { protocolName: 'auth', contentType: BtpPacket.MIME_APPLICATION_OCTET_STREAM, data: Buffer.alloc(0) },
        { protocolName: 'auth_username', contentType: BtpPacket.MIME_TEXT_PLAIN_UTF8, data: Buffer.from(username) },
        { protocolName: 'auth_token', contentType: BtpPacket.MIME_TEXT_PLAIN_UTF8, data: Buffer.from(token) }
      ]
    }
  })
}

/** A raw WebSocket to a BTP server that records what it receives. */
export class RawSocket {
  readonly received: Buffer[] = []
  closed = false
  closeCode = 0

  private constructor (readonly ws: WebSocket) {
    ws.on('message', (data) => { this.received.push(data as Buffer) })
    ws.on('close', (code) => { this.closed = true; this.closeCode = code })
    ws.on('error', () => {})
  }

  static async open (port: number): Promise<RawSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    const raw = new RawSocket(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    })
    return raw
  }

  send (data: Buffer | string): void { this.ws.send(data) }

  async waitClosed (timeout = 2000): Promise<void> { await waitFor(() => this.closed, timeout, 'the socket to close') }

  destroy (): void { this.ws.terminate() }
}
