/**
 * BTP accounts that can move money, for the balance e2e tests.
 *
 * ilp-plugin-btp 1.5.0 carries packets only: its `sendMoney` resolves without sending anything and a BTP
 * TRANSFER it receives is answered with an error. Money-moving plugins (payment channels) add both halves on
 * top of it; `MoneyBtpPlugin` does the same with plain BTP TRANSFER messages, on both the connector's side
 * (passed to `harness.network` as the account's `plugin`) and the client's side (a `MoneyNode`). A money
 * handler that throws makes the sender's `sendMoney` reject (BTP ERROR), as a failed settlement would.
 */
import { randomBytes } from 'node:crypto'
import type { Plugin } from '@conn/types'
import {
  BtpPlugin, Harness, Node, fulfillPacket, rejectPacket, sha256, type BtpPluginInstance, type PrepareHandler
} from './harness.ts'

/** btp-packet's type number for TRANSFER. */
const TYPE_TRANSFER = 7

export class MoneyBtpPlugin extends BtpPlugin {
  /** Sends `amount` to the other side as a BTP TRANSFER; rejects if the other side's money handler throws. */
  override async sendMoney (amount: string): Promise<void> {
    if (amount === '0') return
    await this._call('', { type: TYPE_TRANSFER, requestId: randomBytes(4).readUInt32BE(0), data: { amount, protocolData: [] } })
  }

  protected override async _handleMoney (_from: string, btpPacket: { data: { amount?: string } }): Promise<[]> {
    if (this._moneyHandler === undefined) throw new Error('no money handler registered')
    await this._moneyHandler(btpPacket.data.amount ?? '0')
    return []
  }
}

/** A BTP client (a `Node`) that can send money and records the money it receives. */
export class MoneyNode extends Node {
  /** Amounts received, in order. */
  readonly money: string[] = []
  /** Runs for each amount received, after it was recorded; throw to refuse it (the sender's sendMoney fails). */
  onMoney: (amount: string) => Promise<void> = async () => {}

  constructor (name: string, plugin: BtpPluginInstance, handler: (node: Node) => PrepareHandler) {
    super(name, plugin, handler)
    plugin.registerMoneyHandler(async (amount: string) => {
      this.money.push(amount)
      await this.onMoney(amount)
    })
  }

  async sendMoney (amount: string): Promise<void> { await this.plugin.sendMoney(amount) }
}

/**
 * Money-capable account pairs for one test: `account()` gives the connector-side listener plugin and the
 * client that dials it. Close it before `harness.close()` (clients first, as the harness does).
 */
export class MoneyAccounts {
  private readonly nodes: MoneyNode[] = []
  private readonly fulfillments = new Map<string, Buffer>()

  constructor (private readonly harness: Harness) {}

  /** A condition the MoneyNodes' default handler fulfills. */
  condition (): { fulfillment: Buffer, executionCondition: Buffer } {
    const fulfillment = randomBytes(32)
    const executionCondition = sha256(fulfillment)
    this.fulfillments.set(executionCondition.toString('hex'), fulfillment)
    return { fulfillment, executionCondition }
  }

  /** The listener plugin for `accounts.<name>.plugin` and the client; connect the client while the connector starts. */
  async account (name: string): Promise<{ plugin: Plugin, node: MoneyNode }> {
    const { port, secret } = await this.harness.listener()
    const listener = new MoneyBtpPlugin({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
    const client = new MoneyBtpPlugin({ server: `btp+ws://:${secret}@127.0.0.1:${port}`, reconnectIntervals: [50] })
    const node = new MoneyNode(name, client, (self) => (prepare) => {
      const fulfillment = this.fulfillments.get(prepare.executionCondition.toString('hex'))
      if (fulfillment !== undefined) return fulfillPacket(fulfillment)
      return rejectPacket({ code: 'F99', triggeredBy: self.address, message: 'unknown condition' })
    })
    node.address = 'test.conn.' + name
    this.nodes.push(node)
    return { plugin: listener as unknown as Plugin, node }
  }

  async close (): Promise<void> {
    for (const node of this.nodes.splice(0)) await node.disconnect().catch(() => {})
  }
}
