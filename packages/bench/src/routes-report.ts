/** The routing benchmark's table: markdown for docs/routing-benchmark.md, from routes-main.ts's measurements. */
import type { RoutesMeasurement } from './routes.ts'
import { ROUTES_TARGETS } from './routes.ts'

const fmt = (n: number | undefined, digits = 0): string => n !== undefined && Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-'
const rejects = (r: Record<string, number>): string => Object.entries(r).map(([code, n]) => `${code} ×${fmt(n)}`).join(', ')

export interface RoutesRun {
  date: string
  machine: string
  settings: Record<string, unknown>
  measurements: RoutesMeasurement[]
  failures: Array<{ target: string, routes: number, error: string }>
}

/** Packets/s fulfilled in a phase, with what was not fulfilled. */
function traffic (p: RoutesMeasurement['during']): string {
  const rate = p.fulfilled / p.seconds
  const lost = p.sent - p.fulfilled
  const bad = rejects(p.rejected)
  return `${fmt(rate)}${lost > 0 ? ` (${fmt(lost)} of ${fmt(p.sent)} not fulfilled${bad !== '' ? `: ${bad}` : ''}${p.unanswered > 0 ? `, ${fmt(p.unanswered)} unanswered at the end` : ''})` : ''}`
}
const latency = (p: RoutesMeasurement['during']): string => `${fmt(p.p50Ms, 1)} / ${fmt(p.p99Ms, 1)} / ${fmt(p.maxMs)}`

export function routesMarkdown (run: RoutesRun): string {
  const lines: string[] = []
  const sizes = [...new Set(run.measurements.map((m) => m.routes))].sort((a, b) => a - b)
  lines.push('| routes | connector | routes taken | time to take all updates s | connector CPU s | slowest update ms (p50 / p99) | longest event-loop block ms (during / after) | peak RSS MB | RSS per 10,000 routes MB | packets/s before | during | after | latency ms p50 / p99 / max: before | during | after | sweep: routes checked / missing |')
  lines.push('| ---: | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- |')
  for (const routes of sizes) {
    for (const m of run.measurements.filter((x) => x.routes === routes)) {
      const taken = m.learnt === m.routes ? fmt(m.learnt) : `**${fmt(m.learnt)} of ${fmt(m.routes)}**${m.capped ? ' (time cap)' : ''}${Object.keys(m.updateRejects).length > 0 ? ` (update rejected: ${rejects(m.updateRejects)})` : ''}`
      lines.push(`| ${fmt(routes)} | ${ROUTES_TARGETS[m.target].name} | ${taken} | ${fmt(m.takeSeconds, 2)} | ${fmt(m.cpuSeconds, 2)} | ${fmt(m.slowestUpdateMs, 1)} (${fmt(m.p50UpdateMs, 1)} / ${fmt(m.p99UpdateMs, 1)}) | ` +
        `${fmt(m.loopMaxDuringMs)} / ${fmt(m.loopMaxAfterMs)} | ${fmt(m.peakRssMb)} | ${fmt(m.rssPerTenThousandMb, 1)} | ` +
        `${traffic(m.before)} | ${traffic(m.during)} | ${traffic(m.after)} | ${latency(m.before)} | ${latency(m.during)} | ${latency(m.after)} | ` +
        `${m.sweep === undefined ? '-' : `${fmt(m.sweep.checked)} / ${fmt(m.sweep.missing)}`} |`)
    }
  }
  for (const f of run.failures) lines.push(`\nFAILED: ${f.target} at ${fmt(f.routes)} routes: ${f.error}`)
  for (const m of run.measurements) for (const e of m.errors) lines.push(`\nNote: ${m.target} at ${fmt(m.routes)} routes: ${e}`)
  return lines.join('\n') + '\n'
}
