/**
 * Medians, ratios, the issue's targets, and the markdown of docs/benchmarks.md.
 */
import { REFERENCE, TARGETS, type Target } from './targets.ts'

const JUDGED = Object.values(TARGETS).filter((t) => t.goals === true).map((t) => t.id)

export interface Measurement {
  round: number
  target: string
  inFlight: number
  packetsPerSecond: number
  /** latency µs */
  p50: number
  p99: number
  cpuMicrosPerPacket: number
  maxRssMb: number
  /** RSS after start-up, before the load, MB */
  startRssMb: number
  fulfilled: number
  rejected: number
  /** BTP errors and wrong fulfillments */
  failed: number
  /** no reply within 5 s after the measurement */
  lost: number
  rejectCodes: Record<string, number>
  exhausted: boolean
  /** packets sent in all, and before the load started (while waiting for the first Fulfill) */
  sent: number
  probed: number
  seconds: number
  cpuSeconds: number
  /** CPU time of the sender and the receiver together over the measured period, per packet, µs */
  loadCpuMicrosPerPacket: number
  /** connector spawn to the sender's BTP connection accepted, ms */
  listenMs: number
  /** connector spawn to the first packet fulfilled end to end, ms */
  firstFulfillMs: number
  /** share of the machine's CPU time (all cores) over the measured period stolen by the hypervisor (/proc/stat) */
  stealShare: number
  /** share used by processes other than the connector, the sender and the receiver */
  otherShare: number
  /** sustained runs: [ms since the measured period began, peak RSS so far in MB], every 250 ms */
  rssSamples?: Array<[number, number]>
}

export interface ChildrenMeasurement {
  round: number
  target: string
  transport: string
  children: number
  connected: number
  open: number
  ildcp: boolean
  errors: Record<string, number>
  connectSeconds: number
  readyMs: number
  rssBeforeMb: number
  rssAfterMb: number
  heapAfterMb: number
  maxRssMb: number
  kbPerChild: number
}

export interface Skipped { target: string, name: string, what: 'all' | 'children', reason: string }

export interface SummaryRow {
  target: string
  name: string
  inFlight: number
  rounds: number
  packetsPerSecond: number
  p50: number
  p99: number
  cpuMicrosPerPacket: number
  maxRssMb: number
  startRssMb: number
  fulfilled: number
  notFulfilled: number
  rejectCodes: Record<string, number>
}

export interface Ratio { target: string, inFlight: number, packetsPerSecond: number, p50: number, p99: number, cpuMicrosPerPacket: number, maxRssMb: number }

export interface Goal { metric: string, goal: string, results: Record<string, { ratio: number, met: boolean } | undefined> }

/** Peak RSS under sustained load: medians over the rounds, overall and as it was after so many seconds. */
export interface SustainedRow {
  target: string
  name: string
  inFlight: number
  rounds: number
  seconds: number
  packetsPerSecond: number
  cpuMicrosPerPacket: number
  maxRssMb: number
  /** seconds into the load -> peak RSS so far, MB */
  peakRssAt: Record<string, number>
}

export const SUSTAINED_CHECKPOINTS = [4, 10, 20, 30, 60, 120]

export interface Summary {
  rows: SummaryRow[]
  sustained: SustainedRow[]
  sustainedRatios: Array<{ target: string, maxRssMb: number, peakRssAt: Record<string, number> }>
  startup: Array<{ target: string, name: string, samples: number, listenMs: number, firstFulfillMs: number }>
  children: Array<{ target: string, name: string, transport: string, samples: number, connected: number, open: number, children: number, rssBeforeMb: number, rssAfterMb: number, heapAfterMb: number, kbPerChild: number, connectSeconds: number }>
  ratios: Ratio[]
  childrenRatios: Array<{ target: string, rssAfterMb: number }>
  goals: Goal[]
  goalLevel: number
  /** The targets judged against the goals. */
  compared: Array<{ id: string, name: string }>
  /** over all measured periods: shares of the machine's CPU stolen by the hypervisor and used by other processes */
  noise: { stealMedian: number, stealMax: number, otherMedian: number, otherMax: number }
}

export interface BenchResults {
  meta: {
    date: string
    minutes: number
    commit?: string
    dirty: boolean
    machine: { cpu: string, cores: number, memoryGb: number, os: string, node: string }
    versions: Record<string, string>
    settings: Record<string, unknown> & { rounds: number, warmup: number, duration: number, inFlight: number[], children: number, childrenIldcp: boolean, childrenProcesses: number, quick: boolean }
    command: string
    /** where the JSON went, relative to the repository root */
    json?: string
  }
  targets: Array<{ id: string, name: string, transport: string, childrenTransport?: string }>
  skipped: Skipped[]
  failures: Array<{ target: string, what: string, round: number, error: string }>
  summary: Summary
  measurements: Measurement[]
  sustained?: Measurement[]
  children: ChildrenMeasurement[]
}

export function median (values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const GOAL_LEVEL = 100
/** Issue 11's targets (stricter than issue 7's: CPU <= 0.33x, packets/s >= 1.7x, p99 <= 0.5x; peak RSS the same). */
const GOALS: Array<{ metric: string, key: keyof Ratio, goal: string, met: (r: number) => boolean }> = [
  { metric: 'connector CPU per packet', key: 'cpuMicrosPerPacket', goal: '<= 0.2x', met: (r) => r <= 0.2 },
  { metric: 'fulfilled packets/s', key: 'packetsPerSecond', goal: '>= 4x', met: (r) => r >= 4 },
  { metric: 'p99 latency', key: 'p99', goal: '<= 0.4x', met: (r) => r <= 0.4 },
  { metric: 'peak RSS', key: 'maxRssMb', goal: '<= 0.6x', met: (r) => r <= 0.6 }
]

/** The peak RSS a sustained run had reached `seconds` into its load (the last sample at or before it). */
function peakAt (m: Measurement, seconds: number): number {
  let peak = NaN
  for (const [ms, mb] of m.rssSamples ?? []) if (ms <= seconds * 1000) peak = mb
  return peak
}

function summarizeSustained (targets: Target[], sustained: Measurement[]): Pick<Summary, 'sustained' | 'sustainedRatios'> {
  const rows: SustainedRow[] = targets.flatMap((target) => {
    const ms = sustained.filter((m) => m.target === target.id)
    if (ms.length === 0) return []
    const seconds = Math.min(...ms.map((m) => m.seconds))
    return [{
      target: target.id,
      name: target.name,
      inFlight: ms[0]!.inFlight,
      rounds: ms.length,
      seconds,
      packetsPerSecond: median(ms.map((m) => m.packetsPerSecond)),
      cpuMicrosPerPacket: median(ms.map((m) => m.cpuMicrosPerPacket)),
      maxRssMb: median(ms.map((m) => m.maxRssMb)),
      peakRssAt: Object.fromEntries(SUSTAINED_CHECKPOINTS.filter((c) => c <= seconds + 0.5).map((c) => [String(c), median(ms.map((m) => peakAt(m, c)))]))
    }]
  })
  const ref = rows.find((r) => r.target === REFERENCE)
  const sustainedRatios = ref === undefined
    ? []
    : rows.filter((r) => r.target !== REFERENCE).map((r) => ({
        target: r.target,
        maxRssMb: r.maxRssMb / ref.maxRssMb,
        peakRssAt: Object.fromEntries(Object.entries(r.peakRssAt).map(([c, mb]) => [c, mb / (ref.peakRssAt[c] ?? NaN)]))
      }))
  return { sustained: rows, sustainedRatios }
}

export function summarize (targets: Target[], measurements: Measurement[], children: ChildrenMeasurement[], sustained: Measurement[] = []): Summary {
  const rows: SummaryRow[] = []
  const levels = [...new Set(measurements.map((m) => m.inFlight))]
  for (const target of targets) {
    for (const inFlight of levels) {
      const ms = measurements.filter((m) => m.target === target.id && m.inFlight === inFlight)
      if (ms.length === 0) continue
      const rejectCodes: Record<string, number> = {}
      for (const m of ms) {
        for (const [code, n] of Object.entries(m.rejectCodes)) rejectCodes[code] = (rejectCodes[code] ?? 0) + n
        if (m.lost > 0) rejectCodes.lost = (rejectCodes.lost ?? 0) + m.lost
      }
      rows.push({
        target: target.id,
        name: target.name,
        inFlight,
        rounds: ms.length,
        packetsPerSecond: median(ms.map((m) => m.packetsPerSecond)),
        p50: median(ms.map((m) => m.p50)),
        p99: median(ms.map((m) => m.p99)),
        cpuMicrosPerPacket: median(ms.map((m) => m.cpuMicrosPerPacket)),
        maxRssMb: median(ms.map((m) => m.maxRssMb)),
        startRssMb: median(ms.map((m) => m.startRssMb)),
        fulfilled: ms.reduce((sum, m) => sum + m.fulfilled, 0),
        notFulfilled: ms.reduce((sum, m) => sum + m.rejected + m.failed + m.lost, 0),
        rejectCodes
      })
    }
  }
  const startup = targets.flatMap((target) => {
    const ms = measurements.filter((m) => m.target === target.id)
    return ms.length === 0
      ? []
      : [{ target: target.id, name: target.name, samples: ms.length, listenMs: median(ms.map((m) => m.listenMs)), firstFulfillMs: median(ms.map((m) => m.firstFulfillMs)) }]
  })
  const childrenRows = targets.flatMap((target) => {
    const ms = children.filter((m) => m.target === target.id)
    return ms.length === 0
      ? []
      : [{
          target: target.id,
          name: target.name,
          transport: ms[0]!.transport,
          samples: ms.length,
          children: ms[0]!.children,
          connected: median(ms.map((m) => m.connected)),
          open: median(ms.map((m) => m.open)),
          rssBeforeMb: median(ms.map((m) => m.rssBeforeMb)),
          rssAfterMb: median(ms.map((m) => m.rssAfterMb)),
          heapAfterMb: median(ms.map((m) => m.heapAfterMb)),
          kbPerChild: median(ms.map((m) => m.kbPerChild)),
          connectSeconds: median(ms.map((m) => m.connectSeconds))
        }]
  })
  const compared = targets.filter((t) => t.compare === true)
  const judged = compared.filter((t) => t.goals === true)
  const ratios: Ratio[] = []
  for (const target of compared) {
    for (const row of rows.filter((r) => r.target === target.id)) {
      const ref = rows.find((r) => r.target === REFERENCE && r.inFlight === row.inFlight)
      if (ref === undefined) continue
      ratios.push({
        target: target.id,
        inFlight: row.inFlight,
        packetsPerSecond: row.packetsPerSecond / ref.packetsPerSecond,
        p50: row.p50 / ref.p50,
        p99: row.p99 / ref.p99,
        cpuMicrosPerPacket: row.cpuMicrosPerPacket / ref.cpuMicrosPerPacket,
        maxRssMb: row.maxRssMb / ref.maxRssMb
      })
    }
  }
  const refChildren = childrenRows.find((r) => r.target === REFERENCE)
  const childrenRatios = refChildren === undefined
    ? []
    : childrenRows.filter((r) => r.target !== REFERENCE).map((r) => ({ target: r.target, rssAfterMb: r.rssAfterMb / refChildren.rssAfterMb }))
  const { sustained: sustainedRows, sustainedRatios } = summarizeSustained(targets, sustained)
  const goals: Goal[] = GOALS.map((g) => {
    // Peak RSS is judged under sustained load when that was measured: a short round mostly shows the
    // start-up footprint, while a connector's memory can keep growing with every packet for a minute.
    const longRun = g.key === 'maxRssMb' && sustainedRows.length > 0 ? sustainedRows[0]! : undefined
    return {
      metric: longRun === undefined ? g.metric : `${g.metric} over ${Math.round(longRun.seconds)} s of load (short rounds: see the ratios)`,
      goal: g.goal,
      results: Object.fromEntries(judged.map((t) => {
        const ratio = longRun === undefined
          ? ratios.find((r) => r.target === t.id && r.inFlight === GOAL_LEVEL)?.[g.key] as number | undefined
          : sustainedRatios.find((r) => r.target === t.id)?.maxRssMb
        return [t.id, ratio === undefined ? undefined : { ratio, met: g.met(ratio) }]
      }))
    }
  })
  goals.push({
    metric: 'every packet fulfilled (no Reject, BTP error, wrong fulfillment or lost packet, all levels)',
    goal: '0',
    results: Object.fromEntries(judged.map((t) => {
      const mine = rows.filter((r) => r.target === t.id)
      if (mine.length === 0) return [t.id, undefined]
      const bad = mine.reduce((sum, r) => sum + r.notFulfilled, 0)
      return [t.id, { ratio: bad, met: bad === 0 }]
    }))
  })
  const steal = measurements.map((m) => m.stealShare).filter(Number.isFinite)
  const other = measurements.map((m) => m.otherShare).filter(Number.isFinite)
  const noise = {
    stealMedian: median(steal),
    stealMax: steal.length === 0 ? NaN : Math.max(...steal),
    otherMedian: median(other),
    otherMax: other.length === 0 ? NaN : Math.max(...other)
  }
  return { rows, sustained: sustainedRows, sustainedRatios, startup, children: childrenRows, ratios, childrenRatios, goals, goalLevel: GOAL_LEVEL, compared: judged.map((t) => ({ id: t.id, name: t.name })), noise }
}

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-'
const x = (n: number): string => Number.isFinite(n) ? `${n.toFixed(2)}x` : '-'

function table (head: string[], align: Array<'l' | 'r'>, rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${align.map((a) => a === 'r' ? '---:' : '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)
  ].join('\n')
}

const KEEP_MARKER = '<!-- end of the generated part: pnpm bench rewrites everything above this line and keeps what follows -->'

export function markdown (results: BenchResults): { document: string, table: string, keepMarker: string } {
  const { meta, summary } = results
  const s = meta.settings
  const nameOf = (id: string): string => results.targets.find((t) => t.id === id)?.name ?? results.skipped.find((t) => t.target === id)?.name ?? id
  // the targets judged against the issues' goals, conn with its own transport first
  const compared = [...summary.compared, ...results.skipped.filter((k) => k.what === 'all' && JUDGED.includes(k.target)).map((k) => ({ id: k.target, name: k.name }))]
    .sort((a, b) => JUDGED.indexOf(a.id) - JUDGED.indexOf(b.id))

  const goals = table(
    ['at 100 in flight, conn / reference', 'target', ...compared.map((c) => c.name)],
    ['l', 'r', ...compared.map((): 'r' => 'r')],
    summary.goals.map((g) => [g.metric, g.goal, ...compared.map((c) => {
      const r = g.results[c.id]
      if (r === undefined) return 'not measured'
      return `${g.goal === '0' ? String(r.ratio) : x(r.ratio)} ${r.met ? '**met**' : '**not met**'}`
    })])
  )
  const main = table(
    ['connector', 'in flight', 'fulfilled packets/s', 'p50 µs', 'p99 µs', 'connector CPU µs/packet', 'peak RSS MB', 'RSS after start-up MB', 'not fulfilled'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    summary.rows.map((r) => [r.name, String(r.inFlight), fmt(r.packetsPerSecond), fmt(r.p50), fmt(r.p99), fmt(r.cpuMicrosPerPacket, 1), fmt(r.maxRssMb), fmt(r.startRssMb),
      r.notFulfilled === 0 ? '0' : `**${r.notFulfilled}** ${JSON.stringify(r.rejectCodes)}`])
  )
  const ratios = table(
    ['conn / reference', 'in flight', 'packets/s', 'p50', 'p99', 'CPU/packet', 'peak RSS'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    summary.ratios.map((r) => [nameOf(r.target), String(r.inFlight), x(r.packetsPerSecond), x(r.p50), x(r.p99), x(r.cpuMicrosPerPacket), x(r.maxRssMb)])
  )
  const checkpoints = [...new Set(summary.sustained.flatMap((r) => Object.keys(r.peakRssAt)))].sort((a, b) => Number(a) - Number(b))
  const sustained = table(
    ['connector', 'in flight', 'rounds', 'fulfilled packets/s', 'CPU µs/packet', ...checkpoints.map((c) => `peak RSS after ${c} s, MB`), 'peak RSS MB'],
    ['l', 'r', 'r', 'r', 'r', ...checkpoints.map((): 'r' => 'r'), 'r'],
    [
      ...summary.sustained.map((r) => [r.name, String(r.inFlight), String(r.rounds), fmt(r.packetsPerSecond), fmt(r.cpuMicrosPerPacket, 1),
        ...checkpoints.map((c) => fmt(r.peakRssAt[c] ?? NaN)), fmt(r.maxRssMb)]),
      ...summary.sustainedRatios.map((r) => [`${nameOf(r.target)} / reference`, '', '', '', '', ...checkpoints.map((c) => x(r.peakRssAt[c] ?? NaN)), x(r.maxRssMb)])
    ]
  )
  const startup = table(
    ['connector', 'samples', 'spawn to BTP connection accepted, ms', 'spawn to first packet fulfilled, ms'],
    ['l', 'r', 'r', 'r'],
    summary.startup.map((r) => [r.name, String(r.samples), fmt(r.listenMs), fmt(r.firstFulfillMs)])
  )
  const children = table(
    ['connector', 'account plugin', 'connected (still open)', 'RSS before MB', 'RSS with children MB', 'KB per child', 'heap used MB', 'connect time s'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    summary.children.map((r) => [r.name, '`' + r.transport + '`', `${fmt(r.connected)} of ${fmt(r.children)} (${fmt(r.open)})`, fmt(r.rssBeforeMb), fmt(r.rssAfterMb),
      fmt(r.kbPerChild, 1), fmt(r.heapAfterMb), fmt(r.connectSeconds, 1)])
  )
  const notes: string[] = []
  for (const k of results.skipped) {
    notes.push(`- ${k.what === 'all' ? 'Not measured' : 'Memory with many children not measured'}: ${k.name}, because ${k.reason}.`)
  }
  for (const f of results.failures) notes.push(`- **Failed**: ${nameOf(f.target)}, ${f.what}, round ${f.round}: ${f.error}`)
  for (const m of results.measurements.filter((m) => m.exhausted)) {
    notes.push(`- ${nameOf(m.target)} at ${m.inFlight} in flight, round ${m.round}: the sender used up its packet pool; raise BENCH_MAX_RATE.`)
  }
  for (const r of summary.rows.filter((r) => r.notFulfilled > 0)) {
    notes.push(`- **${nameOf(r.target)} at ${r.inFlight} in flight did not fulfill ${r.notFulfilled} packets** over ${r.rounds} rounds: ${JSON.stringify(r.rejectCodes)}.`)
  }
  for (const c of summary.children.filter((c) => c.connected < c.children || c.open < c.connected)) {
    notes.push(`- ${c.name}: only ${c.connected} of ${c.children} children connected, ${c.open} still open at the measurement.`)
  }

  const settings = `${s.rounds} round${s.rounds === 1 ? '' : 's'} of ${s.duration / 1000} s measured after ${s.warmup / 1000} s of warm-up, ` +
    `per connector and level (${s.inFlight.join(', ')} packets in flight)`
  const machine = `${meta.machine.cpu}, ${meta.machine.cores} cores, ${fmt(meta.machine.memoryGb)} GB, ${meta.machine.os}, Node ${meta.machine.node}`
  const versions = Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(', ')
  const pct = (share: number): string => Number.isFinite(share) ? `${(100 * share).toFixed(0)}%` : '-'
  const noise = Number.isFinite(summary.noise.stealMedian)
    ? `Machine noise over the measured periods (of all cores, from /proc/stat): ${pct(summary.noise.stealMedian)} median ` +
      `(${pct(summary.noise.stealMax)} at most) stolen by the hypervisor, ${pct(summary.noise.otherMedian)} median ` +
      `(${pct(summary.noise.otherMax)} at most) used by other processes; each round's are in the JSON.`
    : ''

  const document = `# Benchmarks

conn and the reference connector, ilp-connector 23, side by side: same machine, same run, same load generator.
Rerun with \`${meta.command}\` (this run took ${meta.minutes.toFixed(1)} minutes; \`BENCH_QUICK=1 pnpm bench\` for a
quick look that leaves this file alone). What is measured and every option: packages/bench/README.md.

Run of ${meta.date}${meta.commit !== undefined ? ` at commit ${meta.commit}${meta.dirty ? ' (with uncommitted changes)' : ''}` : ''}${s.quick ? ' (quick mode)' : ''}.
Machine: ${machine}. Versions: ${versions}. ${settings}; medians over the rounds.${meta.json !== undefined ? ` Raw rounds: ${meta.json}.` : ''}
${noise}

## Targets of issues 7 and 11

Issue 11's targets (stricter than issue 7's CPU <= 0.33x, packets/s >= 1.7x, p99 <= 0.5x) are judged for conn with
its own transport and for conn running a reference configuration unchanged (accounts naming \`ilp-plugin-btp\`,
which conn runs on its own transport). conn with ilp-plugin-btp instances (its switch with the reference's
transport) is in the ratios below.

${goals}

## Throughput, latency, CPU and memory

${main}

## Ratios, conn / reference

Above 1x is more; for packets/s more is better, for the others less is better.

${ratios}

## Memory under sustained load

${summary.sustained.length > 0
    ? `Each connector at ${summary.sustained[0]!.inFlight} packets in flight for ${fmt(summary.sustained[0]!.seconds)} s (after the same warm-up), in ${fmt(s.sustainedRounds as number)} interleaved rounds; its peak
RSS (VmHWM, read from /proc every 250 ms) as it stood after so many seconds of load, medians over the rounds.
The short rounds above end while a connector whose memory grows with every packet is still growing; an
operator's connector runs for days, so this is the peak RSS the target is judged on.

${sustained}`
    : 'Not measured in this run (BENCH_SUSTAINED=0).'}

## Start-up

From spawning the connector process (plain \`node\`, no loader) until the sender's BTP connection is accepted,
and until its first packet comes back fulfilled (the clients wait and retry every 2 ms); median over all
throughput runs.

${startup}

## Memory with ${fmt(s.children)} connected children

One child account whose plugin serves every child on one port (the multi-account mode), ${fmt(s.children)} BTP
clients connected from ${s.childrenProcesses} other processes, each with its own token (its own account)${s.childrenIldcp ? ', each asking for its address over ILDCP' : ''};
the connector's RSS before they connect and 1 s after the last one has.

${summary.children.length > 0 ? children : 'Not measured in this run.'}
${summary.childrenRatios.length > 0 ? '\n' + summary.childrenRatios.map((r) => `- ${nameOf(r.target)} / reference, RSS with children: ${x(r.rssAfterMb)}`).join('\n') + '\n' : ''}${notes.length > 0 ? `\n## Notes\n\n${notes.join('\n')}\n` : ''}
## How to read it

- **Connectors**: the reference is ilp-connector 23 with ilp-plugin-btp; conn runs once with its own
  transport (@conn/plugin-btp) and once with ilp-plugin-btp, to separate what the transport gives from what the
  packet switch gives. All have the same two BTP child accounts (alice sends, bob receives), the one-to-one
  backend, spread 0, the memory store and every default middleware on; each packet is parsed and validated,
  and the Fulfill is checked against the condition.
- **Load**: the sender keeps a fixed number of packets in flight (${s.inFlight.join(', ')}) (a new one as each reply arrives), every Prepare
  unique with a precomputed fulfillment; the receiver fulfills from the data and checks that the amount and
  destination arrived as sent. Sender and receiver are separate processes with a lean BTP client, so that as
  much of the 2 cores as possible goes to the connector; on this machine they still need some of it, which
  caps any connector at 100 in flight.
- **fulfilled packets/s**: Fulfills with the right fulfillment per second of the measured period.
  **p50/p99**: round-trip time at the sender, from writing the Prepare to reading the reply.
  **connector CPU µs/packet**: user + system CPU time of the connector process over the measured period
  divided by the packets answered in it: what a packet costs, independent of how busy the load generator is.
  **peak RSS**: the connector process's maximum resident set size over its life (start, warm-up, measurement);
  **RSS after start-up**: its resident set once it has fulfilled its first packet, before the load (what the
  code and its dependencies take; the difference to the peak is what the load adds, mostly heap).
- **not fulfilled**: Rejects (by code), BTP errors, wrong fulfillments and packets without a reply; a connector
  with any is reported here and in the notes, never hidden, and fails the "every packet fulfilled" target.
- Each number is the median of the rounds; the rounds interleave the connectors (the order rotates every round)
  so that a slow moment of the machine does not fall on one connector only. Expect a few percent of noise
  between runs on a quiet machine, more on a shared virtual machine (the noise line above says how much CPU
  the hypervisor took and other processes used while measuring); compare ratios from the same run, not absolute
  numbers across runs or machines.
`

  const stdout = [
    `\n${settings}; medians (${machine})`,
    noise,
    '',
    main,
    '',
    ratios,
    '',
    goals,
    '',
    ...(summary.sustained.length > 0 ? [sustained, ''] : []),
    startup,
    ...(summary.children.length > 0 ? ['', children] : []),
    ...(notes.length > 0 ? ['', ...notes] : [])
  ].join('\n')
  return { document, table: stdout, keepMarker: KEEP_MARKER }
}
