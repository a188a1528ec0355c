/**
 * The ping tool: an ILP echo (the protocol @conn/middleware-echo answers) from the connector to any address. The
 * connector cannot originate a packet itself, so the console adds an account of its own, `console-ping`: a child
 * whose plugin lives in this process. A ping enters the connector from that account like any child's packet,
 * goes to the destination, whose echo middleware sends the same amount and condition back to the account's
 * address; the plugin fulfills that echo response with the fulfillment only it knows, and the Fulfill travels
 * back to the ping. Amount 0: a ping moves no money.
 */
import { EventEmitter } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { isFulfill, isReject, lengthPrefix, parsePrepare, parseReject, serializeFulfill, serializePrepare, serializeReject } from '@conn/codec'
import { ECHO_PREFIX as ECHO_PREFIX_TEXT, ECHO_REQUEST, ECHO_RESPONSE } from '@conn/middleware-echo'
import type { ConnectorHandle, Plugin, PluginDataHandler } from '@conn/types'

/** The account the pings leave from; hidden from the console's lists. */
export const PING_ACCOUNT = 'console-ping'
/** The echo protocol as @conn/middleware-echo reads and writes it. */
const ECHO_PREFIX = Buffer.from(ECHO_PREFIX_TEXT, 'ascii')

export interface PingResult {
  destination: string
  /** `fulfill`, or the Reject's code. */
  result: string
  /** The Reject's message and who triggered it. */
  message?: string
  triggeredBy?: string
  /** Round trip in milliseconds. */
  ms: number
}

/** An LPI2 plugin in this process: the connector's packets to the ping account end here. */
export class PingPlugin extends EventEmitter implements Plugin {
  private handler: PluginDataHandler | undefined
  private connected = false
  /** Fulfillments of the pings in flight, by condition (hex). */
  private readonly pending = new Map<string, Buffer>()

  async connect (): Promise<void> {
    if (this.connected) return
    this.connected = true
    this.emit('connect')
  }

  async disconnect (): Promise<void> {
    if (!this.connected) return
    this.connected = false
    this.emit('disconnect')
  }

  isConnected (): boolean { return this.connected }

  /** A packet the connector routed to the ping account: an echo response to one of our pings, or nothing we know. */
  async sendData (data: Buffer): Promise<Buffer> {
    const prepare = parsePrepare(data)
    const fulfillment = this.pending.get(prepare.executionCondition.toString('hex'))
    const isEcho = prepare.data.length === ECHO_PREFIX.length + 1 && prepare.data.subarray(0, ECHO_PREFIX.length).equals(ECHO_PREFIX) &&
      prepare.data[ECHO_PREFIX.length] === ECHO_RESPONSE
    if (fulfillment === undefined || !isEcho) {
      return serializeReject({ code: 'F02', triggeredBy: '', message: 'not an echo response to a ping in flight', data: Buffer.alloc(0) })
    }
    return serializeFulfill({ fulfillment, data: Buffer.alloc(0) })
  }

  async sendMoney (): Promise<void> {}

  registerDataHandler (handler: PluginDataHandler): void { this.handler = handler }
  deregisterDataHandler (): void { this.handler = undefined }
  registerMoneyHandler (): void {}
  deregisterMoneyHandler (): void {}

  /** Sends an echo request to `destination` with `source` as the address to answer, through the connector. */
  async ping (destination: string, source: string, timeoutMs: number): Promise<PingResult> {
    if (this.handler === undefined) throw new Error('the ping account is not attached to the connector')
    const fulfillment = randomBytes(32)
    const condition = createHash('sha256').update(fulfillment).digest()
    const key = condition.toString('hex')
    const sourceBytes = Buffer.from(source, 'ascii')
    const prepare = serializePrepare({
      amount: 0n,
      expiresAt: Date.now() + timeoutMs,
      executionCondition: condition,
      destination,
      data: Buffer.concat([ECHO_PREFIX, Buffer.of(ECHO_REQUEST), lengthPrefix(sourceBytes.length), sourceBytes])
    })
    this.pending.set(key, fulfillment)
    const started = performance.now()
    try {
      const reply = await this.handler(prepare)
      const ms = Math.round((performance.now() - started) * 10) / 10
      if (isFulfill(reply)) return { destination, result: 'fulfill', ms }
      if (isReject(reply)) {
        const reject = parseReject(reply)
        return { destination, result: reject.code, message: reject.message, triggeredBy: reject.triggeredBy, ms }
      }
      throw new Error('the connector answered the ping with neither a Fulfill nor a Reject')
    } finally {
      this.pending.delete(key)
    }
  }
}

/** Adds the ping account on first use, with the asset of the first account (a ping's amount is 0 anyway). */
export class Pinger {
  private readonly plugin = new PingPlugin()
  private adding: Promise<void> | undefined

  constructor (private readonly connector: ConnectorHandle, private readonly timeoutMs: number) {}

  async ping (destination: string): Promise<PingResult> {
    await this.ensureAccount()
    return await this.plugin.ping(destination, this.connector.getOwnAddress() + '.' + PING_ACCOUNT, this.timeoutMs)
  }

  private async ensureAccount (): Promise<void> {
    if (this.connector.getAccount(PING_ACCOUNT) !== undefined) return
    this.adding ??= this.add().finally(() => { this.adding = undefined })
    await this.adding
  }

  private async add (): Promise<void> {
    const other = [...this.connector.getAccounts()][0]
    await this.connector.addPlugin(PING_ACCOUNT, {
      relation: 'child',
      plugin: this.plugin,
      assetCode: other?.assetCode ?? 'XXX',
      assetScale: other?.assetScale ?? 0,
      // It never owes nor is owed anything: every ping is 0.
      balance: { minimum: '0', maximum: '0' }
    } as Parameters<ConnectorHandle['addPlugin']>[1])
  }
}
