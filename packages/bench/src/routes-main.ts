/**
 * `pnpm bench:routes`: the routing benchmark, conn and the reference (ilp-connector 23) in the same run.
 * For each size in ROUTES (default 10000,30000,100000), each connector in turn (a fresh process each time)
 * learns that many routes from a CCP speaker over BTP while packets flow (see routes.ts). The reference gets
 * at most ROUTES_REF_CAP_S seconds (default 60) per size to take its updates: how far it got is reported.
 * ROUTES_RENDER=<json>: no measurement, only the document again from an earlier ROUTES_OUT.
 * Options: ROUTES_PER_UPDATE (400), ROUTES_RATE (packets/s, 1000), ROUTES_BEFORE_MS (2000), ROUTES_AFTER_MS
 * (3000), ROUTES_SWEEP (routes checked at the end, 10000), ROUTES_TARGETS (conn,reference), ROUTES_CONN_CAP_S
 * (none), ROUTES_PROFILE (a folder: --cpu-prof of each connector). Results: stdout (markdown), ROUTES_OUT
 * (JSON) and ROUTES_DOC (the document: settings, method, table; what follows its end marker is kept), both unset by default.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem, release } from 'node:os'
import { resolve } from 'node:path'
import { measureRoutes, type RoutesMeasurement, type RoutesTarget } from './routes.ts'
import { CONN_NODE_FLAGS } from './targets.ts'
import { numberOption } from './connector-ipc.ts'
import { routesDocument, routesMarkdown, type RoutesRun } from './routes-report.ts'

const KEEP_MARKER = '<!-- end of the generated part: pnpm bench:routes rewrites everything above this line and keeps what follows -->'
/** Writes the document, keeping what follows the marker in the file already there (findings written by hand). */
async function writeDocument (path: string, run: RoutesRun): Promise<void> {
  const previous = await readFile(path, 'utf8').catch(() => '')
  const at = previous.indexOf(KEEP_MARKER)
  const kept = at >= 0 ? previous.slice(at + KEEP_MARKER.length) : '\n'
  await writeFile(path, routesDocument(run) + '\n' + KEEP_MARKER + kept)
}

if (process.env.ROUTES_RENDER !== undefined) {
  const run = JSON.parse(await readFile(resolve(process.env.ROUTES_RENDER), 'utf8')) as RoutesRun
  if (process.env.ROUTES_DOC !== undefined) await writeDocument(resolve(process.env.ROUTES_DOC), run)
  else console.log(routesDocument(run))
  process.exit(0)
}
const sizes = (process.env.ROUTES ?? '10000,30000,100000').split(',').map((s) => {
  const n = Number(s.replace(/_/g, ''))
  if (!Number.isInteger(n) || n <= 0) throw new Error(`ROUTES: expected positive integers, got ${JSON.stringify(s)}`)
  return n
})
const targets = (process.env.ROUTES_TARGETS ?? 'conn,reference').split(',') as RoutesTarget[]
for (const t of targets) if (t !== 'conn' && t !== 'reference') throw new Error(`ROUTES_TARGETS: unknown target ${t}; known: conn, reference`)
const settings = {
  sizes,
  targets,
  perUpdate: numberOption('ROUTES_PER_UPDATE', 400),
  rate: numberOption('ROUTES_RATE', 1000),
  beforeMs: numberOption('ROUTES_BEFORE_MS', 2000),
  afterMs: numberOption('ROUTES_AFTER_MS', 3000),
  sweep: numberOption('ROUTES_SWEEP', 10000),
  referenceCapSeconds: numberOption('ROUTES_REF_CAP_S', 60),
  connCapSeconds: numberOption('ROUTES_CONN_CAP_S', 0),
  rounds: numberOption('ROUTES_ROUNDS', 1),
  referenceRounds: numberOption('ROUTES_REF_ROUNDS', 1),
  connNodeFlags: CONN_NODE_FLAGS
}
const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toFixed(digits) : '-'

const measurements: RoutesMeasurement[] = []
const failures: RoutesRun['failures'] = []
for (const routes of sizes) {
  for (let round = 1; round <= Math.max(settings.rounds, settings.referenceRounds); round++) {
  for (const target of targets) {
    if (round > (target === 'reference' ? settings.referenceRounds : settings.rounds)) continue
    const cap = target === 'reference' ? settings.referenceCapSeconds : settings.connCapSeconds
    try {
      const m = await measureRoutes(target, {
        routes,
        perUpdate: settings.perUpdate,
        rate: settings.rate,
        beforeMs: settings.beforeMs,
        afterMs: settings.afterMs,
        sweep: settings.sweep,
        capMs: cap > 0 ? cap * 1000 : undefined,
        profileDir: process.env.ROUTES_PROFILE !== undefined ? resolve(process.env.ROUTES_PROFILE) : undefined
      })
      m.round = round
      measurements.push(m)
      console.error(`${target} ${routes} routes, round ${round}: other load ${fmt(100 * m.otherLoad)}%, ${m.learnt} taken${m.capped ? ' (time cap)' : ''} in ${fmt(m.takeSeconds, 2)} s, CPU ${fmt(m.cpuSeconds, 2)} s, ` +
        `slowest update ${fmt(m.slowestUpdateMs, 1)} ms, event loop blocked at most ${fmt(m.loopMaxDuringMs)} ms during / ${fmt(m.loopMaxAfterMs)} ms after, ` +
        `peak RSS ${fmt(m.peakRssMb)} MB (${fmt(m.rssPerTenThousandMb, 1)} MB per 10,000 routes), ` +
        `packets/s ${fmt(m.before.fulfilled / m.before.seconds)} / ${fmt(m.during.fulfilled / m.during.seconds)} / ${fmt(m.after.fulfilled / m.after.seconds)}, ` +
        `p99 ms ${fmt(m.before.p99Ms, 1)} / ${fmt(m.during.p99Ms, 1)} / ${fmt(m.after.p99Ms, 1)}, sweep missing ${m.sweep?.missing ?? '-'} of ${m.sweep?.checked ?? '-'} ${JSON.stringify(m.sweep?.results ?? {})}` +
        `${m.errors.length > 0 ? `; ${m.errors.join('; ')}` : ''}`)
    } catch (err) {
      failures.push({ target, routes, round, error: (err as Error).message })
      console.error(`${target} ${routes} routes, round ${round}: FAILED: ${(err as Error).message}`)
    }
  }
  }
}

const run: RoutesRun = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB, Linux ${release()}, Node ${process.version}`,
  settings,
  measurements,
  failures
}
const table = routesMarkdown(run)
console.log(table)
if (process.env.ROUTES_OUT !== undefined) await writeFile(resolve(process.env.ROUTES_OUT), JSON.stringify(run, null, 2) + '\n')
if (process.env.ROUTES_DOC !== undefined) await writeDocument(resolve(process.env.ROUTES_DOC), run)
if (failures.length > 0) process.exitCode = 1
