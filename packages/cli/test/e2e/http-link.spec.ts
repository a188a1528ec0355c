/**
 * Two conn connectors peered over ILP-over-HTTP (@conn/plugin-http, loaded by name as the accounts' plugin):
 * routes exchanged over the link by CCP, and a real STREAM payment sender -> A -> (HTTP) -> B -> receiver with
 * the exact amount delivered; and a link to a peer running ilp-plugin-http (npm).
 */
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { pino } from 'pino'
import * as IlpPacket from 'ilp-packet'
import IlpPluginHttpModule from 'ilp-plugin-http'
import { createApp, type Connector } from '@conn/core'
import type { AccountConfig, Logger, Plugin } from '@conn/types'
import { btpClient, btpServer, freePort, type BtpPluginInstance } from '../helpers/btp.ts'
import { createStreamServer, sendStreamPayment } from '../helpers/stream.ts'

const CLI_DIR = fileURLToPath(new URL('../../', import.meta.url))
const logger = pino({ level: 'silent' }) as unknown as Logger
const IlpPluginHttp = ((IlpPluginHttpModule as unknown as { default?: unknown }).default ?? IlpPluginHttpModule) as new (options: unknown) => {
  connect: () => Promise<void>
  disconnect: () => Promise<void>
  sendData: (data: Buffer) => Promise<Buffer>
  registerDataHandler: (handler: (data: Buffer) => Promise<Buffer>) => void
}

let cleanups: Array<() => Promise<unknown>> = []

function connector (ilpAddress: string, accounts: Record<string, AccountConfig>): Connector {
  const app = createApp({
    ilpAddress, spread: 0, backend: 'one-to-one', accounts,
    routeBroadcastInterval: 200, routeCleanupInterval: 200, routeExpiry: 10_000
  }, { logger, resolveFrom: [CLI_DIR] })
  cleanups.push(async () => { await app.shutdown() })
  return app
}

function btpAccount (plugin: BtpPluginInstance): AccountConfig {
  return { relation: 'child', plugin: plugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 6 }
}

/** A peer account over HTTP, as a configuration file names it. */
function httpAccount (ourPort: number, theirPort: number, ourSecret: string, theirSecret: string, http2 = false): AccountConfig {
  return {
    relation: 'peer',
    plugin: '@conn/plugin-http',
    assetCode: 'XYZ',
    assetScale: 6,
    options: {
      incoming: { port: ourPort, host: '127.0.0.1', secretToken: ourSecret },
      outgoing: { url: `http://127.0.0.1:${theirPort}/`, secretToken: theirSecret, http2 }
    }
  } as unknown as AccountConfig
}

function client (url: string): BtpPluginInstance {
  const plugin = btpClient(url)
  cleanups.push(async () => { await plugin.disconnect() })
  return plugin
}

describe('e2e: ILP over HTTP links', function () {
  this.timeout(20_000)
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    cleanups = []
  })

  for (const http2 of [false, true]) {
    it(`two conn connectors learn each other's routes over HTTP/${http2 ? '2' : '1.1'} and a STREAM payment arrives exactly`, async () => {
      const [portA, portB] = [await freePort(), await freePort()]
      const senderSide = await btpServer()
      const receiverSide = await btpServer()
      const a = connector('test.a', { sender: btpAccount(senderSide.plugin), b: httpAccount(portA, portB, 'to-a', 'to-b', http2) })
      const b = connector('test.b', { receiver: btpAccount(receiverSide.plugin), a: httpAccount(portB, portA, 'to-b', 'to-a', http2) })
      const sender = client(senderSide.url)
      const receiverPlugin = client(receiverSide.url)
      await Promise.all([a.listen(), b.listen(), sender.connect(), receiverPlugin.connect()])
      // routes by CCP over the HTTP link, no static route
      const deadline = Date.now() + 5000
      while (a.routingTable.resolve('test.b.receiver') !== 'b' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(a.routingTable.resolve('test.b.receiver')).to.equal('b')

      const receiver = await createStreamServer(receiverPlugin)
      cleanups.push(async () => { await receiver.close() })
      const { destinationAccount, sharedSecret } = receiver.credentials()
      const paid = await sendStreamPayment(sender, destinationAccount, sharedSecret, 1_000_000n)
      expect(paid.delivered).to.equal(1_000_000n)
      expect(await receiver.waitForReceived(1_000_000n)).to.equal(1_000_000n)
    })
  }

  it('links with a peer running ilp-plugin-http (npm): its packets reach our child, ours reach it', async () => {
    const [ours, theirs] = [await freePort(), await freePort()]
    const receiverSide = await btpServer()
    const app = connector('test.conn', {
      receiver: btpAccount(receiverSide.plugin),
      them: { ...httpAccount(ours, theirs, 'to-conn', 'to-them'), relation: 'child' } as AccountConfig
    })
    const receiverPlugin = client(receiverSide.url)
    const fulfillment = randomBytes(32)
    const condition = createHash('sha256').update(fulfillment).digest()
    receiverPlugin.registerDataHandler(async () => IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) }))
    const them = new IlpPluginHttp({ incoming: { port: theirs, secretToken: 'to-them' }, outgoing: { url: `http://127.0.0.1:${ours}`, secretToken: 'to-conn' } })
    cleanups.push(async () => { await them.disconnect() })
    const toThem: string[] = []
    them.registerDataHandler(async (data) => {
      toThem.push(IlpPacket.deserializeIlpPrepare(data).destination)
      return IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })
    })
    await Promise.all([app.listen(), receiverPlugin.connect(), them.connect()])
    const prepare = (destination: string, amount: string): Buffer => IlpPacket.serializeIlpPrepare({ amount, destination, executionCondition: condition, expiresAt: new Date(Date.now() + 10_000), data: Buffer.alloc(0) })

    const reply = IlpPacket.deserializeIlpPacket(await them.sendData(prepare('test.conn.receiver', '250')))
    expect(reply.typeString).to.equal('ilp_fulfill')
    const back = IlpPacket.deserializeIlpPacket(await receiverPlugin.sendData(prepare('test.conn.them.x', '75')))
    expect(back.typeString).to.equal('ilp_fulfill')
    expect(toThem).to.deep.equal(['test.conn.them.x'])
  })
})
