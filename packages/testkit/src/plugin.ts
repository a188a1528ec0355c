/**
 * A minimal Plugin (LPI2) in memory. Alone, it records the money and data sent through it and answers data with
 * a handler the test sets. Linked to another one (`fakePluginPair()`), each is the other's counterparty: what
 * one sends reaches the other's handlers, and the pair passes `pluginConformance`. `connect()`/`disconnect()`
 * flip `connected` and emit the events the connector listens for.
 */
import { EventEmitter } from 'node:events'
import type { Plugin, PluginDataHandler, PluginMoneyHandler } from '@conn/types'

export interface FakePluginOptions {
  /** Whether it starts connected (default true). */
  connected?: boolean
  /** What `sendData` answers (default: the counterparty's data handler if linked, else it throws). */
  sendData?: (data: Buffer) => Promise<Buffer>
}

export class FakePlugin extends EventEmitter implements Plugin {
  /** LPI version. */
  static readonly version = 2

  connected: boolean
  /** The amounts `sendMoney` was called with, oldest first. */
  readonly moneySent: string[] = []
  /** The Prepares `sendData` was called with, oldest first. */
  readonly dataSent: Buffer[] = []
  dataHandler: PluginDataHandler | undefined
  moneyHandler: PluginMoneyHandler | undefined
  /** The other end, once linked by `fakePluginPair()` (or `link()`). */
  counterparty: FakePlugin | undefined
  private readonly answer: ((data: Buffer) => Promise<Buffer>) | undefined

  constructor (options: FakePluginOptions = {}) {
    super()
    this.connected = options.connected ?? true
    this.answer = options.sendData
  }

  /** Makes `other` this plugin's counterparty and this plugin `other`'s. */
  link (other: FakePlugin): void {
    this.counterparty = other
    other.counterparty = this
  }

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

  /**
   * Recorded in `dataSent`, then answered by the `sendData` option, else by the counterparty's data handler.
   * Rejects while this plugin (or its counterparty) is disconnected, and when nothing can answer.
   */
  async sendData (data: Buffer): Promise<Buffer> {
    this.dataSent.push(data)
    if (!this.connected) throw new Error('FakePlugin: not connected')
    if (this.answer !== undefined) return await this.answer(data)
    const peer = this.counterparty
    if (peer === undefined) throw new Error('FakePlugin: no sendData answer configured')
    if (!peer.connected) throw new Error('FakePlugin: the counterparty is not connected')
    if (peer.dataHandler === undefined) throw new Error('FakePlugin: the counterparty has no data handler')
    return await peer.dataHandler(data)
  }

  /** Recorded in `moneySent`; with a counterparty, its money handler receives the amount. Rejects while disconnected. */
  async sendMoney (amount: string): Promise<void> {
    this.moneySent.push(amount)
    if (!this.connected) throw new Error('FakePlugin: not connected')
    const peer = this.counterparty
    if (peer === undefined) return
    if (!peer.connected) throw new Error('FakePlugin: the counterparty is not connected')
    if (peer.moneyHandler === undefined) throw new Error('FakePlugin: the counterparty has no money handler')
    await peer.moneyHandler(amount)
  }

  /** Throws if a data handler is registered already (deregister it first), as LPI2 says. */
  registerDataHandler (handler: PluginDataHandler): void {
    if (this.dataHandler !== undefined) throw new Error('FakePlugin: a data handler is already registered')
    this.dataHandler = handler
  }

  deregisterDataHandler (): void { this.dataHandler = undefined }

  /** Throws if a money handler is registered already (deregister it first), as LPI2 says. */
  registerMoneyHandler (handler: PluginMoneyHandler): void {
    if (this.moneyHandler !== undefined) throw new Error('FakePlugin: a money handler is already registered')
    this.moneyHandler = handler
  }

  deregisterMoneyHandler (): void { this.moneyHandler = undefined }
}

export function fakePlugin (options?: FakePluginOptions): FakePlugin {
  return new FakePlugin(options)
}

/** Two FakePlugins, each the other's counterparty; disconnected unless `connected` says otherwise. */
export function fakePluginPair (options: { connected?: boolean } = {}): [FakePlugin, FakePlugin] {
  const a = new FakePlugin({ connected: options.connected ?? false })
  const b = new FakePlugin({ connected: options.connected ?? false })
  a.link(b)
  return [a, b]
}
