/** An in-memory LPI2 plugin for unit tests: the test plays the counterparty. */
import { EventEmitter } from 'node:events'
import type { Plugin, PluginDataHandler, PluginMoneyHandler } from '@conn/types'

export class MockPlugin extends EventEmitter implements Plugin {
  static readonly version = 2
  connected = false
  dataHandler: PluginDataHandler | undefined
  moneyHandler: PluginMoneyHandler | undefined
  /** What the counterparty answers to sendData; default: throw. */
  onSendData: (data: Buffer) => Promise<Buffer> = async () => { throw new Error('no counterparty') }
  sentData: Buffer[] = []
  sentMoney: string[] = []
  connectDelay = 0

  async connect (): Promise<void> {
    if (this.connectDelay > 0) await new Promise((resolve) => setTimeout(resolve, this.connectDelay))
    this.connected = true
    this.emit('connect')
  }

  async disconnect (): Promise<void> { this.connected = false; this.emit('disconnect') }
  isConnected (): boolean { return this.connected }
  async sendData (data: Buffer): Promise<Buffer> { this.sentData.push(data); return await this.onSendData(data) }
  async sendMoney (amount: string): Promise<void> { this.sentMoney.push(amount) }
  registerDataHandler (handler: PluginDataHandler): void { this.dataHandler = handler }
  deregisterDataHandler (): void { this.dataHandler = undefined }
  registerMoneyHandler (handler: PluginMoneyHandler): void { this.moneyHandler = handler }
  deregisterMoneyHandler (): void { this.moneyHandler = undefined }

  /** The counterparty sends us a packet. */
  async receive (data: Buffer): Promise<Buffer> {
    if (this.dataHandler === undefined) throw new Error('no data handler registered')
    return await this.dataHandler(data)
  }
}
