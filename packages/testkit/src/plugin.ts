/**
 * A minimal Plugin (LPI2) with no counterparty: it records the money sent through it and answers data with
 * a handler the test sets. `connect()`/`disconnect()` flip `connected` and emit the events the connector
 * listens for.
 */
import { EventEmitter } from 'node:events'
import type { Plugin, PluginDataHandler, PluginMoneyHandler } from '@conn/types'

export interface FakePluginOptions {
  /** Whether it starts connected (default true). */
  connected?: boolean
  /** What `sendData` answers (default: throws, since nothing is on the other side). */
  sendData?: (data: Buffer) => Promise<Buffer>
}

export class FakePlugin extends EventEmitter implements Plugin {
  connected: boolean
  /** The amounts `sendMoney` was called with, oldest first. */
  readonly moneySent: string[] = []
  /** The Prepares `sendData` was called with, oldest first. */
  readonly dataSent: Buffer[] = []
  dataHandler: PluginDataHandler | undefined
  moneyHandler: PluginMoneyHandler | undefined
  private readonly answer: ((data: Buffer) => Promise<Buffer>) | undefined

  constructor (options: FakePluginOptions = {}) {
    super()
    this.connected = options.connected ?? true
    this.answer = options.sendData
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

  async sendData (data: Buffer): Promise<Buffer> {
    this.dataSent.push(data)
    if (this.answer === undefined) throw new Error('FakePlugin: no sendData answer configured')
    return await this.answer(data)
  }

  async sendMoney (amount: string): Promise<void> { this.moneySent.push(amount) }

  registerDataHandler (handler: PluginDataHandler): void { this.dataHandler = handler }
  deregisterDataHandler (): void { this.dataHandler = undefined }
  registerMoneyHandler (handler: PluginMoneyHandler): void { this.moneyHandler = handler }
  deregisterMoneyHandler (): void { this.moneyHandler = undefined }
}

export function fakePlugin (options?: FakePluginOptions): FakePlugin {
  return new FakePlugin(options)
}
