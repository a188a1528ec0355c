/**
 * `pnpm bench:redis`: what the redis store costs. The same load (BENCH_IN_FLIGHT packets in flight, default 100,
 * from lean BTP senders to lean receivers through conn, both accounts with balance limits so every packet
 * reserves and commits) against:
 * - the reference (ilp-connector 23) on its memory store, for the ratio;
 * - conn on the memory store, one instance;
 * - conn on the redis store (127.0.0.1:6379, a fresh prefix), one instance;
 * - three conn instances on the same Redis prefix, the load split over them (a sender and a receiver each).
 * conn runs the config an ilp-connector operator writes (accounts name "ilp-plugin-btp", no conn-specific option).
 * For each: packets/s (summed over the senders), p50/p99 latency (the worst sender's), conn's CPU per packet
 * (summed over the instances) and Redis's (from INFO cpu over the measured period). Rounds rotate the order.
 * Writes docs/redis-benchmark.md and .json (BENCH_REDIS_DOC / BENCH_REDIS_OUT; BENCH_QUICK=1: neither).
 */
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { freePort } from '@conn/testkit'
import type { ConnectorReport } from './connector-ipc.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { REDIS_URL, fixed, median, quick, redisCpuMicros, roundSettings } from './redis-shared.ts'
import { nextMessage, startProcess } from './processes.ts'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '../../..')
const settings = roundSettings
const out = process.env.BENCH_REDIS_OUT ?? (quick ? undefined : resolve(ROOT, 'docs/redis-benchmark.json'))
const doc = process.env.BENCH_REDIS_DOC ?? (quick ? undefined : resolve(ROOT, 'docs/redis-benchmark.md'))

interface Setup { id: string, name: string, store: 'memory' | 'redis', instances: number, reference?: boolean }
const SETUPS: Setup[] = [
  { id: 'reference', name: 'ilp-connector 23, memory store (ilp-plugin-btp)', store: 'memory', instances: 1, reference: true },
  { id: 'memory', name: 'conn, memory store, 1 instance', store: 'memory', instances: 1 },
  { id: 'redis', name: 'conn, redis store, 1 instance', store: 'redis', instances: 1 },
  { id: 'redis-3', name: 'conn, redis store, 3 instances on one prefix', store: 'redis', instances: 3 }
]

interface SenderResult { fulfilled: number, rejected: number, failed: number, lost: number, seconds: number, p50: number, p99: number, rejectCodes: Record<string, number> }
interface Row {
  round: number
  setup: string
  packetsPerSecond: number
  p50: number
  p99: number
  connCpuMicrosPerPacket: number
  redisCpuMicrosPerPacket: number
  fulfilled: number
  notFulfilled: number
}

/** BENCH_PROFILE=<dir>: a V8 CPU profile of each connector (node --cpu-prof). */
function profileFlags (name: string): string[] {
  const dir = process.env.BENCH_PROFILE
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.cpuprofile`]
}

/** One setup, one round: its instances, each with a sender and a receiver, the in-flight load split over them. */
async function measure (setup: Setup, round: number, redis: Redis): Promise<Row> {
  const prefix = `conn-bench:${randomUUID()}:`
  const share = Math.max(1, Math.round(settings.inFlight / setup.instances))
  const pool = String(Math.ceil((settings.warmup + settings.duration) / 1000 * 80000) + 1000)
  const children: ChildProcess[] = []
  try {
    const lanes = await Promise.all(Array.from({ length: setup.instances }, async () => {
      const receiver = startProcess('receiver.js', {})
      const sender = startProcess('sender.js', { BENCH_IN_FLIGHT: String(share), BENCH_WARMUP: String(settings.warmup), BENCH_DURATION: String(settings.duration), BENCH_POOL: pool })
      children.push(receiver, sender)
      await Promise.all([nextMessage(receiver, 'ready'), nextMessage(sender, 'ready')])
      const [alicePort, bobPort] = [await freePort(), await freePort()]
      // conn as an ilp-connector operator configures it: accounts name "ilp-plugin-btp" with its options
      const connector = startProcess(setup.reference === true ? 'connector-reference.js' : 'connector-conn.js', {
        BENCH_MODE: 'pair',
        BENCH_TRANSPORT: setup.reference === true ? 'ilp-plugin-btp' : '@conn/plugin-btp',
        BENCH_PLUGIN_NAME: setup.reference === true ? '' : 'ilp-plugin-btp',
        BENCH_ALICE_PORT: String(alicePort),
        BENCH_BOB_PORT: String(bobPort),
        BENCH_BALANCE: '1',
        BENCH_STORE: setup.store,
        ...(setup.store === 'redis' ? { BENCH_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix }) } : {})
      }, setup.reference === true ? profileFlags(setup.id) : [...CONN_NODE_FLAGS, ...profileFlags(setup.id)])
      children.push(connector)
      receiver.send({ type: 'connect', port: bobPort })
      sender.send({ type: 'connect', port: alicePort })
      await nextMessage(sender, 'first')
      return { receiver, sender, connector }
    }))
    // All lanes start their load together; their measured periods overlap (each measures its own).
    const marks = lanes.map(({ sender }) => nextMessage(sender, 'mark'))
    const measured = lanes.map(({ sender }) => nextMessage(sender, 'measured'))
    const results = lanes.map(({ sender }) => nextMessage<SenderResult>(sender, 'result'))
    for (const { sender } of lanes) sender.send({ type: 'load' })
    await Promise.all(marks)
    for (const { connector } of lanes) connector.send({ type: 'mark' })
    const redisBefore = await redisCpuMicros(redis)
    await Promise.all(measured)
    const redisAfter = await redisCpuMicros(redis)
    const reports = await Promise.all(lanes.map(async ({ connector }) => {
      const report = nextMessage<ConnectorReport>(connector, 'report')
      connector.send({ type: 'report' })
      return await report
    }))
    const outcomes = await Promise.all(results)
    const packets = outcomes.reduce((sum, o) => sum + o.fulfilled + o.rejected + o.failed, 0)
    const fulfilled = outcomes.reduce((sum, o) => sum + o.fulfilled, 0)
    return {
      round,
      setup: setup.id,
      packetsPerSecond: outcomes.reduce((sum, o) => sum + o.fulfilled / o.seconds, 0),
      // the senders measure in µs
      p50: Math.max(...outcomes.map((o) => o.p50)) / 1000,
      p99: Math.max(...outcomes.map((o) => o.p99)) / 1000,
      connCpuMicrosPerPacket: reports.reduce((sum, r) => sum + r.cpuMicros, 0) / packets,
      redisCpuMicrosPerPacket: setup.store === 'redis' ? (redisAfter - redisBefore) / packets : NaN,
      fulfilled,
      notFulfilled: packets - fulfilled
    }
  } finally {
    // SIGINT lets a profiled connector write its profile
    for (const child of children) child.kill(process.env.BENCH_PROFILE !== undefined ? 'SIGINT' : 'SIGKILL')
    if (process.env.BENCH_PROFILE !== undefined) await new Promise((resolve) => setTimeout(resolve, 1000))
    const keys = await redis.keys(prefix + '*')
    if (keys.length > 0) await redis.del(...keys)
  }
}


const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null })
redis.on('error', () => {}) // a failed connect is reported below
try {
  await redis.connect()
} catch (err) {
  // `pnpm bench` runs this after the throughput benchmark: without Redis the redis rows are skipped, not the run failed
  if (process.env.BENCH_REDIS_OPTIONAL !== '1') throw err
  console.log(`redis store rows skipped: no Redis answers at ${REDIS_URL} (${(err as Error).message}); start redis-server to measure them`)
  process.exit(0)
}
/** BENCH_SETUPS=redis,memory: only those rows (for profiling; the docs are written from all of them). */
const only = process.env.BENCH_SETUPS?.split(',')
const rows: Row[] = []
for (let round = 1; round <= settings.rounds; round++) {
  const order = SETUPS.map((_, i) => SETUPS[(i + round - 1) % SETUPS.length]!)
  for (const setup of order) {
    if (only !== undefined && !only.includes(setup.id)) continue
    const row = await measure(setup, round, redis)
    rows.push(row)
    console.error(`round ${round} ${setup.id}: ${fixed(row.packetsPerSecond)} packets/s, p99 ${fixed(row.p99, 1)} ms, conn ${fixed(row.connCpuMicrosPerPacket, 1)} µs/packet, redis ${fixed(row.redisCpuMicrosPerPacket, 1)} µs/packet`)
  }
}
await redis.quit()

const memoryRate = median(rows.filter((r) => r.setup === 'memory').map((r) => r.packetsPerSecond))
const referenceRate = median(rows.filter((r) => r.setup === 'reference').map((r) => r.packetsPerSecond))
const lines = [
  '| setup | packets/s (median) | of conn on the memory store | of the reference | p50 ms | p99 ms | connector CPU µs/packet | Redis CPU µs/packet | not fulfilled |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...SETUPS.map((setup) => {
    const mine = rows.filter((r) => r.setup === setup.id)
    const rate = median(mine.map((r) => r.packetsPerSecond))
    return `| ${setup.name} | ${fixed(rate)} | ${fixed(100 * rate / memoryRate)} % | ${fixed(rate / referenceRate, 2)} × | ${fixed(median(mine.map((r) => r.p50)), 1)} | ${fixed(median(mine.map((r) => r.p99)), 1)} | ` +
      `${fixed(median(mine.map((r) => r.connCpuMicrosPerPacket)), 1)} | ${fixed(median(mine.map((r) => r.redisCpuMicrosPerPacket)), 1)} | ${mine.reduce((s, r) => s + r.notFulfilled, 0)} |`
  })
]
console.log(lines.join('\n'))
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`
if (out !== undefined) await writeFile(out, JSON.stringify({ date: new Date().toISOString(), machine, settings, rows }, null, 2) + '\n')
if (doc !== undefined) {
  await writeFile(doc, [
    '# The redis store\'s cost: conn on Redis against the memory store',
    '',
    `Generated by \`pnpm bench:redis\` (packages/bench/src/redis-bench.ts) on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine}; ` +
      `Redis on 127.0.0.1:6379 on the same machine. Raw rounds: [redis-benchmark.json](redis-benchmark.json).`,
    '',
    `Settings: ${settings.inFlight} packets in flight in all (split evenly over the instances), warm-up ${settings.warmup} ms, measured ` +
      `${settings.duration} ms, ${settings.rounds} round(s), medians shown. Both accounts have balance limits, so every packet ` +
      'reserves on both accounts before it is forwarded and commits both on the Fulfill (four balance changes per packet, sent to Redis in batched script calls).',
    '',
    ...lines,
    '',
    'Each conn instance runs the config an ilp-connector operator writes (accounts name `"plugin": "ilp-plugin-btp"` with its ' +
      'listener options, every default middleware, the `conn` bin\'s node flags); the reference row is ilp-connector 23 with ' +
      'ilp-plugin-btp accounts and the same balance limits. Each instance has its own lean BTP sender and receiver (the processes of `pnpm bench`). Connector CPU is summed over the ' +
      'instances; Redis CPU is `used_cpu_user + used_cpu_sys` from `INFO cpu` over the measured period, divided by the packets ' +
      'answered. On a 2-core machine the three-instance row shares two cores between three connectors, three senders, three ' +
      'receivers and Redis: it shows the cost of sharing, not the scaling of a real cluster.',
    ''
  ].join('\n'))
}
