/**
 * Routing benchmark connector process: the reference, ilp-connector 23, with the accounts of
 * routes-connector-conn.ts (alice and bob children, speaker a peer), each an ilp-plugin-btp listener instance.
 * Logging off as in connector-reference.ts; its CCP route exchange is on (its default).
 */
import type { Plugin } from '@conn/types'
import { ACCOUNT_OPTIONS, env, loadPluginClass, pluginOptions, referenceCreateApp, serveEventLoopDelay, serveRunner } from './connector-ipc.ts'

serveRunner()
await serveEventLoopDelay()
const reference = { createApp: referenceCreateApp() }

const Transport = await loadPluginClass(env('BENCH_TRANSPORT'))
const account = (relation: 'child' | 'peer', port: string): { relation: string, plugin: Plugin } & typeof ACCOUNT_OPTIONS =>
  ({ relation, plugin: new Transport(pluginOptions('pair', Number(env(port)))) as Plugin, ...ACCOUNT_OPTIONS })

const app = reference.createApp({
  env: 'test',
  ilpAddress: 'test.bench',
  backend: 'one-to-one',
  spread: 0,
  store: 'memory',
  accounts: {
    alice: account('child', 'BENCH_ALICE_PORT'),
    bob: account('child', 'BENCH_BOB_PORT'),
    speaker: account('peer', 'BENCH_PEER_PORT')
  }
})

await app.listen()
process.send!({ type: 'ready' })
