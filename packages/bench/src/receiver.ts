/**
 * Benchmark receiver: a BTP client that fulfills every packet. The sender puts each packet's fulfillment in
 * its 32 bytes of data (the last field), so answering costs a copy, not a parse or a hash.
 */
import BtpPluginModule from 'ilp-plugin-btp'

const BtpPlugin = BtpPluginModule.default
const plugin = new BtpPlugin({ server: `btp+ws://:bench@127.0.0.1:${process.env.BENCH_PORT}`, reconnectIntervals: [50] } as any)
// type 13, contents 33 bytes: the 32-byte fulfillment and an empty data field
const FULFILL_HEADER = Buffer.from([13, 33])

plugin.registerDataHandler(async (prepare: Buffer) => {
  const fulfill = Buffer.allocUnsafe(35)
  FULFILL_HEADER.copy(fulfill, 0)
  prepare.copy(fulfill, 2, prepare.length - 32)
  fulfill[34] = 0
  return fulfill
})
await plugin.connect()
process.send!({ type: 'ready' })
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') void plugin.disconnect().then(() => process.exit(0))
})
