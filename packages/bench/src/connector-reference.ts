/**
 * Benchmark connector process: the reference, ilp-connector 23, with the accounts of connector-conn.ts.
 * It cannot resolve plugin names under pnpm (they are not its dependencies), so its accounts get plugin
 * instances, as its `plugin: object` option allows. Its logging is off: `debug` through DEBUG='' (set by the
 * runner), riverpig's info lines through its output stream (BENCH_VERBOSE=1 keeps them, on stderr).
 * Every default middleware stays on; the store is its built-in memory store.
 */
import type { Plugin } from '@conn/types'
import { ACCOUNT_OPTIONS, benchLimits, env, loadPluginClass, pluginOptions, referenceCreateApp, serveRunner } from './connector-ipc.ts'

serveRunner()
const reference = { createApp: referenceCreateApp() }

const mode = process.env.BENCH_MODE === 'children' ? 'children' : 'pair'
const Transport = await loadPluginClass(env('BENCH_TRANSPORT'))
const account = (port: string): { relation: string, plugin: Plugin } & typeof ACCOUNT_OPTIONS =>
  ({ relation: 'child', plugin: new Transport(pluginOptions(mode, Number(env(port)))) as Plugin, ...ACCOUNT_OPTIONS, ...benchLimits() })

const app = reference.createApp({
  env: 'test',
  ilpAddress: 'test.bench',
  backend: 'one-to-one',
  spread: 0,
  store: 'memory',
  accounts: mode === 'pair'
    ? { alice: account('BENCH_ALICE_PORT'), bob: account('BENCH_BOB_PORT') }
    : { children: account('BENCH_PORT') }
})

await app.listen()
process.send!({ type: 'ready' })
