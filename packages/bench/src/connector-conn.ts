/**
 * Benchmark connector process: conn, configured as the reference is in connector-reference.ts. Plain
 * JavaScript once built (no tsx), started by the runner.
 *
 * BENCH_MODE=pair (default): two child accounts, alice and bob, each a BTP listener (BENCH_ALICE_PORT,
 * BENCH_BOB_PORT) of the plugin class BENCH_TRANSPORT (`@conn/plugin-btp`, or `ilp-plugin-btp`); or, with
 * BENCH_PLUGIN_NAME, of the package the accounts name (`ilp-plugin-btp`: what conn runs for it).
 * BENCH_MODE=children: one child account whose plugin (BENCH_TRANSPORT: a mini-accounts class) serves many
 * BTP clients on BENCH_PORT.
 * Both: one-to-one backend, spread 0, memory store (BENCH_STORE, BENCH_STORE_CONFIG: another, e.g. redis), every default middleware (BENCH_PIPELINE=empty disables
 * them all, for diagnosis only). BENCH_TRACE=1: a tracing subscriber attached. BENCH_HTTP=1.1|2: ILP over HTTP accounts. V8's young generation capped as the `conn` command caps it. Logs at `error` (BENCH_VERBOSE=1: `info`), to stdout.
 */
import { subscribe } from 'node:diagnostics_channel'
import { pino } from 'pino'
import { createApp, STANDARD_MIDDLEWARE_NAMES } from '@conn/core'
import { TRACE_CHANNELS, type AccountConfig, type Logger, type Plugin } from '@conn/types'
import { ACCOUNT_OPTIONS, CLI_DIR, benchLimits, env, loadPluginClass, pluginOptions, serveRunner } from './connector-ipc.ts'

serveRunner()
// BENCH_TRACE=1: a listener on the answered-packet channel, so every packet is traced (what tracing costs)
let traced = 0
if (process.env.BENCH_TRACE === '1') subscribe(TRACE_CHANNELS.answered, () => { traced++ })
const mode = process.env.BENCH_MODE === 'children' ? 'children' : 'pair'
const Transport = await loadPluginClass(env('BENCH_TRANSPORT'))
// BENCH_PLUGIN_NAME: accounts name their plugin by package, with its options, as a configuration file does
const pluginName = process.env.BENCH_PLUGIN_NAME
// BENCH_HTTP=1.1|2: alice and bob are @conn/plugin-http accounts (alice's port takes the sender's POSTs, bob
// POSTs to the receiver's server on BENCH_RECEIVER_PORT)
const http = process.env.BENCH_HTTP
const httpOptions = (port: string): Record<string, unknown> => ({
  incoming: { port: Number(env(port)), host: '127.0.0.1', secretToken: 'bench' },
  outgoing: { url: `http://127.0.0.1:${port === 'BENCH_BOB_PORT' ? env('BENCH_RECEIVER_PORT') : '9'}/`, secretToken: 'bench', http2: http === '2' }
})
const account = (port: string): AccountConfig => {
  const limits = benchLimits()
  if (http !== undefined) return { relation: 'child', plugin: '@conn/plugin-http', options: httpOptions(port), ...ACCOUNT_OPTIONS, ...limits }
  const options = pluginOptions(mode, Number(env(port)))
  return pluginName !== undefined && pluginName !== ''
    ? { relation: 'child', plugin: pluginName, options, ...ACCOUNT_OPTIONS, ...limits }
    : { relation: 'child', plugin: new Transport(options) as Plugin, ...ACCOUNT_OPTIONS, ...limits }
}

const app = createApp({
  ilpAddress: 'test.bench',
  // BENCH_CONNECT_TIMEOUT: how long start-up waits for the listeners' clients (a cluster member has accounts nobody connects to)
  ...(process.env.BENCH_CONNECT_TIMEOUT === undefined ? {} : { initialConnectTimeout: Number(process.env.BENCH_CONNECT_TIMEOUT) }),
  backend: 'one-to-one',
  spread: 0,
  // BENCH_STORE=redis, BENCH_STORE_CONFIG (JSON): the redis store (pnpm bench:redis); memory otherwise
  store: process.env.BENCH_STORE ?? 'memory',
  ...(process.env.BENCH_STORE_CONFIG === undefined ? {} : { storeConfig: JSON.parse(process.env.BENCH_STORE_CONFIG) as Record<string, unknown> }),
  // BENCH_PIPELINE=empty: no middlewares; BENCH_CONN_DISABLE=a,b: leave those out (to find what one costs)
  disableMiddleware: process.env.BENCH_PIPELINE === 'empty'
    ? [...STANDARD_MIDDLEWARE_NAMES]
    : (process.env.BENCH_CONN_DISABLE ?? '').split(',').filter((name) => name !== ''),
  accounts: mode === 'pair'
    ? { alice: account('BENCH_ALICE_PORT'), bob: account('BENCH_BOB_PORT') }
    : { children: account('BENCH_PORT') }
}, { logger: pino({ level: process.env.BENCH_VERBOSE === '1' ? 'info' : 'error' }) as unknown as Logger, resolveFrom: [CLI_DIR] })

await app.listen()
process.send!({ type: 'ready' })
