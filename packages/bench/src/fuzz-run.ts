/**
 * `pnpm fuzz`: drives a real `conn` with FUZZ_CASES hostile cases (default 1000) from FUZZ_SEED (default: the
 * time), checking between batches of FUZZ_BATCH (default 250) that it is alive, that a canary payment is fulfilled
 * and that no balance moved but the victim's and the canaries'. FUZZ_TIMEOUT: ms a case waits for an answer
 * (default 5000). FUZZ_ONLY=3,17: replay those cases of the seed; FUZZ_TRACE=1: one line per case.
 * FUZZ_CONCURRENCY: cases at once (default 1; more also tests load, but victim sessions then replace each other). FUZZ_JSON=1 prints the whole report as JSON.
 * Prints a table and exits non-zero on any failure. A script, not a test (test/fuzz.spec.ts runs a small count).
 */
import { runFuzz, type FuzzReport } from './fuzz.ts'

function intOption (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}: expected a non-negative integer, got ${JSON.stringify(value)}`)
  return n
}

const seed = intOption('FUZZ_SEED', Date.now() % 1_000_000_000)
const only = process.env.FUZZ_ONLY === undefined || process.env.FUZZ_ONLY === ''
  ? undefined
  : process.env.FUZZ_ONLY.split(',').map((s) => Number(s.trim()))
const report = await runFuzz({
  cases: intOption('FUZZ_CASES', 1000),
  seed,
  batchSize: intOption('FUZZ_BATCH', 250) || 250,
  caseTimeout: intOption('FUZZ_TIMEOUT', 5000) || 5000,
  concurrency: intOption('FUZZ_CONCURRENCY', 1) || 1,
  only,
  trace: process.env.FUZZ_TRACE === '1',
  log: (line) => console.log(line)
})

function table (title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(title.length, ...rows.map(([k]) => k.length))
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${String(v).padStart(8)}`)].join('\n')
}

function print (r: FuzzReport): void {
  console.log('')
  console.log(`fuzz: seed ${r.seed}, ${r.cases} cases in batches of ${r.batchSize}, ${(r.durationMs / 1000).toFixed(1)} s, case time-out ${r.caseTimeout} ms, ${r.concurrency} at a time`)
  console.log(table('cases by kind', Object.entries(r.kinds)))
  console.log(table('answers', Object.entries(r.answers)))
  for (const [kind, answers] of Object.entries(r.answersByKind)) {
    console.log(table(`  ${kind}`, Object.entries(answers).sort(([, a], [, b]) => b - a)))
  }
  const alive = r.batches.filter((b) => b.alive).length
  console.log(table('checks', [
    ['checks (before the first batch and after each)', r.batches.length],
    ['conn alive', alive],
    ['canary payments fulfilled', `${r.canaries.fulfilled}/${r.canaries.paid}`],
    ['balances as expected', r.batches.filter((b) => b.balancesOk).length],
    ['victim balance change', r.victimBalanceChange],
    ['conn log lines at error or above', r.connErrorLines],
    ['conn exit code on SIGTERM', String(r.connExit)]
  ]))
  console.log('balances at start', JSON.stringify(r.balances.start))
  console.log('balances at end  ', JSON.stringify(r.balances.end))
  if (r.failures.length === 0) {
    console.log('\nno failures')
  } else {
    console.log(`\n${r.failures.length} FAILURES (replay a case: FUZZ_SEED=${r.seed} FUZZ_ONLY=<n>)`)
    for (const f of r.failures.slice(0, 30)) console.log(`  ${f.where} [${f.kind}${f.variant === '' ? '' : ' ' + f.variant}]: ${f.message}`)
  }
}

if (process.env.FUZZ_JSON === '1') console.log(JSON.stringify(report, null, 2))
else print(report)
process.exit(report.failures.length === 0 ? 0 : 1)
