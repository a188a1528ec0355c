/**
 * Summarizes a V8 CPU profile (.cpuprofile, from BENCH_PROFILE / node --cpu-prof) in the terminal: the share
 * of self time per package (node_modules package, workspace package, node internals, GC, idle) and the
 * functions with the most self time.
 *
 *   node packages/bench/dist/profile-top.js <file.cpuprofile> [functions to list, default 30]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number }
  children?: number[]
}
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: profile-top <file.cpuprofile> [functions to list]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const top = Number(topArg ?? 30)

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
}

/** Where a function lives: the npm package, the workspace package, node's internals, or a V8 pseudo-node. */
function where (url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const modules = url.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  const workspace = /\/packages\/([^/]+)\//.exec(url)
  return workspace !== null ? `@conn/${workspace[1]} (workspace)` : url
}

const total = [...self.values()].reduce((a, b) => a + b, 0)
const idle = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0)
const busy = total - idle
const packages = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, time] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  if (functionName === '(idle)') continue
  const pkg = where(url, functionName)
  packages.set(pkg, (packages.get(pkg) ?? 0) + time)
  const key = `${functionName === '' ? '(anonymous)' : functionName}  ${pkg}${url !== '' ? ` ${url.slice(url.lastIndexOf('/') + 1)}:${lineNumber + 1}` : ''}`
  functions.set(key, (functions.get(key) ?? 0) + time)
}
const pct = (t: number): string => `${(100 * t / busy).toFixed(1).padStart(5)}%`
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy time)\n`)
console.log('self time by package:')
for (const [pkg, time] of [...packages].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(time)}  ${pkg}`)
console.log(`\ntop ${top} functions by self time:`)
for (const [fn, time] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(time)}  ${fn}`)
