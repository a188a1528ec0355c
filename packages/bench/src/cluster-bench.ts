/**
 * `pnpm bench:cluster`: what the cluster's internal hop costs. The load of `pnpm bench:redis` (BENCH_IN_FLIGHT
 * packets in flight, default 100, from a lean BTP sender on alice to a lean receiver on bob, balance limits on
 * both so every packet reserves and commits in Redis), through:
 * - one conn on the redis store, no cluster;
 * - one conn on the redis store with `storeConfig.cluster`: alice and bob on the same instance (the local path
 *   with the cluster's check);
 * - two conn instances in one cluster: alice connected to the first, bob to the second, so every packet runs
 *   the pipeline on the first and crosses the internal link to the second, which hands it to bob's plugin.
 * Packets/s, the sender's p50/p99 latency, the connectors' CPU per packet (summed) and Redis's. Rounds rotate
 * the order. Prints a Markdown table (stdout); BENCH_CLUSTER_OUT=<file>: the raw rounds as JSON too.
 */
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { cpus } from 'node:os'
import { Redis } from 'ioredis'
import { freePort } from '@conn/testkit'
import type { ConnectorReport } from './connector-ipc.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { REDIS_URL, fixed, median, redisCpuMicros, roundSettings } from './redis-shared.ts'
import { nextMessage, startProcess } from './processes.ts'

const settings = roundSettings

interface Setup { id: string, name: string, cluster: boolean, across: boolean }
const SETUPS: Setup[] = [
  { id: 'redis', name: 'conn, redis store, no cluster (alice and bob on one instance)', cluster: false, across: false },
  { id: 'same', name: 'cluster on, alice and bob on the same instance', cluster: true, across: false },
  { id: 'across', name: 'cluster on, alice on instance 1, bob on instance 2 (internal hop)', cluster: true, across: true }
]

interface SenderResult { fulfilled: number, rejected: number, failed: number, seconds: number, p50: number, p99: number }
interface Row { round: number, setup: string, packetsPerSecond: number, p50: number, p99: number, connCpuMicrosPerPacket: number, redisCpuMicrosPerPacket: number, notFulfilled: number }

async function measure (setup: Setup, round: number, redis: Redis): Promise<Row> {
  const prefix = `conn-bench-cluster:${randomUUID()}:`
  const pool = String(Math.ceil((settings.warmup + settings.duration) / 1000 * 80000) + 1000)
  const children: ChildProcess[] = []
  try {
    const receiver = startProcess('receiver.js', {})
    const sender = startProcess('sender.js', { BENCH_IN_FLIGHT: String(settings.inFlight), BENCH_WARMUP: String(settings.warmup), BENCH_DURATION: String(settings.duration), BENCH_POOL: pool })
    children.push(receiver, sender)
    await Promise.all([nextMessage(receiver, 'ready'), nextMessage(sender, 'ready')])
    const storeConfig = { url: REDIS_URL, prefix, ...(setup.cluster ? { cluster: { secret: 'bench-cluster-secret-0123456789' } } : {}) }
    const startConnector = async (): Promise<{ connector: ChildProcess, alicePort: number, bobPort: number }> => {
      const [alicePort, bobPort] = [await freePort(), await freePort()]
      const connector = startProcess('connector-conn.js', {
        BENCH_MODE: 'pair',
        BENCH_TRANSPORT: '@conn/plugin-btp',
        BENCH_PLUGIN_NAME: 'ilp-plugin-btp',
        BENCH_ALICE_PORT: String(alicePort),
        BENCH_BOB_PORT: String(bobPort),
        BENCH_BALANCE: '1',
        BENCH_STORE: 'redis',
        BENCH_STORE_CONFIG: JSON.stringify(storeConfig),
        BENCH_CONNECT_TIMEOUT: setup.across ? '300' : '10000'
      }, CONN_NODE_FLAGS)
      children.push(connector)
      return { connector, alicePort, bobPort }
    }
    const first = await startConnector()
    const second = setup.across ? await startConnector() : first
    const connectors = setup.across ? [first.connector, second.connector] : [first.connector]
    receiver.send({ type: 'connect', port: second.bobPort })
    sender.send({ type: 'connect', port: first.alicePort })
    await nextMessage(sender, 'first')
    const mark = nextMessage(sender, 'mark')
    const measured = nextMessage(sender, 'measured')
    const result = nextMessage<SenderResult>(sender, 'result')
    sender.send({ type: 'load' })
    await mark
    for (const connector of connectors) connector.send({ type: 'mark' })
    const redisBefore = await redisCpuMicros(redis)
    await measured
    const redisAfter = await redisCpuMicros(redis)
    const reports = await Promise.all(connectors.map(async (connector) => {
      const report = nextMessage<ConnectorReport>(connector, 'report')
      connector.send({ type: 'report' })
      return await report
    }))
    const outcome = await result
    const packets = outcome.fulfilled + outcome.rejected + outcome.failed
    return {
      round,
      setup: setup.id,
      packetsPerSecond: outcome.fulfilled / outcome.seconds,
      p50: outcome.p50 / 1000,
      p99: outcome.p99 / 1000,
      connCpuMicrosPerPacket: reports.reduce((sum, r) => sum + r.cpuMicros, 0) / packets,
      redisCpuMicrosPerPacket: (redisAfter - redisBefore) / packets,
      notFulfilled: packets - outcome.fulfilled
    }
  } finally {
    for (const child of children) child.kill('SIGKILL')
    const keys = await redis.keys(prefix + '*')
    if (keys.length > 0) await redis.del(...keys)
  }
}


const redis = new Redis(REDIS_URL, { lazyConnect: true })
await redis.connect()
const rows: Row[] = []
for (let round = 1; round <= settings.rounds; round++) {
  for (const setup of SETUPS.map((_, i) => SETUPS[(i + round - 1) % SETUPS.length]!)) {
    const row = await measure(setup, round, redis)
    rows.push(row)
    console.error(`round ${round} ${setup.id}: ${fixed(row.packetsPerSecond)} packets/s, p50 ${fixed(row.p50, 1)} ms, p99 ${fixed(row.p99, 1)} ms, conn ${fixed(row.connCpuMicrosPerPacket, 1)} µs/packet, redis ${fixed(row.redisCpuMicrosPerPacket, 1)} µs/packet`)
  }
}
await redis.quit()
const base = median(rows.filter((r) => r.setup === 'redis').map((r) => r.packetsPerSecond))
console.log([
  `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}; ${settings.inFlight} in flight, warm-up ${settings.warmup} ms, measured ${settings.duration} ms, ${settings.rounds} round(s), medians`,
  '',
  '| setup | packets/s | of no cluster | p50 ms | p99 ms | conn CPU µs/packet (all instances) | Redis CPU µs/packet | not fulfilled |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...SETUPS.map((setup) => {
    const mine = rows.filter((r) => r.setup === setup.id)
    const rate = median(mine.map((r) => r.packetsPerSecond))
    return `| ${setup.name} | ${fixed(rate)} | ${fixed(100 * rate / base)} % | ${fixed(median(mine.map((r) => r.p50)), 1)} | ${fixed(median(mine.map((r) => r.p99)), 1)} | ` +
      `${fixed(median(mine.map((r) => r.connCpuMicrosPerPacket)), 1)} | ${fixed(median(mine.map((r) => r.redisCpuMicrosPerPacket)), 1)} | ${mine.reduce((s, r) => s + r.notFulfilled, 0)} |`
  })
].join('\n'))
if (process.env.BENCH_CLUSTER_OUT !== undefined) await writeFile(process.env.BENCH_CLUSTER_OUT, JSON.stringify({ date: new Date().toISOString(), settings, rows }, null, 2) + '\n')
