/**
 * Load generator for the memory measurement: opens BENCH_COUNT BTP client connections to a connector's
 * multi-account (mini-accounts) listener on BENCH_PORT, BENCH_CONCURRENCY at a time, each with its own token
 * (so its own account, sha256(token), as ilp-plugin-mini-accounts names it). With BENCH_ILDCP=1 each child
 * then asks for its address over ILDCP (peer.config) and checks the Fulfill names an address under
 * test.bench.children. Reports 'connected' with counts, then on 'check' how many are still open.
 */
import * as IlpPacket from 'ilp-packet'
import { BTP_MESSAGE, BTP_RESPONSE, BtpClient, encodeBtp, encodeFrame, findIlp, readLength } from './btp-ws.ts'

const port = Number(process.env.BENCH_PORT)
const count = Number(process.env.BENCH_COUNT ?? 1000)
const offset = Number(process.env.BENCH_OFFSET ?? 0)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50)
const ildcp = process.env.BENCH_ILDCP !== '0'
const PREFIX = Buffer.from('test.bench.children.')

const ildcpFrame = encodeFrame(encodeBtp(BTP_MESSAGE, 1, [{
  name: 'ilp',
  contentType: 0,
  data: IlpPacket.serializeIlpPrepare({
    amount: '0',
    destination: 'peer.config',
    // sha256 of 32 zero bytes: the condition of peer protocol requests
    executionCondition: Buffer.from('Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU=', 'base64'),
    expiresAt: new Date(Date.now() + 600000),
    data: Buffer.alloc(0)
  })
}]))

/** True if `btp` is a RESPONSE carrying an ILDCP Fulfill with an address under test.bench.children. */
function isIldcpReply (btp: Buffer): boolean {
  if (btp[0] !== BTP_RESPONSE) return false
  const ilp = findIlp(btp)
  if (ilp === undefined || btp[ilp[0]] !== 13) return false
  const [, fulfillment] = readLength(btp, ilp[0] + 1)
  const [, data] = readLength(btp, fulfillment + 32)
  const [addressLength, address] = readLength(btp, data)
  return addressLength > PREFIX.length && btp.compare(PREFIX, 0, PREFIX.length, address, address + PREFIX.length) === 0
}

async function child (index: number): Promise<BtpClient> {
  const client = await BtpClient.connect({ port, token: `bench-child-${index}`, timeout: 30000, retryInterval: 50 })
  if (!ildcp) return client
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ILDCP: no reply in 30 s')), 30000)
    client.onPacket = (btp) => {
      if (btp[0] === BTP_MESSAGE) return
      clearTimeout(timer)
      if (isIldcpReply(btp)) resolve()
      else reject(new Error('ILDCP: not a Fulfill with a test.bench.children address'))
    }
    client.send(ildcpFrame)
  })
  client.onPacket = () => {}
  return client
}

process.once('disconnect', () => process.exit(0))
await new Promise<void>((resolve) => process.once('message', () => resolve()))
const started = performance.now()
const clients: BtpClient[] = []
const errors: Record<string, number> = {}
let nextIndex = 0
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
  while (nextIndex < count) {
    const index = offset + nextIndex++
    try {
      clients.push(await child(index))
    } catch (err) {
      const key = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      errors[key] = (errors[key] ?? 0) + 1
    }
  }
}))
process.send!({ type: 'connected', connected: clients.length, errors, ms: performance.now() - started })
process.on('message', (message: { type: string }) => {
  if (message.type === 'check') process.send!({ type: 'open', open: clients.filter((c) => !c.isClosed).length })
})
