/**
 * Benchmark sender: a BTP client that keeps BENCH_IN_FLIGHT packets in flight for BENCH_DURATION ms (after a
 * warm-up), with Prepares precomputed before the clock starts (random fulfillment as data, its SHA-256 as
 * condition, all unique so deduplication never short-cuts). Reports fulfilled count and latency percentiles.
 */
import { createHash, randomBytes } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import BtpPluginModule from 'ilp-plugin-btp'

const BtpPlugin = BtpPluginModule.default
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 10)
const duration = Number(process.env.BENCH_DURATION ?? 5000)
const warmup = Number(process.env.BENCH_WARMUP ?? 1000)
const poolSize = Number(process.env.BENCH_POOL ?? 200000)

const expiresAt = new Date(Date.now() + 600000)
const pool: Buffer[] = new Array(poolSize)
for (let i = 0; i < poolSize; i++) {
  const fulfillment = randomBytes(32)
  pool[i] = IlpPacket.serializeIlpPrepare({
    amount: '100',
    destination: 'test.bench.bob',
    executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt,
    data: fulfillment
  })
}

const plugin = new BtpPlugin({ server: `btp+ws://:bench@127.0.0.1:${process.env.BENCH_PORT}`, reconnectIntervals: [50] } as any)
await plugin.connect()
process.send!({ type: 'ready' })
await new Promise<void>((resolve) => process.once('message', () => resolve()))

let next = 0
let measuring = false
let stopping = false
let fulfilled = 0
let rejected = 0
let failed = 0
const latencies = new Float64Array(poolSize)
let samples = 0

async function worker (): Promise<void> {
  while (!stopping && next < poolSize) {
    const packet = pool[next++]!
    const start = process.hrtime.bigint()
    let reply: Buffer | undefined
    try {
      reply = await plugin.sendData(packet)
    } catch {
      // a BTP error instead of an ILP reply (e.g. a connector without its error handler)
    }
    if (!measuring) continue
    const micros = Number(process.hrtime.bigint() - start) / 1000
    if (reply === undefined) failed++
    else if (reply[0] === 13) fulfilled++
    else rejected++
    latencies[samples++] = micros
  }
}

const workers = Array.from({ length: inFlight }, async () => await worker())
await new Promise((resolve) => setTimeout(resolve, warmup))
process.send!({ type: 'mark' })
measuring = true
const started = process.hrtime.bigint()
await new Promise((resolve) => setTimeout(resolve, duration))
measuring = false
const elapsed = Number(process.hrtime.bigint() - started) / 1e9
process.send!({ type: 'measured' })
stopping = true
await Promise.all(workers)

const sorted = latencies.subarray(0, samples).sort()
const percentile = (p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
process.send!({
  type: 'result',
  fulfilled,
  rejected: rejected + failed,
  exhausted: next >= poolSize,
  seconds: elapsed,
  p50: percentile(0.5),
  p99: percentile(0.99)
})
await plugin.disconnect()
process.exit(0)
