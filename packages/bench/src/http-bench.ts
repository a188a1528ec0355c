/**
 * `pnpm bench:http` (and the last section of `pnpm bench`): conn between a sender and a receiver linked over BTP
 * (the lean processes of `pnpm bench`) against the same over ILP-over-HTTP (@conn/plugin-http accounts; a
 * lean HTTP sender POSTing to alice's port, a lean HTTP server as bob's peer), HTTP/1.1 with keep-alive and
 * cleartext HTTP/2, BENCH_IN_FLIGHT packets in flight (default 100), memory store, every default middleware.
 * Reports packets/s, p50/p99 latency and conn's CPU per packet; rounds rotate the order. Writes
 * docs/http-benchmark.md and .json (BENCH_HTTP_DOC / BENCH_HTTP_OUT; BENCH_QUICK=1: neither).
 */
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@conn/testkit'
import type { ConnectorReport } from './connector-ipc.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { nextMessage, startProcess } from './processes.ts'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')
const quick = process.env.BENCH_QUICK === '1'
const settings = {
  rounds: Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3)),
  warmup: Number(process.env.BENCH_WARMUP ?? (quick ? 500 : 1500)),
  duration: Number(process.env.BENCH_DURATION ?? (quick ? 1000 : 5000)),
  inFlight: Number(process.env.BENCH_IN_FLIGHT ?? 100)
}
const out = process.env.BENCH_HTTP_OUT ?? (quick ? undefined : resolve(ROOT, 'docs/http-benchmark.json'))
const doc = process.env.BENCH_HTTP_DOC ?? (quick ? undefined : resolve(ROOT, 'docs/http-benchmark.md'))

interface Setup { id: string, name: string, http?: '1.1' | '2' }
const SETUPS: Setup[] = [
  { id: 'btp', name: 'conn, BTP accounts (@conn/plugin-btp)' },
  { id: 'http1', name: 'conn, ILP over HTTP/1.1 (@conn/plugin-http, keep-alive)', http: '1.1' },
  { id: 'http2', name: 'conn, ILP over HTTP/2 (@conn/plugin-http, cleartext)', http: '2' }
]
interface SenderResult { fulfilled: number, rejected: number, failed: number, seconds: number, p50: number, p99: number }
interface Row { round: number, setup: string, packetsPerSecond: number, p50: number, p99: number, connCpuMicrosPerPacket: number, notFulfilled: number }

async function measure (setup: Setup, round: number): Promise<Row> {
  const children: ChildProcess[] = []
  try {
    const http = setup.http
    const receiver = startProcess(http === undefined ? 'receiver.js' : 'http-receiver.js', http === undefined ? {} : { BENCH_HTTP: http })
    const sender = startProcess(http === undefined ? 'sender.js' : 'http-sender.js', {
      BENCH_IN_FLIGHT: String(settings.inFlight), BENCH_WARMUP: String(settings.warmup), BENCH_DURATION: String(settings.duration),
      BENCH_POOL: String(Math.ceil((settings.warmup + settings.duration) / 1000 * 80000) + 1000), ...(http === undefined ? {} : { BENCH_HTTP: http })
    })
    children.push(receiver, sender)
    const [ready] = await Promise.all([nextMessage<{ port?: number }>(receiver, 'ready'), nextMessage(sender, 'ready')])
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const connector = startProcess('connector-conn.js', {
      BENCH_MODE: 'pair',
      BENCH_TRANSPORT: '@conn/plugin-btp',
      BENCH_ALICE_PORT: String(alicePort),
      BENCH_BOB_PORT: String(bobPort),
      ...(http === undefined ? {} : { BENCH_HTTP: http, BENCH_RECEIVER_PORT: String(ready.port) })
    }, [...CONN_NODE_FLAGS, ...profileFlags(setup.id)])
    children.push(connector)
    if (http === undefined) receiver.send({ type: 'connect', port: bobPort })
    else await nextMessage(connector, 'ready', 30_000)
    sender.send({ type: 'connect', port: alicePort })
    await nextMessage(sender, 'first')
    const mark = nextMessage(sender, 'mark')
    const measured = nextMessage(sender, 'measured')
    const result = nextMessage<SenderResult>(sender, 'result')
    sender.send({ type: 'load' })
    await mark
    connector.send({ type: 'mark' })
    await measured
    const report = nextMessage<ConnectorReport>(connector, 'report')
    connector.send({ type: 'report' })
    const [outcome, cpu] = await Promise.all([result, report])
    const packets = outcome.fulfilled + outcome.rejected + outcome.failed
    return {
      round,
      setup: setup.id,
      packetsPerSecond: outcome.fulfilled / outcome.seconds,
      p50: outcome.p50 / 1000,
      p99: outcome.p99 / 1000,
      connCpuMicrosPerPacket: cpu.cpuMicros / packets,
      notFulfilled: packets - outcome.fulfilled
    }
  } finally {
    // SIGINT lets a profiled connector write its profile
    for (const child of children) child.kill(process.env.BENCH_PROFILE !== undefined ? 'SIGINT' : 'SIGKILL')
    if (process.env.BENCH_PROFILE !== undefined) await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** BENCH_PROFILE=<dir>: a V8 CPU profile of each connector (node --cpu-prof). */
function profileFlags (name: string): string[] {
  const dir = process.env.BENCH_PROFILE
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
}

const median = (values: number[]): number => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!
}
const fixed = (n: number, digits = 0): string => Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })

const rows: Row[] = []
for (let round = 1; round <= settings.rounds; round++) {
  for (const setup of SETUPS.map((_, i) => SETUPS[(i + round - 1) % SETUPS.length]!)) {
    const row = await measure(setup, round)
    rows.push(row)
    console.error(`round ${round} ${setup.id}: ${fixed(row.packetsPerSecond)} packets/s, p99 ${fixed(row.p99, 1)} ms, conn ${fixed(row.connCpuMicrosPerPacket, 1)} µs/packet`)
  }
}
const btpRate = median(rows.filter((r) => r.setup === 'btp').map((r) => r.packetsPerSecond))
const lines = [
  '| link | packets/s (median) | of BTP | p50 ms | p99 ms | conn CPU µs/packet | not fulfilled |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...SETUPS.map((setup) => {
    const mine = rows.filter((r) => r.setup === setup.id)
    const rate = median(mine.map((r) => r.packetsPerSecond))
    return `| ${setup.name} | ${fixed(rate)} | ${fixed(100 * rate / btpRate)} % | ${fixed(median(mine.map((r) => r.p50)), 1)} | ${fixed(median(mine.map((r) => r.p99)), 1)} | ` +
      `${fixed(median(mine.map((r) => r.connCpuMicrosPerPacket)), 1)} | ${mine.reduce((s, r) => s + r.notFulfilled, 0)} |`
  })
]
console.log(lines.join('\n'))
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`
if (out !== undefined) await writeFile(out, JSON.stringify({ date: new Date().toISOString(), machine, settings, rows }, null, 2) + '\n')
if (doc !== undefined) {
  await writeFile(doc, [
    '# ILP over HTTP against BTP',
    '',
    `Generated by \`pnpm bench:http\` (packages/bench/src/http-bench.ts) on ${new Date().toISOString().slice(0, 10)}. Machine: ${machine}. ` +
      'Raw rounds: [http-benchmark.json](http-benchmark.json).',
    '',
    `Settings: ${settings.inFlight} packets in flight, warm-up ${settings.warmup} ms, measured ${settings.duration} ms, ${settings.rounds} round(s), medians shown; ` +
      'conn with every default middleware on the memory store, the `conn` bin\'s node flags.',
    '',
    ...lines,
    '',
    'The BTP row is the setup of `pnpm bench` (lean BTP sender and receiver processes). The HTTP rows give alice and bob ' +
      '`@conn/plugin-http` accounts: a lean sender POSTs Prepares to alice\'s port (keep-alive connections, or one HTTP/2 ' +
      'session) and conn POSTs them on to a lean HTTP server standing for bob. CPU is the connector process\'s over the ' +
      'measured period, divided by the packets answered; the load generators share the same two cores.',
    ''
  ].join('\n'))
}
