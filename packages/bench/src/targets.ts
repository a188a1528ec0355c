/**
 * The connectors the benchmark compares. Each is a connector process (connector-conn.js or
 * connector-reference.js) and the plugin classes its accounts use: `transport` for the two BTP listener
 * accounts of the throughput runs, `childrenTransport` (candidates, first loadable wins) for the one
 * multi-account listener of the memory run. A target whose transport cannot be loaded yet is skipped with a
 * note, so `@conn/plugin-btp` joins the comparison by package name as soon as it is built.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI_DIR, loadPluginClass } from './connector-ipc.ts'

/**
 * The node flags the `conn` bin starts with (its shebang line, `#!/usr/bin/env -S node <flags>`): conn targets
 * run with them unless they say otherwise, so the benchmark measures the process an operator runs.
 */
export const CONN_NODE_FLAGS: readonly string[] = (() => {
  const shebang = readFileSync(join(CLI_DIR, 'bin', 'conn.js'), 'utf8').split('\n')[0] ?? ''
  return shebang.replace(/^#!\/usr\/bin\/env\s+(-S\s+)?node\s*/, '').split(/\s+/).filter((flag) => flag !== '')
})()

export interface Target {
  id: string
  name: string
  script: 'connector-conn.js' | 'connector-reference.js'
  transport: string
  childrenTransport: string[]
  env?: Record<string, string>
  /** conn/reference ratios are computed for these */
  compare?: boolean
  /** and the issues' targets are judged for these */
  goals?: boolean
  /** node flags for the connector process (e.g. V8 heap sizing) */
  nodeFlags?: string[]
}

export const REFERENCE = 'reference'

export const TARGETS: Record<string, Target> = {
  reference: {
    id: 'reference',
    name: 'ilp-connector 23 (ilp-plugin-btp)',
    script: 'connector-reference.js',
    transport: 'ilp-plugin-btp',
    childrenTransport: ['ilp-plugin-mini-accounts']
  },
  conn: {
    id: 'conn',
    name: 'conn (@conn/plugin-btp)',
    script: 'connector-conn.js',
    transport: '@conn/plugin-btp',
    childrenTransport: ['@conn/plugin-btp#MiniAccountsPlugin', '@conn/plugin-btp/mini-accounts'],
    compare: true,
    goals: true
  },
  // an operator's reference config, unchanged: accounts name `ilp-plugin-btp` by package, with its options, and
  // conn picks the transport (its own, wire-compatible) as it does for any config
  'conn-reference-config': {
    id: 'conn-reference-config',
    name: 'conn, reference config unchanged ("plugin": "ilp-plugin-btp")',
    script: 'connector-conn.js',
    transport: '@conn/plugin-btp',
    childrenTransport: [],
    env: { BENCH_PLUGIN_NAME: 'ilp-plugin-btp' },
    compare: true,
    goals: true
  },
  // conn's switch with the reference's transport: plugin instances of ilp-plugin-btp, not a package name
  'conn-ilp-plugin-btp': {
    id: 'conn-ilp-plugin-btp',
    name: 'conn (ilp-plugin-btp instances)',
    script: 'connector-conn.js',
    transport: 'ilp-plugin-btp',
    childrenTransport: ['ilp-plugin-mini-accounts'],
    compare: true
  },
  // diagnosis only, not in the default set: conn with V8's own heap sizing (without the bin's node flags)
  'conn-v8-default': {
    id: 'conn-v8-default',
    name: 'conn (@conn/plugin-btp), V8\'s default young generation',
    script: 'connector-conn.js',
    transport: '@conn/plugin-btp',
    childrenTransport: [],
    nodeFlags: [],
    compare: true
  },
  // what tracing costs once someone subscribes (a listener on conn:packet:answered); without one, `conn` pays a check
  'conn-traced': {
    id: 'conn-traced',
    name: 'conn (@conn/plugin-btp), a tracing subscriber attached',
    script: 'connector-conn.js',
    transport: '@conn/plugin-btp',
    childrenTransport: [],
    env: { BENCH_TRACE: '1' },
    compare: true
  },
  // diagnosis only, not in the default set: how much the default middlewares cost
  'conn-empty': {
    id: 'conn-empty',
    name: 'conn (@conn/plugin-btp), no middlewares',
    script: 'connector-conn.js',
    transport: '@conn/plugin-btp',
    childrenTransport: [],
    env: { BENCH_PIPELINE: 'empty' }
  },
  'conn-ilp-plugin-btp-empty': {
    id: 'conn-ilp-plugin-btp-empty',
    name: 'conn (ilp-plugin-btp), no middlewares',
    script: 'connector-conn.js',
    transport: 'ilp-plugin-btp',
    childrenTransport: [],
    env: { BENCH_PIPELINE: 'empty' }
  }
}

// BENCH_CONN_TRANSPORT: another plugin class for the `conn` target (a package name, or package#Export)
const connTransport = process.env.BENCH_CONN_TRANSPORT
if (connTransport !== undefined && connTransport !== '') {
  TARGETS.conn = { ...TARGETS.conn!, name: `conn (${connTransport})`, transport: connTransport }
}

export const DEFAULT_TARGETS = ['reference', 'conn', 'conn-reference-config', 'conn-ilp-plugin-btp']

/** Why a plugin specifier cannot be used (yet), or undefined if it loads. */
export async function unavailable (specifier: string): Promise<string | undefined> {
  try {
    await loadPluginClass(specifier)
    return undefined
  } catch (err) {
    return `${specifier}: ${(err as Error).message.split('\n')[0]}`
  }
}

/** The first of the candidate specifiers that loads, or the reasons none does. */
export async function firstAvailable (specifiers: string[]): Promise<{ specifier?: string, reasons: string[] }> {
  const reasons: string[] = []
  for (const specifier of specifiers) {
    const reason = await unavailable(specifier)
    if (reason === undefined) return { specifier, reasons }
    reasons.push(reason)
  }
  return { reasons }
}
