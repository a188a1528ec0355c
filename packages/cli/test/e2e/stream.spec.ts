/**
 * Real STREAM payments (ilp-protocol-stream) through in-process conn connectors over real BTP:
 * sender client -> connector(s) -> receiver client, with the amounts checked exactly on both ends.
 */
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { pino } from 'pino'
import { createApp, type Connector } from '@conn/core'
import type { AccountConfig, Logger, Plugin } from '@conn/types'
import { btpClient, btpServer, deserializeIlpPrepare, isFulfill, type BtpPluginInstance } from '../helpers/btp.ts'
import { createStreamServer, sendStreamPayment, type StreamReceiver } from '../helpers/stream.ts'

const CLI_DIR = fileURLToPath(new URL('../../', import.meta.url))
const logger = pino({ level: 'silent' }) as unknown as Logger

/** Cleanups of the running test, run last-in first-out whatever happened. */
let cleanups: Array<() => Promise<unknown>> = []

function connector (config: { ilpAddress?: string, spread: number, accounts: Record<string, AccountConfig> }): Connector {
  const app = createApp({ ...config, backend: 'one-to-one', routeBroadcastEnabled: false }, { logger, resolveFrom: [CLI_DIR] })
  cleanups.push(async () => { await app.shutdown() })
  return app
}

function account (relation: AccountConfig['relation'], plugin: BtpPluginInstance, assetScale: number): AccountConfig {
  return { relation, plugin: plugin as unknown as Plugin, assetCode: 'XYZ', assetScale }
}

function client (url: string): BtpPluginInstance {
  const plugin = btpClient(url)
  cleanups.push(async () => { await plugin.disconnect() })
  return plugin
}

async function receiverOn (plugin: BtpPluginInstance): Promise<StreamReceiver> {
  const receiver = await createStreamServer(plugin)
  cleanups.push(async () => { await receiver.close() })
  return receiver
}

/** Source amounts of the sender's Prepares that came back fulfilled (STREAM's test packets never do). */
function recordFulfilled (plugin: BtpPluginInstance): bigint[] {
  const amounts: bigint[] = []
  const sendData = plugin.sendData.bind(plugin)
  plugin.sendData = async (data: Buffer): Promise<Buffer> => {
    const reply = await sendData(data)
    if (isFulfill(reply)) amounts.push(BigInt(deserializeIlpPrepare(data).amount))
    return reply
  }
  return amounts
}

/** One hop of the one-to-one backend, computed here on its own: floor(amount x (1 - spread) x 10^(to - from)). */
function hop (amount: bigint, spreadPercent: bigint, fromScale: number, toScale: number): bigint {
  const numerator = amount * (100n - spreadPercent) * 10n ** BigInt(Math.max(toScale - fromScale, 0))
  const denominator = 100n * 10n ** BigInt(Math.max(fromScale - toScale, 0))
  return numerator / denominator
}

describe('e2e: STREAM payments', function () {
  this.timeout(10000)

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    cleanups = []
  })

  it('delivers exactly 1,000,000 units sender -> one connector -> receiver (spread 0)', async () => {
    const senderSide = await btpServer()
    const receiverSide = await btpServer()
    const app = connector({
      ilpAddress: 'test.conn',
      spread: 0,
      accounts: { sender: account('child', senderSide.plugin, 6), receiver: account('child', receiverSide.plugin, 6) }
    })
    const sender = client(senderSide.url)
    const receiverPlugin = client(receiverSide.url)
    await Promise.all([app.listen(), sender.connect(), receiverPlugin.connect()])

    const receiver = await receiverOn(receiverPlugin)
    expect(receiver.address).to.equal('test.conn.receiver')
    const { destinationAccount, sharedSecret } = receiver.credentials()
    const paid = await sendStreamPayment(sender, destinationAccount, sharedSecret, 1_000_000n)
    console.log(`      STREAM 1,000,000 units through one connector: ${paid.elapsedMs.toFixed(1)} ms`)

    expect(paid.sent).to.equal(1_000_000n)
    expect(paid.delivered).to.equal(1_000_000n)
    expect(await receiver.waitForReceived(1_000_000n)).to.equal(1_000_000n)
    expect(receiver.errors).to.deep.equal([])
  })

  /**
   * parent connector P (test.p): child account `c` (BTP server) and child `receiver`;
   * connector C (no ilpAddress: learns test.p.c over ILDCP): parent account `p` (BTP client to P) and child `sender`.
   */
  async function twoConnectors (opts: { senderScale: number, cToPScale: number, receiverScale: number, spreadC: number, spreadP: number }): Promise<{
    c: Connector, p: Connector, sender: BtpPluginInstance, receiverPlugin: BtpPluginInstance
  }> {
    const cOnP = await btpServer('c-secret')
    const receiverSide = await btpServer()
    const senderSide = await btpServer()
    const p = connector({
      ilpAddress: 'test.p',
      spread: opts.spreadP,
      accounts: { c: account('child', cOnP.plugin, opts.cToPScale), receiver: account('child', receiverSide.plugin, opts.receiverScale) }
    })
    const c = connector({
      spread: opts.spreadC,
      accounts: { p: account('parent', client(cOnP.url), opts.cToPScale), sender: account('child', senderSide.plugin, opts.senderScale) }
    })
    const sender = client(senderSide.url)
    const receiverPlugin = client(receiverSide.url)
    await Promise.all([p.listen(), c.listen(), sender.connect(), receiverPlugin.connect()])
    return { c, p, sender, receiverPlugin }
  }

  it('delivers the exact amount sender -> child connector -> parent connector -> receiver (spread 0, C learns test.p.c)', async () => {
    const { c, sender, receiverPlugin } = await twoConnectors({ senderScale: 6, cToPScale: 6, receiverScale: 6, spreadC: 0, spreadP: 0 })
    expect(c.getOwnAddress()).to.equal('test.p.c')

    const receiver = await receiverOn(receiverPlugin)
    expect(receiver.address).to.equal('test.p.receiver')
    const { destinationAccount, sharedSecret } = receiver.credentials()
    const paid = await sendStreamPayment(sender, destinationAccount, sharedSecret, 1_000_000n)

    expect(paid.sourceAssetScale).to.equal(6)
    expect(paid.sent).to.equal(1_000_000n)
    expect(paid.delivered).to.equal(1_000_000n)
    expect(await receiver.waitForReceived(1_000_000n)).to.equal(1_000_000n)
  })

  it('delivers floor(floor(amount / 10^3) x 0.99) per packet with scale 9 -> 6 on C and spread 0.01 on P', async () => {
    // C converts sender units (scale 9) into P's units (scale 6) at spread 0; P takes the 1% spread on to the
    // receiver (scale 6). Both hops floor, so the result is below the single-step floor(amount x 0.99 / 10^3).
    const { c, sender, receiverPlugin } = await twoConnectors({ senderScale: 9, cToPScale: 6, receiverScale: 6, spreadC: 0, spreadP: 0.01 })
    expect(c.getOwnAddress()).to.equal('test.p.c')
    const receiver = await receiverOn(receiverPlugin)
    expect(receiver.assetScale).to.equal(6)
    const fulfilled = recordFulfilled(sender)

    const amount = 123_456_789n
    const { destinationAccount, sharedSecret } = receiver.credentials()
    const paid = await sendStreamPayment(sender, destinationAccount, sharedSecret, amount)

    // Every fulfilled Prepare took both hops on its own; STREAM also sends fulfillable 0-amount packets.
    const moneyPackets = fulfilled.filter((packetAmount) => packetAmount > 0n)
    const expected = moneyPackets.reduce((sum, packetAmount) => sum + hop(hop(packetAmount, 0n, 9, 6), 1n, 6, 6), 0n)
    expect(paid.sent).to.equal(amount)
    expect(paid.destinationAssetScale).to.equal(6)
    expect(paid.delivered).to.equal(expected)
    expect(await receiver.waitForReceived(expected)).to.equal(expected)
    expect(receiver.totalReceived()).to.equal(expected)
    // Nothing limits the packet size on this path, so STREAM sends it all in one packet:
    // floor(floor(123456789 / 1000) x 0.99) = floor(123456 x 0.99) = 122221, one unit below floor(123456789 x 0.99 / 1000).
    expect(moneyPackets).to.deep.equal([amount])
    expect(expected).to.equal(122_221n)
  })
})
