/**
 * `pnpm bench`: the side-by-side benchmark of conn and the reference connector (ilp-connector 23).
 *
 * Throughput: for each round, each packets-in-flight level and each target (in an order that rotates every
 * round, so no target always runs first or last), a fresh connector process with two BTP child accounts is
 * driven by a sender and a receiver process (lean BTP clients, see btp-ws.ts) for a warm-up and a measured
 * period; the connector reports its CPU time over that period and its peak RSS. The same run gives a
 * start-up sample per target: process spawn to the first fulfilled packet.
 * Sustained load: conn and the reference at 100 in flight for BENCH_SUSTAINED ms, their RSS read from /proc
 * every 250 ms (a connector's memory can keep growing long after a short round ends).
 * Memory: a connector with one multi-account (mini-accounts) child account, and BENCH_CHILDREN BTP clients
 * connected to it from separate processes; its RSS before and after.
 * Medians over the rounds go to stdout, to BENCH_OUT (JSON with every raw round) and to BENCH_DOC (markdown).
 * Options: see README.md.
 */
import { execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { freePort } from '@conn/testkit'
import { cpus, release, totalmem, platform } from 'node:os'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { numberOption, type ConnectorReport } from './connector-ipc.ts'
import { nextMessage as next, startProcess } from './processes.ts'
import { CONN_NODE_FLAGS, firstAvailable, unavailable, DEFAULT_TARGETS, REFERENCE, TARGETS, type Target } from './targets.ts'
import { markdown, summarize, type BenchResults, type ChildrenMeasurement, type Measurement, type Skipped } from './report.ts'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = resolve(HERE, '../../..')
const quick = process.env.BENCH_QUICK === '1'
const settings = {
  rounds: numberOption('BENCH_ROUNDS', quick ? 1 : 3),
  warmup: numberOption('BENCH_WARMUP', quick ? 500 : 1000),
  duration: numberOption('BENCH_DURATION', quick ? 1000 : 4000),
  inFlight: (process.env.BENCH_IN_FLIGHT ?? '1,10,100').split(',').map(Number),
  maxRate: numberOption('BENCH_MAX_RATE', 80000),
  // memory under sustained load: conn and the reference at 100 in flight for this long (0: not measured)
  sustained: numberOption('BENCH_SUSTAINED', quick ? 0 : 30000),
  sustainedRounds: numberOption('BENCH_SUSTAINED_ROUNDS', 3),
  sustainedInFlight: numberOption('BENCH_SUSTAINED_IN_FLIGHT', 100),
  children: numberOption('BENCH_CHILDREN', quick ? 1000 : 10000),
  childrenProcesses: numberOption('BENCH_CHILDREN_PROCS', 2),
  childrenConcurrency: numberOption('BENCH_CHILDREN_CONCURRENCY', 50),
  childrenIldcp: process.env.BENCH_CHILDREN_ILDCP !== '0',
  childrenRounds: numberOption('BENCH_CHILDREN_ROUNDS', 1),
  profile: process.env.BENCH_PROFILE
}
const out = process.env.BENCH_OUT ?? (quick ? undefined : resolve(ROOT, 'docs/benchmarks.json'))
const doc = process.env.BENCH_DOC ?? (quick ? undefined : resolve(ROOT, 'docs/benchmarks.md'))

const skipped: Skipped[] = []
const targets: Target[] = []
for (const id of (process.env.BENCH_TARGETS ?? DEFAULT_TARGETS.join(',')).split(',')) {
  const target = TARGETS[id]
  if (target === undefined) throw new Error(`BENCH_TARGETS: unknown target ${id}; known: ${Object.keys(TARGETS).join(', ')}`)
  const reason = await unavailable(target.transport)
  if (reason === undefined) targets.push(target)
  else skipped.push({ target: id, name: target.name, what: 'all', reason })
}
const childrenTransports = new Map<string, string>()
if (settings.children > 0) {
  for (const target of targets) {
    const { specifier, reasons } = await firstAvailable(target.childrenTransport)
    if (specifier !== undefined) childrenTransports.set(target.id, specifier)
    else if (target.childrenTransport.length > 0) skipped.push({ target: target.id, name: target.name, what: 'children', reason: reasons.join('; ') })
  }
}
for (const s of skipped) console.error(`skipping ${s.what === 'all' ? s.target : `${s.target} (memory with many children)`}: ${s.reason}`)
if (targets.length === 0) throw new Error('no target can run')


function start (script: string, env: Record<string, string>, connector = false, nodeFlags: readonly string[] = []): ChildProcess {
  // BENCH_PROFILE=<dir>: a V8 CPU profile of each connector process (node --cpu-prof), written on SIGINT
  const profile = connector && settings.profile !== undefined
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(settings.profile)}`, `--cpu-prof-name=${env.BENCH_PROFILE_NAME ?? 'connector'}-${Date.now()}.cpuprofile`]
    : []
  return startProcess(script, env, [...profile, ...nodeFlags])
}

function exited (child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()))
}

async function stopAll (children: ChildProcess[], connector?: ChildProcess): Promise<void> {
  // SIGINT lets a profiled connector write its profile; otherwise no clean-up is worth waiting for
  if (connector !== undefined) connector.kill(settings.profile !== undefined ? 'SIGINT' : 'SIGKILL')
  for (const child of children) child.kill('SIGKILL')
  await Promise.all([...children, ...(connector !== undefined ? [connector] : [])].map(exited))
}

async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<T>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Whole-machine CPU times from /proc/stat, seconds summed over all cores (undefined off Linux). */
interface MachineCpu { busy: number, steal: number, total: number }
function machineCpu (): MachineCpu | undefined {
  try {
    // cpu  user nice system idle iowait irq softirq steal ...  (USER_HZ ticks, 100 per second)
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number]
    const busy = user + nice + system + irq + softirq
    return { busy: busy / 100, steal: steal / 100, total: (busy + idle + iowait + steal) / 100 }
  } catch {
    return undefined
  }
}

interface SenderResult {
  fulfilled: number, rejected: number, failed: number, lost: number, rejectCodes: Record<string, number>,
  exhausted: boolean, probed: number, sent: number, replies: number, warmupReplies: number, seconds: number, cpuMicros: number, p50: number, p99: number
}

/** The resident set of a process now and at its peak so far, MB, from /proc (undefined off Linux). */
function residentMb (pid: number): { rss: number, peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

const RSS_SAMPLE_MS = 250

/** A connector's node flags: its target's, else the conn bin's for conn (none for the reference). */
function nodeFlagsOf (target: Target): readonly string[] {
  return target.nodeFlags ?? (target.script === 'connector-conn.js' ? CONN_NODE_FLAGS : [])
}

async function measure (target: Target, inFlight: number, round: number, duration = settings.duration, sampleRss = false): Promise<Measurement> {
  const pool = Math.ceil((settings.warmup + duration) / 1000 * settings.maxRate) + 1000
  const receiver = start('receiver.js', {})
  const sender = start('sender.js', {
    BENCH_IN_FLIGHT: String(inFlight),
    BENCH_WARMUP: String(settings.warmup),
    BENCH_DURATION: String(duration),
    BENCH_POOL: String(pool)
  })
  let connector: ChildProcess | undefined
  let sampler: NodeJS.Timeout | undefined
  const rssSamples: Array<[number, number]> = []
  try {
    return await withTimeout((async () => {
      await Promise.all([next(receiver, 'ready'), next(sender, 'ready')])
      // ports picked only now, just before the connector binds them, so no other process takes them meanwhile
      const [alicePort, bobPort] = [await freePort(), await freePort()]
      const spawned = performance.now()
      connector = start(target.script, {
        ...target.env,
        BENCH_MODE: 'pair',
        BENCH_TRANSPORT: target.transport,
        BENCH_ALICE_PORT: String(alicePort),
        BENCH_BOB_PORT: String(bobPort),
        BENCH_PROFILE_NAME: `${target.id}-${inFlight}-r${round}`
      }, true, nodeFlagsOf(target))
      const c = connector
      const failedEarly = exited(c).then(() => { throw new Error(`${target.id}: the connector exited (${c.signalCode ?? String(c.exitCode)})`) })
      const connected = next(sender, 'connected').then(() => performance.now() - spawned)
      const first = next<{ served: boolean }>(sender, 'first').then(({ served }) => served ? performance.now() - spawned : NaN)
      const startRss = first.then(async () => {
        const report = next<ConnectorReport>(c, 'report')
        c.send({ type: 'report' })
        const { rssBytes } = await report
        sender.send({ type: 'load' })
        return rssBytes
      })
      let machineAtMark: MachineCpu | undefined
      let machineMeasured: MachineCpu | undefined
      const marked = next(sender, 'mark').then(() => {
        c.send({ type: 'mark' })
        receiver.send({ type: 'mark' })
        machineAtMark = machineCpu()
        if (sampleRss && c.pid !== undefined) {
          const pid = c.pid
          const at = performance.now()
          sampler = setInterval(() => {
            const resident = residentMb(pid)
            if (resident !== undefined) rssSamples.push([Math.round(performance.now() - at), resident.peak])
          }, RSS_SAMPLE_MS)
        }
      })
      const report = next(sender, 'measured').then(async () => {
        clearInterval(sampler)
        machineMeasured = machineCpu()
        const report = next<ConnectorReport>(c, 'report')
        const receiverReport = next<{ cpuMicros: number }>(receiver, 'report')
        c.send({ type: 'report' })
        receiver.send({ type: 'report' })
        return [await report, await receiverReport] as const
      })
      const result = next<SenderResult>(sender, 'result')
      receiver.send({ type: 'connect', port: bobPort })
      sender.send({ type: 'connect', port: alicePort })
      const [listenMs, firstFulfillMs, startRssBytes, , [connectorReport, receiverReport], outcome] = await Promise.race([
        Promise.all([connected, first, startRss, marked, report, result]),
        failedEarly
      ])
      const packets = outcome.fulfilled + outcome.rejected + outcome.failed
      if (packets === 0) {
        throw new Error(`no reply in the measured period (${outcome.sent} packets sent, ${outcome.probed} before the load, ` +
          `${outcome.warmupReplies} replies before the measured period, ${outcome.replies} in all${outcome.exhausted ? ', packet pool used up' : ''})`)
      }
      // the machine's CPU over the measured period: stolen by the hypervisor, and used by anything but the
      // connector, the sender and the receiver (other processes on the machine: noise)
      let stealShare = NaN
      let otherShare = NaN
      if (machineAtMark !== undefined && machineMeasured !== undefined) {
        const total = machineMeasured.total - machineAtMark.total
        const ours = (connectorReport.cpuMicros + outcome.cpuMicros + receiverReport.cpuMicros) / 1e6
        stealShare = (machineMeasured.steal - machineAtMark.steal) / total
        otherShare = Math.max(0, (machineMeasured.busy - machineAtMark.busy - ours) / total)
      }
      return {
        round,
        target: target.id,
        inFlight,
        packetsPerSecond: outcome.fulfilled / outcome.seconds,
        p50: outcome.p50,
        p99: outcome.p99,
        cpuMicrosPerPacket: packets === 0 ? NaN : connectorReport.cpuMicros / packets,
        maxRssMb: connectorReport.maxRssKb / 1024,
        startRssMb: startRssBytes / 2 ** 20,
        fulfilled: outcome.fulfilled,
        rejected: outcome.rejected,
        failed: outcome.failed,
        lost: outcome.lost,
        rejectCodes: outcome.rejectCodes,
        exhausted: outcome.exhausted,
        sent: outcome.sent,
        probed: outcome.probed,
        seconds: outcome.seconds,
        cpuSeconds: connectorReport.cpuMicros / 1e6,
        loadCpuMicrosPerPacket: packets === 0 ? NaN : (outcome.cpuMicros + receiverReport.cpuMicros) / packets,
        listenMs,
        firstFulfillMs,
        stealShare,
        otherShare,
        ...(sampleRss ? { rssSamples } : {})
      }
    })(), 60000 + settings.warmup + duration + 10000, `${target.id} @${inFlight}`)
  } finally {
    clearInterval(sampler)
    await stopAll([sender, receiver], connector)
  }
}

async function measureChildren (target: Target, transport: string, round: number): Promise<ChildrenMeasurement> {
  const port = await freePort()
  const processes = Math.max(1, Math.min(settings.childrenProcesses, settings.children))
  const loads: ChildProcess[] = []
  let connector: ChildProcess | undefined
  try {
    const spawned = performance.now()
    connector = start(target.script, {
      ...target.env,
      BENCH_MODE: 'children',
      BENCH_TRANSPORT: transport,
      BENCH_PORT: String(port),
      BENCH_PROFILE_NAME: `${target.id}-children-r${round}`
    }, true, nodeFlagsOf(target))
    const c = connector
    await withTimeout(next(c, 'ready'), 60000, `${target.id} children: start`)
    const readyMs = performance.now() - spawned
    await new Promise((resolve) => setTimeout(resolve, 500))
    const report = async (): Promise<ConnectorReport> => {
      const r = next<ConnectorReport>(c, 'report')
      c.send({ type: 'report' })
      return await r
    }
    const before = await report()
    for (let i = 0; i < processes; i++) {
      const count = Math.floor(settings.children / processes) + (i < settings.children % processes ? 1 : 0)
      loads.push(start('children.js', {
        BENCH_PORT: String(port),
        BENCH_COUNT: String(count),
        BENCH_OFFSET: String(i * Math.ceil(settings.children / processes)),
        BENCH_CONCURRENCY: String(settings.childrenConcurrency),
        BENCH_ILDCP: settings.childrenIldcp ? '1' : '0'
      }))
    }
    const started = performance.now()
    const connected = loads.map(async (load) => await next<{ connected: number, errors: Record<string, number>, ms: number }>(load, 'connected'))
    for (const load of loads) load.send({ type: 'go' })
    const results = await withTimeout(Promise.all(connected), 300000, `${target.id} children: connect`)
    const connectMs = performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = await report()
    const open = await Promise.all(loads.map(async (load) => {
      const r = next<{ open: number }>(load, 'open')
      load.send({ type: 'check' })
      return (await r).open
    }))
    const errors: Record<string, number> = {}
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
    const connectedCount = results.reduce((sum, r) => sum + r.connected, 0)
    return {
      round,
      target: target.id,
      transport,
      children: settings.children,
      connected: connectedCount,
      open: open.reduce((a, b) => a + b, 0),
      ildcp: settings.childrenIldcp,
      errors,
      connectSeconds: connectMs / 1000,
      readyMs,
      rssBeforeMb: before.rssBytes / 2 ** 20,
      rssAfterMb: after.rssBytes / 2 ** 20,
      heapAfterMb: after.heapUsedBytes / 2 ** 20,
      maxRssMb: after.maxRssKb / 1024,
      kbPerChild: connectedCount === 0 ? NaN : (after.rssBytes - before.rssBytes) / 1024 / connectedCount
    }
  } finally {
    await stopAll(loads, connector)
  }
}

const rotate = <T>(list: T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length]!)
const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toFixed(digits) : '-'
const began = Date.now()

const measurements: Measurement[] = []
const failures: Array<{ target: string, what: string, round: number, error: string }> = []
for (let round = 1; round <= settings.rounds; round++) {
  for (const inFlight of settings.inFlight) {
    for (const target of rotate(targets, round - 1)) {
      try {
        const m = await measure(target, inFlight, round)
        measurements.push(m)
        const bad = m.rejected + m.failed + m.lost
        console.error(`round ${round} ${target.id} @${inFlight}: ${fmt(m.packetsPerSecond)} packets/s, p50 ${fmt(m.p50)} µs, ` +
          `p99 ${fmt(m.p99)} µs, ${fmt(m.cpuMicrosPerPacket, 1)} µs CPU/packet (load generator ${fmt(m.loadCpuMicrosPerPacket, 1)}), peak RSS ${fmt(m.maxRssMb)} MB (${fmt(m.startRssMb)} after start-up), ` +
          `start-up ${fmt(m.firstFulfillMs)} ms, machine: ${fmt(100 * m.stealShare)}% stolen, ${fmt(100 * m.otherShare)}% other load${bad > 0 ? `, NOT FULFILLED: ${JSON.stringify(m.rejectCodes)} lost ${m.lost}` : ''}` +
          `${m.exhausted ? ` (packet pool used up after ${m.sent} packets, ${m.probed} of them before the load: raise BENCH_MAX_RATE)` : ''}`)
      } catch (err) {
        failures.push({ target: target.id, what: `${inFlight} in flight`, round, error: (err as Error).message })
        console.error(`round ${round} ${target.id} @${inFlight}: FAILED: ${(err as Error).message}`)
      }
    }
  }
}

// Memory under sustained load: the first compared target (conn with its own transport) and the reference.
const sustainedMeasurements: Measurement[] = []
if (settings.sustained > 0) {
  const pair = targets.filter((t) => t.id === REFERENCE || t.id === targets.find((c) => c.compare === true)?.id)
  for (let round = 1; round <= settings.sustainedRounds; round++) {
    for (const target of rotate(pair, round - 1)) {
      try {
        const m = await measure(target, settings.sustainedInFlight, round, settings.sustained, true)
        sustainedMeasurements.push(m)
        console.error(`sustained round ${round} ${target.id} @${m.inFlight} for ${fmt(settings.sustained / 1000)} s: ${fmt(m.packetsPerSecond)} packets/s, ` +
          `${fmt(m.cpuMicrosPerPacket, 1)} µs CPU/packet, peak RSS ${fmt(m.maxRssMb)} MB; peak RSS by second: ` +
          (m.rssSamples ?? []).filter((_, i) => (i + 1) % 4 === 0).map(([, mb]) => fmt(mb)).join(' ') +
          `${m.exhausted ? ` (packet pool used up after ${m.sent} packets: raise BENCH_MAX_RATE)` : ''}`)
      } catch (err) {
        failures.push({ target: target.id, what: `${settings.sustainedInFlight} in flight for ${settings.sustained / 1000} s`, round, error: (err as Error).message })
        console.error(`sustained round ${round} ${target.id}: FAILED: ${(err as Error).message}`)
      }
    }
  }
}

const childrenMeasurements: ChildrenMeasurement[] = []
if (settings.children > 0) {
  const withChildren = targets.filter((t) => childrenTransports.has(t.id))
  for (let round = 1; round <= settings.childrenRounds; round++) {
    for (const target of rotate(withChildren, round - 1)) {
      try {
        const m = await measureChildren(target, childrenTransports.get(target.id)!, round)
        childrenMeasurements.push(m)
        console.error(`children round ${round} ${target.id} (${m.transport}): ${m.connected}/${m.children} connected (${m.open} open) in ` +
          `${fmt(m.connectSeconds, 1)} s, RSS ${fmt(m.rssBeforeMb)} -> ${fmt(m.rssAfterMb)} MB (${fmt(m.kbPerChild, 1)} KB per child)` +
          `${Object.keys(m.errors).length > 0 ? `, errors ${JSON.stringify(m.errors)}` : ''}`)
      } catch (err) {
        failures.push({ target: target.id, what: `${settings.children} children`, round, error: (err as Error).message })
        console.error(`children round ${round} ${target.id}: FAILED: ${(err as Error).message}`)
      }
    }
  }
}

const require = createRequire(import.meta.url)
const versionOf = (name: string): string => {
  try {
    // walk up from the package's entry to its package.json
    let dir = dirname(require.resolve(name))
    for (;;) {
      try { return (require(resolve(dir, 'package.json')) as { name?: string, version: string }).version } catch {}
      const up = dirname(dir)
      if (up === dir) return 'unknown'
      dir = up
    }
  } catch { return 'unknown' }
}
const git = (args: string[]): string | undefined => {
  try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return undefined }
}
const results: BenchResults = {
  meta: {
    date: new Date(began).toISOString(),
    minutes: (Date.now() - began) / 60000,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: (git(['status', '--porcelain']) ?? '') !== '',
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: totalmem() / 2 ** 30, os: `${platform()} ${release()}`, node: process.version },
    versions: {
      'ilp-connector': versionOf('ilp-connector'),
      'ilp-plugin-btp': versionOf('ilp-plugin-btp'),
      '@conn/core': versionOf('@conn/core')
    },
    settings: { ...settings, quick },
    command: 'pnpm install && pnpm bench',
    json: out !== undefined ? relative(ROOT, out) : undefined
  },
  targets: targets.map((t) => ({ id: t.id, name: t.name, transport: t.transport, childrenTransport: childrenTransports.get(t.id) })),
  skipped,
  failures,
  summary: summarize(targets, measurements, childrenMeasurements, sustainedMeasurements),
  measurements,
  sustained: sustainedMeasurements,
  children: childrenMeasurements
}

const text = markdown(results)
console.log(text.table)
if (out !== undefined) {
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, JSON.stringify(results, null, 2) + '\n')
  console.error(`wrote ${out}`)
}
if (doc !== undefined) {
  await mkdir(dirname(doc), { recursive: true })
  let kept = ''
  try {
    const existing = await readFile(doc, 'utf8')
    const at = existing.indexOf(text.keepMarker)
    if (at >= 0) kept = existing.slice(at + text.keepMarker.length)
    else if (existing.trim() !== '') kept = '\n\n' + existing // never lose what someone wrote there
  } catch {}
  await writeFile(doc, text.document + '\n' + text.keepMarker + (kept === '' ? '\n' : kept))
  console.error(`wrote ${doc}`)
}
process.exitCode = failures.length > 0 ? 1 : 0
