/**
 * `pnpm bench`: drives real connector processes with a separate BTP sender and receiver process and reports
 * fulfilled packets/s, p50/p99 latency, connector CPU per packet and peak RSS, per target and packets in flight.
 * Targets run in alternating rounds so a slow moment of the machine does not favour one; medians are reported.
 *
 * Options (environment): BENCH_ROUNDS (3), BENCH_DURATION ms per measurement (4000), BENCH_IN_FLIGHT list
 * ("1,10,100"), BENCH_TARGETS ("conn-default,conn-empty"), BENCH_OUT (JSON results file, optional),
 * BENCH_PROFILE (directory for CPU profiles of the connector processes, optional).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

interface Target { name: string, script: string, env: Record<string, string> }

const HERE = fileURLToPath(new URL('.', import.meta.url))
const TARGETS: Record<string, Target> = {
  'conn-default': { name: 'conn, default middlewares', script: 'connector.ts', env: { BENCH_PIPELINE: 'default' } },
  'conn-empty': { name: 'conn, no middlewares', script: 'connector.ts', env: { BENCH_PIPELINE: 'empty' } }
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const duration = Number(process.env.BENCH_DURATION ?? 4000)
const levels = (process.env.BENCH_IN_FLIGHT ?? '1,10,100').split(',').map(Number)
const targets = (process.env.BENCH_TARGETS ?? 'conn-default,conn-empty').split(',').map((t) => {
  const target = TARGETS[t]
  if (target === undefined) throw new Error(`unknown target ${t}; known: ${Object.keys(TARGETS).join(', ')}`)
  return { id: t, ...target }
})

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function start (script: string, env: Record<string, string>): ChildProcess {
  // BENCH_PROFILE=<dir>: write a V8 CPU profile of each connector process there (node --cpu-prof)
  const profile = script === 'connector.ts' && process.env.BENCH_PROFILE !== undefined
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : []
  return fork(HERE + script, [], {
    execArgv: ['--import', 'tsx', ...profile],
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

function next<T extends { type: string }> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T): void => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message)
    }
    const onExit = (code: number | null): void => reject(new Error(`child exited (${String(code)}) before sending ${type}`))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

interface Measurement { packetsPerSecond: number, p50: number, p99: number, cpuMicrosPerPacket: number, maxRssMb: number, rejected: number }

async function measure (target: Target, inFlight: number): Promise<Measurement> {
  const [alicePort, bobPort] = [await freePort(), await freePort()]
  const connector = start(target.script, { ...target.env, BENCH_ALICE_PORT: String(alicePort), BENCH_BOB_PORT: String(bobPort) })
  await next(connector, 'started')
  const receiver = start('receiver.ts', { BENCH_PORT: String(bobPort) })
  const sender = start('sender.ts', {
    BENCH_PORT: String(alicePort),
    BENCH_IN_FLIGHT: String(inFlight),
    BENCH_DURATION: String(duration),
    // enough unique packets for 15,000 packets/s through warm-up and measurement
    BENCH_POOL: String(Math.ceil((duration + 2000) / 1000 * 15000))
  })
  await Promise.all([next(connector, 'ready'), next(receiver, 'ready'), next(sender, 'ready')])
  const marked = next(sender, 'mark').then(() => connector.send({ type: 'mark' }))
  const measured = next(sender, 'measured').then(async () => {
    connector.send({ type: 'report' })
    return await next<{ type: string, cpuMicros: number, maxRssKb: number }>(connector, 'report')
  })
  const result = next<{ type: string, fulfilled: number, rejected: number, seconds: number, p50: number, p99: number, exhausted: boolean }>(sender, 'result')
  sender.send({ type: 'go' })
  await marked
  const [report, outcome] = await Promise.all([measured, result])
  receiver.send({ type: 'stop' })
  // SIGINT lets a profiled connector write its profile; a plain one dies the same way
  connector.kill(process.env.BENCH_PROFILE !== undefined ? 'SIGINT' : 'SIGKILL')
  await Promise.all([once(sender), once(receiver), once(connector)])
  if (outcome.exhausted) console.error(`warning: ${target.name} at ${inFlight} in flight used up the packet pool`)
  const packets = outcome.fulfilled + outcome.rejected
  return {
    packetsPerSecond: outcome.fulfilled / outcome.seconds,
    p50: outcome.p50,
    p99: outcome.p99,
    cpuMicrosPerPacket: packets === 0 ? NaN : report.cpuMicros / packets,
    maxRssMb: report.maxRssKb / 1024,
    rejected: outcome.rejected
  }
}

function once (child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const results: Record<string, Record<number, Measurement[]>> = {}
for (let round = 1; round <= rounds; round++) {
  for (const inFlight of levels) {
    // alternate the order each round
    const order = round % 2 === 1 ? targets : [...targets].reverse()
    for (const target of order) {
      const m = await measure(target, inFlight)
      ;((results[target.id] ??= {})[inFlight] ??= []).push(m)
      console.error(`round ${round} ${target.id} @${inFlight}: ${m.packetsPerSecond.toFixed(0)} packets/s, p50 ${m.p50.toFixed(0)} µs, p99 ${m.p99.toFixed(0)} µs, ${m.cpuMicrosPerPacket.toFixed(1)} µs CPU/packet${m.rejected > 0 ? `, ${m.rejected} rejected` : ''}`)
    }
  }
}

const summary = targets.flatMap((target) => levels.map((inFlight) => {
  const ms = results[target.id]![inFlight]!
  return {
    target: target.id,
    name: target.name,
    inFlight,
    packetsPerSecond: median(ms.map((m) => m.packetsPerSecond)),
    p50: median(ms.map((m) => m.p50)),
    p99: median(ms.map((m) => m.p99)),
    cpuMicrosPerPacket: median(ms.map((m) => m.cpuMicrosPerPacket)),
    maxRssMb: median(ms.map((m) => m.maxRssMb))
  }
}))

console.log(`\n${rounds} rounds of ${duration} ms, medians (Node ${process.version}, ${(await import('node:os')).cpus().length} cores)\n`)
console.log('| target | in flight | fulfilled packets/s | p50 µs | p99 µs | connector CPU µs/packet | peak RSS MB |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const s of summary) {
  console.log(`| ${s.name} | ${s.inFlight} | ${s.packetsPerSecond.toFixed(0)} | ${s.p50.toFixed(0)} | ${s.p99.toFixed(0)} | ${s.cpuMicrosPerPacket.toFixed(1)} | ${s.maxRssMb.toFixed(0)} |`)
}
if (targets.length > 1) {
  const [a, b] = targets
  console.log(`\nratios ${a!.id} / ${b!.id}:`)
  for (const inFlight of levels) {
    const x = summary.find((s) => s.target === a!.id && s.inFlight === inFlight)!
    const y = summary.find((s) => s.target === b!.id && s.inFlight === inFlight)!
    console.log(`  @${inFlight}: packets/s ${(x.packetsPerSecond / y.packetsPerSecond).toFixed(2)}x, p99 ${(x.p99 / y.p99).toFixed(2)}x, CPU/packet ${(x.cpuMicrosPerPacket / y.cpuMicrosPerPacket).toFixed(2)}x`)
  }
}
if (process.env.BENCH_OUT !== undefined) await writeFile(process.env.BENCH_OUT, JSON.stringify({ rounds, duration, summary, results }, null, 2) + '\n')
