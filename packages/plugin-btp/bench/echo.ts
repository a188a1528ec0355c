/**
 * Echo micro-benchmark: round trips per second and CPU per round trip of @conn/plugin-btp against
 * ilp-plugin-btp 1.5, on loopback. A BTP client sends ILP Prepares to a BTP server whose data handler answers
 * with a precomputed Fulfill, with 1, 10 and 100 requests in flight, for a fixed time per round; the
 * implementations alternate round by round and the table shows medians. A script, not a test:
 *
 *   cd packages/plugin-btp && node --import tsx bench/echo.ts [--duration 2000] [--rounds 3] [--inflight 1,10,100]
 *     [--split [--client conn|ref]]
 *
 * Default: both sides in this process (CPU is the whole process: client + server). `--split` runs the client
 * in a child process, so the CPU column is the server side alone: a connector's account plugin. The client is
 * the same implementation as the server unless `--client` picks one for both.
 */
import { fork } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { freePort } from '@conn/testkit'
import { fileURLToPath } from 'node:url'
import BtpPluginModule from 'ilp-plugin-btp'
import * as IlpPacket from 'ilp-packet'
import { BtpPlugin } from '../src/index.ts'

const RefBtpPlugin = BtpPluginModule.default
type Impl = 'conn' | 'ref'
interface AnyPlugin {
  connect: () => Promise<void>
  disconnect: () => Promise<void>
  sendData: (data: Buffer) => Promise<Buffer>
  registerDataHandler: (h: (data: Buffer) => Promise<Buffer>) => void
}

const SECRET = 'bench-secret'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf('--' + name)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}


function makeServer (impl: Impl, port: number): AnyPlugin {
  const listener = { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }
  return (impl === 'conn' ? new BtpPlugin({ listener, pingInterval: 0 }) : new RefBtpPlugin({ listener })) as unknown as AnyPlugin
}

function makeClient (impl: Impl, port: number): AnyPlugin {
  const server = `btp+ws://:${SECRET}@127.0.0.1:${port}`
  return (impl === 'conn'
    ? new BtpPlugin({ server, reconnectIntervals: [20], pingInterval: 0 })
    : new RefBtpPlugin({ server, reconnectIntervals: [20] })) as unknown as AnyPlugin
}

const fulfillment = randomBytes(32)
const PREPARE = IlpPacket.serializeIlpPrepare({
  amount: '1000',
  destination: 'test.bench.receiver.abc123',
  executionCondition: createHash('sha256').update(fulfillment).digest(),
  expiresAt: new Date(Date.now() + 3_600_000),
  data: randomBytes(100)
})
const FULFILL = IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })

interface LoadResult { count: number, ms: number, p50: number, p99: number }

/** `inflight` workers send Prepares back to back for `duration` ms. */
async function load (client: AnyPlugin, inflight: number, duration: number): Promise<LoadResult> {
  const latencies: number[] = []
  let count = 0
  const start = performance.now()
  const end = start + duration
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      const reply = await client.sendData(PREPARE)
      if (reply[0] !== 13) throw new Error('expected a Fulfill')
      latencies.push(performance.now() - t0)
      count++
    }
  }))
  const ms = performance.now() - start
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return { count, ms, p50: at(0.5), p99: at(0.99) }
}

interface Row { impl: Impl, inflight: number, rps: number, cpuUs: number, p50: number, p99: number }

/** One round: fresh server and client, a short warm-up, then the measured load. */
async function round (impl: Impl, inflight: number, duration: number, split: boolean): Promise<Row> {
  const port = await freePort()
  const server = makeServer(impl, port)
  server.registerDataHandler(async () => FULFILL)
  if (!split) {
    const client = makeClient(impl, port)
    await Promise.all([server.connect(), client.connect()])
    await load(client, inflight, Math.min(300, duration / 4))
    const cpu0 = process.cpuUsage()
    const result = await load(client, inflight, duration)
    const cpu = process.cpuUsage(cpu0)
    await client.disconnect()
    await server.disconnect()
    return { impl, inflight, rps: result.count / (result.ms / 1000), cpuUs: (cpu.user + cpu.system) / result.count, p50: result.p50, p99: result.p99 }
  }
  const clientImpl = arg('client', impl)
  const child = fork(fileURLToPath(import.meta.url), ['--child', clientImpl, String(port), String(inflight), String(duration)], {
    execArgv: ['--import', 'tsx']
  })
  const messages: Array<Record<string, number | string>> = []
  const next = async (type: string): Promise<Record<string, number | string>> => await new Promise((resolve, reject) => {
    const check = (): void => {
      const i = messages.findIndex((m) => m.type === type)
      if (i >= 0) { resolve(messages.splice(i, 1)[0]!); return }
      setTimeout(check, 5)
    }
    child.once('exit', (code) => { if (code !== 0) reject(new Error(`client exited with ${String(code)}`)) })
    check()
  })
  child.on('message', (m) => { messages.push(m as Record<string, number | string>) })
  await server.connect()
  await next('warm')
  const cpu0 = process.cpuUsage()
  child.send('go')
  const result = await next('done') as unknown as LoadResult
  const cpu = process.cpuUsage(cpu0)
  child.send('exit')
  await new Promise((resolve) => child.once('exit', resolve))
  await server.disconnect()
  return { impl, inflight, rps: result.count / (result.ms / 1000), cpuUs: (cpu.user + cpu.system) / result.count, p50: result.p50, p99: result.p99 }
}

/** The client side of --split: connect, warm up, wait for 'go', load, report. */
async function child (): Promise<void> {
  const [, impl, port, inflight, duration] = process.argv.slice(process.argv.indexOf('--child'))
  const client = makeClient(impl as Impl, Number(port))
  await client.connect()
  await load(client, Number(inflight), Math.min(300, Number(duration) / 4))
  process.send!({ type: 'warm' })
  await new Promise((resolve) => process.once('message', resolve))
  const result = await load(client, Number(inflight), Number(duration))
  process.send!({ type: 'done', ...result })
  await new Promise((resolve) => process.once('message', resolve))
  await client.disconnect()
  process.exit(0)
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main (): Promise<void> {
  const duration = Number(arg('duration', '2000'))
  const rounds = Number(arg('rounds', '3'))
  const inflights = arg('inflight', '1,10,100').split(',').map(Number)
  const split = process.argv.includes('--split')
  const clients = arg('client', 'same as the server')
  console.log(`echo over BTP on loopback, ${rounds} interleaved rounds of ${duration} ms, ${split ? `client (${clients}) in a child process (CPU: server side only)` : 'client and server in one process (CPU: both sides)'}`)
  console.log(`node ${process.version}, packet ${PREPARE.length} bytes`)
  const table: string[] = ['| in flight | implementation | round trips/s | CPU µs / round trip | p50 ms | p99 ms |', '|---:|---|---:|---:|---:|---:|']
  for (const inflight of inflights) {
    const rows: Record<Impl, Row[]> = { conn: [], ref: [] }
    for (let r = 0; r < rounds; r++) {
      for (const impl of (r % 2 === 0 ? ['conn', 'ref'] : ['ref', 'conn']) as Impl[]) {
        rows[impl].push(await round(impl, inflight, duration, split))
      }
    }
    const med = (impl: Impl): Omit<Row, 'impl' | 'inflight'> => ({
      rps: median(rows[impl].map((x) => x.rps)),
      cpuUs: median(rows[impl].map((x) => x.cpuUs)),
      p50: median(rows[impl].map((x) => x.p50)),
      p99: median(rows[impl].map((x) => x.p99))
    })
    const conn = med('conn')
    const ref = med('ref')
    for (const [name, m] of [['@conn/plugin-btp', conn], ['ilp-plugin-btp 1.5.0', ref]] as const) {
      table.push(`| ${inflight} | ${name} | ${m.rps.toFixed(0)} | ${m.cpuUs.toFixed(1)} | ${m.p50.toFixed(3)} | ${m.p99.toFixed(3)} |`)
    }
    table.push(`| ${inflight} | ratio conn/ref | ${(conn.rps / ref.rps).toFixed(2)}x | ${(conn.cpuUs / ref.cpuUs).toFixed(2)}x | ${(conn.p50 / ref.p50).toFixed(2)}x | ${(conn.p99 / ref.p99).toFixed(2)}x |`)
    console.log(table.slice(-3).join('\n'))
  }
  console.log('\n' + table.join('\n'))
}

if (process.argv.includes('--child')) await child()
else await main()
