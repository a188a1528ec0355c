/**
 * One routing measurement: a fresh connector process (conn or the reference) learns `routes` routes from a
 * CCP speaker over BTP while a sender child sends packets at a steady rate, and the runner watches.
 *
 * Processes: the connector (routes-connector-conn.js / routes-connector-reference.js) with three BTP listener
 * accounts; the speaker (routes-speaker.js, the `peer`), the sender (routes-sender.js, child alice) and the
 * receiver (receiver.js, child bob), each one lean BTP client (btp-ws.ts).
 * Phases: `before` (packets to bob, no route learnt yet: the usual latency), `during` (the speaker teaches
 * every route, updates of ROUTES_PER_UPDATE, each sent once the previous one is answered; packets to random
 * routes learnt so far), `after` (packets to random learnt routes). Then a sweep: one packet to each of up to
 * `sweep` routes spread over all of them (every route when `sweep` >= routes), to check they were all taken.
 * Read from /proc: the connector's CPU time (utime + stime of /proc/<pid>/stat) per phase, its resident set
 * (VmRSS) each time another 10,000 routes are taught, and its peak (VmHWM); from the connector itself: the
 * longest event-loop delay (perf_hooks) during and after.
 */
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { freePort } from '@conn/testkit'
import type { EventLoopReport } from './connector-ipc.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { nextMessage, startProcess } from './processes.ts'
import type { PhaseResult, TaughtReport } from './routes-shared.ts'

/** conn's node flags: the `conn` bin's, or ROUTES_CONN_NODE_FLAGS (space-separated; '' for none), for diagnosis. */
function connNodeFlags (): readonly string[] {
  const flags = process.env.ROUTES_CONN_NODE_FLAGS
  return flags === undefined ? CONN_NODE_FLAGS : flags.split(' ').filter((flag) => flag !== '')
}

export type RoutesTarget = 'conn' | 'reference'

export const ROUTES_TARGETS: Record<RoutesTarget, { name: string, script: string, transport: string }> = {
  conn: { name: 'conn (@conn/plugin-btp, @conn/routing-ccp)', script: 'routes-connector-conn.js', transport: '@conn/plugin-btp' },
  reference: { name: 'ilp-connector 23 (ilp-plugin-btp)', script: 'routes-connector-reference.js', transport: 'ilp-plugin-btp' }
}

export interface RoutesOptions {
  routes: number
  perUpdate?: number
  /** packets per second from the sender, in every phase */
  rate?: number
  beforeMs?: number
  afterMs?: number
  /** give up teaching after this long (the routes taught by then are reported) */
  capMs?: number
  /** routes checked by the final sweep */
  sweep?: number
  /** --cpu-prof into this folder */
  profileDir?: string
  /** node flags of the connector process; default: conn's the `conn` bin's (as `pnpm bench`), the reference's none */
  nodeFlags?: string[]
}

export interface RoutesMeasurement {
  target: RoutesTarget
  /** set by the runner */
  round?: number
  routes: number
  perUpdate: number
  rate: number
  /** routes the connector accepted (updates fulfilled) */
  learnt: number
  updates: number
  /** stopped by the time cap before all routes were taught */
  capped: boolean
  updateRejects: Record<string, number>
  /** first update sent to last update answered, s */
  takeSeconds: number
  slowestUpdateMs: number
  /** round trip of each update in order, ms */
  updateMs: number[]
  p50UpdateMs: number
  p99UpdateMs: number
  /** connector CPU seconds while taking the updates, and per 10,000 routes */
  cpuSeconds: number
  cpuSecondsAfter: number
  peakRssMb: number
  rssStartMb: number
  rssEndMb: number
  /** RSS (MB) when 10,000, 20,000, ... routes had been taught */
  rssByTenThousand: number[]
  rssPerTenThousandMb: number
  /**
   * share of the machine's CPU (all cores) used during the updates by processes other than this measurement's
   * (the connector, speaker, sender, receiver): other work on the machine, which slows everything measured
   */
  otherLoad: number
  /** longest event-loop delay of the connector while taking the updates, and after, ms */
  loopMaxDuringMs: number
  loopMaxAfterMs: number
  before: PhaseResult
  during: PhaseResult
  after: PhaseResult
  sweep: { checked: number, missing: number, firstMissing: number[], results: Record<string, number> } | undefined
  errors: string[]
}

/** utime + stime of a process, seconds (USER_HZ = 100), from /proc/<pid>/stat. */
export function cpuSecondsOf (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // after the command name: state is field 3, utime field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Whole-machine busy and total CPU seconds from /proc/stat (all cores, USER_HZ = 100). */
export function machineCpu (): { busy: number, total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!
    .trim().split(/\s+/).slice(1, 9).map(Number) as [number, number, number, number, number, number, number, number]
  const busy = user + nice + system + irq + softirq + steal
  return { busy: busy / 100, total: (busy + idle + iowait) / 100 }
}

/** VmRSS and VmHWM of a process, MB. */
export function memoryOf (pid: number): { rss: number, peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** A child's next message of this type, within 60 s unless told otherwise. */
async function next<T> (child: ChildProcess, type: string, timeoutMs = 60000): Promise<T> {
  return await nextMessage<T>(child, type, timeoutMs)
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function ask<T> (child: ChildProcess, request: Record<string, unknown>, reply: string, timeoutMs: number): Promise<T> {
  const answer = next<T>(child, reply, timeoutMs)
  child.send(request)
  return await answer
}

function percentile (values: number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Evenly spread route indexes, the first and the last included. */
function spread (routes: number, count: number): number[] {
  if (count >= routes) return Array.from({ length: routes }, (_, i) => i)
  return Array.from({ length: count }, (_, i) => Math.round(i * (routes - 1) / (count - 1)))
}

export async function measureRoutes (target: RoutesTarget, options: RoutesOptions): Promise<RoutesMeasurement> {
  const t = ROUTES_TARGETS[target]
  const routes = options.routes
  const perUpdate = options.perUpdate ?? 400
  const rate = options.rate ?? 1000
  const capMs = options.capMs ?? Infinity
  const errors: string[] = []
  const [alicePort, bobPort, peerPort] = [await freePort(), await freePort(), await freePort()]
  const receiver = startProcess('receiver.js', {})
  const sender = startProcess('routes-sender.js', { ROUTES_RATE: String(rate) })
  const speaker = startProcess('routes-speaker.js', { BENCH_PEER_PORT: String(peerPort), ROUTES_COUNT: String(routes), ROUTES_PER_UPDATE: String(perUpdate) })
  const profile = options.profileDir !== undefined
    ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=routes-${target}-${routes}-${Date.now()}.cpuprofile`]
    : []
  const connector = startProcess(t.script, {
    BENCH_TRANSPORT: t.transport,
    BENCH_ALICE_PORT: String(alicePort),
    BENCH_BOB_PORT: String(bobPort),
    BENCH_PEER_PORT: String(peerPort)
  }, [...profile, ...(options.nodeFlags ?? (target === 'conn' ? connNodeFlags() : []))])
  const children = [receiver, sender, speaker]
  try {
    const pid = connector.pid!
    await Promise.all([next(receiver, 'ready'), next(sender, 'ready')])
    const control = next(speaker, 'control')
    receiver.send({ type: 'connect', port: bobPort })
    sender.send({ type: 'connect', port: alicePort })
    // the reference's listen() returns only once every listener account has a client: wait for all together
    await Promise.all([next(receiver, 'connected'), next(sender, 'connected'), next(speaker, 'connected'), next(connector, 'ready'), control])

    // before: the usual latency, no route learnt
    const rssStart = memoryOf(pid).rss
    sender.send({ type: 'phase', phase: 'before' })
    await sleep(options.beforeMs ?? 2000)

    // during: the speaker teaches every route
    const rssByTenThousand: number[] = []
    let learnt = 0
    const onSpeaker = (m: { type: string, learnt?: number }): void => {
      if (m.type !== 'learnt') return
      for (let k = Math.floor(learnt / 10000) + 1; k <= Math.floor(m.learnt! / 10000); k++) rssByTenThousand.push(memoryOf(pid).rss)
      learnt = m.learnt!
      sender.send({ type: 'learnt', learnt })
    }
    speaker.on('message', onSpeaker)
    connector.send({ type: 'loop-mark' })
    const before = (await ask<{ result: PhaseResult }>(sender, { type: 'phase', phase: 'during' }, 'ended before', 10000)).result
    const ours = (): number => [pid, speaker.pid!, sender.pid!, receiver.pid!, process.pid].reduce((sum, p) => sum + cpuSecondsOf(p), 0)
    const machine0 = machineCpu()
    const ours0 = ours()
    const cpu0 = cpuSecondsOf(pid)
    const taught = next<TaughtReport>(speaker, 'taught', Number.isFinite(capMs) ? capMs + 120000 : 3600000)
    speaker.send({ type: 'go' })
    let capped = false
    const cap = Number.isFinite(capMs) ? setTimeout(() => { capped = true; speaker.send({ type: 'stop' }) }, capMs) : undefined
    let report: TaughtReport
    try {
      report = await taught
    } finally {
      clearTimeout(cap)
    }
    const cpu1 = cpuSecondsOf(pid)
    const machine1 = machineCpu()
    const otherLoad = Math.max(0, (machine1.busy - machine0.busy) - (ours() - ours0)) / (machine1.total - machine0.total)
    // a connector still busy with the updates answers late: its event loop report waits for it
    const loopDuring = await ask<EventLoopReport>(connector, { type: 'loop-report' }, 'loop', 120000).catch((err: Error) => { errors.push(err.message); return undefined })
    connector.send({ type: 'loop-mark' })
    const during = (await ask<{ result: PhaseResult }>(sender, { type: 'phase', phase: 'after' }, 'ended during', 10000)).result
    const cpu2 = cpuSecondsOf(pid)
    await sleep(options.afterMs ?? 3000)
    const after = (await ask<{ result: PhaseResult }>(sender, { type: 'phase', phase: 'idle' }, 'ended after', 10000)).result
    const cpu3 = cpuSecondsOf(pid)
    const loopAfter = await ask<EventLoopReport>(connector, { type: 'loop-report' }, 'loop', 60000).catch((err: Error) => { errors.push(err.message); return undefined })
    speaker.off('message', onSpeaker)

    let sweep: RoutesMeasurement['sweep']
    if (report.learnt > 0 && (options.sweep ?? 10000) > 0) {
      const indexes = spread(report.learnt, options.sweep ?? 10000)
      try {
        const swept = await ask<{ checked: number, missing: number[], results: Record<string, number> }>(sender, { type: 'sweep', indexes, concurrency: 20 }, 'swept', 300000)
        sweep = { checked: swept.checked, missing: swept.missing.length, firstMissing: swept.missing.sort((a, b) => a - b).slice(0, 10), results: swept.results }
      } catch (err) {
        errors.push((err as Error).message)
      }
    }
    const memory = memoryOf(pid)
    const rssPerTenThousandMb = rssByTenThousand.length === 0
      ? NaN
      : (rssByTenThousand[rssByTenThousand.length - 1]! - rssStart) / rssByTenThousand.length
    return {
      target,
      routes,
      perUpdate,
      rate,
      learnt: report.learnt,
      updates: report.updates,
      capped: capped && report.learnt < routes,
      updateRejects: report.rejects,
      takeSeconds: report.totalMs / 1000,
      slowestUpdateMs: Math.max(...report.rtts),
      updateMs: report.rtts.map((ms) => Math.round(ms * 10) / 10),
      p50UpdateMs: percentile(report.rtts, 0.5),
      p99UpdateMs: percentile(report.rtts, 0.99),
      cpuSeconds: cpu1 - cpu0,
      cpuSecondsAfter: cpu3 - cpu2,
      peakRssMb: memory.peak,
      rssStartMb: rssStart,
      rssEndMb: memory.rss,
      rssByTenThousand,
      rssPerTenThousandMb,
      otherLoad,
      loopMaxDuringMs: loopDuring?.maxMs ?? NaN,
      loopMaxAfterMs: loopAfter?.maxMs ?? NaN,
      before,
      during,
      after,
      sweep,
      errors
    }
  } finally {
    connector.kill(options.profileDir !== undefined ? 'SIGINT' : 'SIGKILL')
    for (const child of children) child.kill('SIGKILL')
    await Promise.all([connector, ...children].map(async (c) => {
      if (c.exitCode === null && c.signalCode === null) await new Promise((resolve) => c.once('exit', resolve))
    }))
  }
}
