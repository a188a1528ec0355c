/**
 * What every benchmark connector process does besides being a connector: answers the runner over IPC
 * ('mark' starts a CPU measurement, 'report' answers with the CPU used since the mark and the memory), and
 * exits normally on SIGINT so `--cpu-prof` writes its profile. Also loads plugin classes by name, from the
 * bench's own dependencies or else from @conn/cli's (ilp-plugin-mini-accounts is one of the cli's).
 */
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { dirname } from 'node:path'
import { pathToFileURL } from 'node:url'

export interface ConnectorReport {
  type: 'report'
  /** user + system CPU time since the last 'mark', µs */
  cpuMicros: number
  /** peak resident set size of the process so far, KiB */
  maxRssKb: number
  rssBytes: number
  heapUsedBytes: number
}

export type PluginClass = new (options: Record<string, unknown>, api?: Record<string, unknown>) => unknown

const require = createRequire(import.meta.url)

/** The folder of @conn/cli, where conn resolves its built-in middlewares (as the cli does). */
export const CLI_DIR = dirname(dirname(require.resolve('@conn/cli')))

async function importPackage (name: string): Promise<Record<string, unknown>> {
  try {
    return await import(name) as Record<string, unknown>
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err
    let path: string
    try {
      path = createRequire(CLI_DIR + '/package.json').resolve(name)
    } catch {
      throw err // not one of the cli's either: the first error says more
    }
    return await import(pathToFileURL(path).href) as Record<string, unknown>
  }
}

/**
 * A plugin class by specifier: a package name (its default export; a CommonJS plugin's module.exports), or
 * `package#Export` for a named export, e.g. `@conn/plugin-btp#MiniAccountsPlugin`.
 */
export async function loadPluginClass (specifier: string): Promise<PluginClass> {
  const [name, exportName] = specifier.split('#') as [string, string | undefined]
  const mod = await importPackage(name)
  let value = exportName === undefined ? mod.default : mod[exportName]
  // CommonJS plugins: module.exports is the class, and module.exports.default too
  if (exportName === undefined && typeof value === 'object' && value !== null) value = (value as Record<string, unknown>).default
  if (typeof value !== 'function') throw new Error(`${specifier} does not export a plugin class`)
  return value as PluginClass
}

/** Plugin options for one account: a single BTP listener, or a BTP server for many children (mini-accounts). */
export function pluginOptions (mode: 'pair' | 'children', port: number): Record<string, unknown> {
  const wsOpts = { host: '127.0.0.1', port }
  return mode === 'pair' ? { listener: { port, secret: 'bench', wsOpts } } : { wsOpts }
}

/**
 * Options every benchmark account gets besides its plugin. The default rate limit (10,000 packets per
 * minute in the reference, per second in conn) would throttle any benchmark with T05 Rejects, so each
 * account gets one that never binds; the rate-limit middleware still runs and takes a token per packet.
 */
export const ACCOUNT_OPTIONS = {
  assetCode: 'USD',
  assetScale: 9,
  rateLimit: { refillPeriod: 1000, refillCount: 1000000, capacity: 1000000 }
}

/** BENCH_BALANCE=1: balance limits on the accounts, so every packet reserves and commits (pnpm bench:redis). */
export function benchLimits (): { balance?: { minimum: string, maximum: string } } {
  return process.env.BENCH_BALANCE === '1' ? { balance: { minimum: '-1000000000000000000', maximum: '1000000000000000000' } } : {}
}

export function serveRunner (): void {
  let cpuBase = process.cpuUsage()
  process.once('SIGINT', () => process.exit(0))
  process.once('disconnect', () => process.exit(0)) // the runner is gone
  process.on('message', (message: { type: string }) => {
    if (message.type === 'mark') {
      cpuBase = process.cpuUsage()
    } else if (message.type === 'report') {
      const cpu = process.cpuUsage(cpuBase)
      const memory = process.memoryUsage()
      const report: ConnectorReport = {
        type: 'report',
        cpuMicros: cpu.user + cpu.system,
        maxRssKb: process.resourceUsage().maxRSS,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed
      }
      process.send!(report)
    }
  })
}

/** A non-negative number from the environment, or `fallback` when unset. */
export function numberOption (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number, got ${JSON.stringify(value)}`)
  return n
}

/**
 * The reference connector's createApp, its logging off: `debug` through DEBUG='' (set by the runner), riverpig's
 * info lines through its output stream (BENCH_VERBOSE=1 keeps them, on stderr).
 */
export function referenceCreateApp (): (opts: Record<string, unknown>) => { listen: () => Promise<void> } {
  const reference = require('ilp-connector') as { createApp: (opts: Record<string, unknown>) => { listen: () => Promise<void> } }
  const referenceRequire = createRequire(require.resolve('ilp-connector'))
  const log = referenceRequire('./common/log') as { setOutputStream: (stream: NodeJS.WritableStream) => void }
  log.setOutputStream(process.env.BENCH_VERBOSE === '1'
    ? process.stderr
    : new Writable({ write: (_chunk, _encoding, done) => done() }))
  return reference.createApp
}

export function env (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set`)
  return value
}

export interface EventLoopReport {
  type: 'loop'
  /** longest event-loop delay since the last 'loop-mark', ms (1 ms resolution) */
  maxMs: number
  p99Ms: number
}

/**
 * Event-loop delay of this process (perf_hooks, 1 ms resolution): 'loop-mark' starts a period, 'loop-report'
 * answers with its longest delay (how long the loop was blocked at worst).
 */
export async function serveEventLoopDelay (): Promise<void> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks')
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  process.on('message', (message: { type: string }) => {
    if (message.type === 'loop-mark') {
      histogram.reset()
    } else if (message.type === 'loop-report') {
      const report: EventLoopReport = { type: 'loop', maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 }
      process.send!(report)
    }
  })
}
