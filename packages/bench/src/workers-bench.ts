/**
 * `pnpm bench:workers`: what `conn --workers N` gets out of one machine. The real `conn` bin on the redis store
 * with its cluster (balance limits on alice and bob, so every packet reserves and commits in Redis), run as one
 * process (`--workers 1`) and as N worker processes (BENCH_WORKERS, default 2). The load is the lean BTP
 * sender and receiver of `pnpm bench`: one pair per worker, all on the same two shared ports, BENCH_IN_FLIGHT
 * packets in flight in all (default 100) split between the senders; with several workers node:cluster hands
 * each worker one sender and one receiver (checked in the cluster's registry, reported if not).
 * Packets/s, the senders' p50/p99, conn's CPU per packet (the primary and every worker, from /proc) and Redis's.
 * BENCH_PAIRS=1 keeps one pair (the whole load on one worker). Rounds alternate the order. Prints a Markdown table (stdout); BENCH_WORKERS_OUT=<file>: the raw rounds as JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { Redis } from 'ioredis'
import { freePort } from '@conn/testkit'
import { join } from 'node:path'
import { CLI_DIR } from './connector-ipc.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { REDIS_URL, fixed, median, redisCpuMicros, roundSettings } from './redis-shared.ts'
import { nextMessage, startProcess } from './processes.ts'

const settings = { ...roundSettings, workers: Number(process.env.BENCH_WORKERS ?? 2) }
const TICKS_PER_SECOND = 100 // USER_HZ on Linux
const CONN_BIN = join(CLI_DIR, 'bin', 'conn.js')

interface SenderResult { fulfilled: number, rejected: number, failed: number, seconds: number, p50: number, p99: number }
interface Row {
  round: number
  workers: number
  packetsPerSecond: number
  p50: number
  p99: number
  connCpuMicrosPerPacket: number
  redisCpuMicrosPerPacket: number
  notFulfilled: number
  /** Whether each worker held one sender and one receiver. */
  spread: boolean
}

/** utime + stime of a process (µs), from /proc. */
function processCpuMicros (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND * 1e6
}

/** Starts `conn --workers n`; resolves with it and the pids of its processes once every worker is ready. */
async function startConn (workers: number, env: Record<string, string>): Promise<{ conn: ChildProcess, pids: number[] }> {
  const conn = spawn(process.execPath, [...CONN_NODE_FLAGS, CONN_BIN, '--workers', String(workers)], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const pids = [conn.pid!]
  let buffered = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('conn: not ready in 60 s')), 60000)
    conn.once('exit', (code) => { clearTimeout(timer); reject(new Error(`conn exited (${String(code)}) while starting`)) })
    conn.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (!line.startsWith('{')) continue
        const record = JSON.parse(line) as { msg?: string, workerPid?: number, level?: number }
        if (record.msg === 'worker ready' && record.workerPid !== undefined) pids.push(record.workerPid)
        if ((record.level ?? 0) >= 50) process.stderr.write(line + '\n')
        if ((workers === 1 && record.msg === 'connector ready') || (workers > 1 && record.msg === 'all workers ready')) {
          clearTimeout(timer)
          resolve()
        }
      }
    })
  })
  conn.removeAllListeners('exit')
  return { conn, pids }
}

async function measure (workers: number, round: number, redis: Redis): Promise<Row> {
  const prefix = `test-workers-bench:${randomUUID()}:`
  // BENCH_PAIRS=1: one pair whatever the workers (all the load on one worker: what the other costs idle)
  const pairs = Math.min(workers, Number(process.env.BENCH_PAIRS ?? workers))
  const perSender = Math.ceil(settings.inFlight / pairs)
  const pool = String(Math.ceil((settings.warmup + settings.duration) / 1000 * 80000 / pairs) + 1000)
  const children: ChildProcess[] = []
  let conn: ChildProcess | undefined
  try {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const account = (port: number): Record<string, unknown> => ({
      relation: 'child',
      plugin: 'ilp-plugin-btp',
      assetCode: 'USD',
      assetScale: 9,
      options: { listener: { port, secret: 'bench', wsOpts: { host: '127.0.0.1', port } } },
      rateLimit: { refillPeriod: 1000, refillCount: 1000000, capacity: 1000000 },
      balance: { minimum: '-1000000000000000000', maximum: '1000000000000000000' }
    })
    const started = await startConn(workers, {
      CONNECTOR_ILP_ADDRESS: 'test.bench',
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_INITIAL_CONNECT_TIMEOUT: '300',
      CONNECTOR_STORE: 'redis',
      CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix, cluster: { secret: 'bench-workers-secret-0123456789' } }),
      CONNECTOR_ACCOUNTS: JSON.stringify({ alice: account(alicePort), bob: account(bobPort) })
    })
    conn = started.conn
    const pids = started.pids
    const receivers = Array.from({ length: pairs }, () => startProcess('receiver.js', {}))
    const senders = Array.from({ length: pairs }, () => startProcess('sender.js', {
      BENCH_IN_FLIGHT: String(perSender), BENCH_WARMUP: String(settings.warmup), BENCH_DURATION: String(settings.duration), BENCH_POOL: pool
    }))
    children.push(...receivers, ...senders)
    await Promise.all([...receivers, ...senders].map(async (child) => { await nextMessage(child, 'ready') }))
    // one at a time: node:cluster hands each new connection on a port to the next worker
    for (const receiver of receivers) {
      receiver.send({ type: 'connect', port: bobPort })
      await nextMessage(receiver, 'connected')
    }
    for (const sender of senders) {
      sender.send({ type: 'connect', port: alicePort })
      await nextMessage(sender, 'connected')
    }
    await Promise.all(senders.map(async (sender) => { await nextMessage(sender, 'first') }))
    const spread = pairs === 1 || await eachWorkerHoldsBoth(redis, prefix, workers)

    const mark = nextMessage(senders[0]!, 'mark')
    const measured = nextMessage(senders[0]!, 'measured')
    const results = senders.map(async (sender) => await nextMessage<SenderResult>(sender, 'result'))
    for (const sender of senders) sender.send({ type: 'load' })
    await mark
    const connBefore = pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0)
    const redisBefore = await redisCpuMicros(redis)
    await measured
    const connAfter = pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0)
    const redisAfter = await redisCpuMicros(redis)
    const outcomes = await Promise.all(results)
    const fulfilled = outcomes.reduce((sum, o) => sum + o.fulfilled, 0)
    const packets = outcomes.reduce((sum, o) => sum + o.fulfilled + o.rejected + o.failed, 0)
    const seconds = Math.max(...outcomes.map((o) => o.seconds))
    return {
      round,
      workers,
      packetsPerSecond: fulfilled / seconds,
      p50: median(outcomes.map((o) => o.p50)) / 1000,
      p99: Math.max(...outcomes.map((o) => o.p99)) / 1000,
      connCpuMicrosPerPacket: (connAfter - connBefore) / packets,
      redisCpuMicrosPerPacket: (redisAfter - redisBefore) / packets,
      notFulfilled: packets - fulfilled,
      spread
    }
  } finally {
    for (const child of children) if (child !== conn) child.kill('SIGKILL')
    // conn shuts down gracefully (its workers leave the cluster's registry), so nothing is written after the cleanup
    if (conn !== undefined && conn.exitCode === null) {
      const exited = new Promise((resolve) => conn!.once('exit', resolve))
      conn.kill('SIGTERM')
      const timer = setTimeout(() => conn!.kill('SIGKILL'), 10000)
      await exited
      clearTimeout(timer)
    }
    const keys = await redis.keys(prefix + '*')
    if (keys.length > 0) await redis.del(...keys)
  }
}

/** From the cluster's registry: every worker holds a connection of alice and of bob. */
async function eachWorkerHoldsBoth (redis: Redis, prefix: string, workers: number): Promise<boolean> {
  const keys = await redis.keys(prefix + 'cluster:member:*')
  const entries = await Promise.all(keys.map(async (key) => JSON.parse(await redis.get(key) ?? '{}') as { accounts?: string[] }))
  return entries.length === workers && entries.every((entry) => entry.accounts?.includes('alice') === true && entry.accounts.includes('bob'))
}


const redis = new Redis(REDIS_URL, { lazyConnect: true })
await redis.connect()
const load = loadavg()[0]!
const counts = [1, settings.workers]
const rows: Row[] = []
for (let round = 1; round <= settings.rounds; round++) {
  for (const workers of round % 2 === 1 ? counts : [...counts].reverse()) {
    const row = await measure(workers, round, redis)
    rows.push(row)
    console.error(`round ${round}, ${workers} worker(s): ${fixed(row.packetsPerSecond)} packets/s, p50 ${fixed(row.p50, 1)} ms, p99 ${fixed(row.p99, 1)} ms, ` +
      `conn ${fixed(row.connCpuMicrosPerPacket, 1)} µs/packet, redis ${fixed(row.redisCpuMicrosPerPacket, 1)} µs/packet${row.spread ? '' : ' (connections NOT spread over the workers)'}`)
  }
}
await redis.quit()
const base = median(rows.filter((r) => r.workers === 1).map((r) => r.packetsPerSecond))
console.log([
  `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}; load average ${load.toFixed(2)} before the run; ` +
    `${settings.inFlight} in flight, warm-up ${settings.warmup} ms, measured ${settings.duration} ms, ${settings.rounds} round(s), medians`,
  '',
  '| conn | packets/s | of 1 worker | p50 ms | p99 ms | conn CPU µs/packet (all processes) | Redis CPU µs/packet | not fulfilled |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...counts.map((workers) => {
    const mine = rows.filter((r) => r.workers === workers)
    const rate = median(mine.map((r) => r.packetsPerSecond))
    const label = workers === 1 ? '1 process' : `--workers ${workers}${mine.every((r) => r.spread) ? '' : ' (not always spread)'}`
    return `| ${label} | ${fixed(rate)} | ${fixed(100 * rate / base)} % | ${fixed(median(mine.map((r) => r.p50)), 1)} | ${fixed(median(mine.map((r) => r.p99)), 1)} | ` +
      `${fixed(median(mine.map((r) => r.connCpuMicrosPerPacket)), 1)} | ${fixed(median(mine.map((r) => r.redisCpuMicrosPerPacket)), 1)} | ${mine.reduce((s, r) => s + r.notFulfilled, 0)} |`
  })
].join('\n'))
if (process.env.BENCH_WORKERS_OUT !== undefined) await writeFile(process.env.BENCH_WORKERS_OUT, JSON.stringify({ date: new Date().toISOString(), settings, load, rows }, null, 2) + '\n')
