/**
 * Routing benchmark connector process: conn with three accounts, each a BTP listener on 127.0.0.1 of
 * `@conn/plugin-btp`: alice (child, BENCH_ALICE_PORT) sends packets, bob (child, BENCH_BOB_PORT) receives the
 * baseline packets, speaker (peer, BENCH_PEER_PORT) teaches routes over CCP and fulfills the packets sent to
 * them. Otherwise as connector-conn.ts: one-to-one backend, spread 0, memory store, every default middleware,
 * route exchange by @conn/routing-ccp (loaded by name from @conn/cli's dependencies, as the cli does).
 */
import { pino } from 'pino'
import { createApp } from '@conn/core'
import type { AccountConfig, Logger, Plugin } from '@conn/types'
import { ACCOUNT_OPTIONS, CLI_DIR, env, loadPluginClass, pluginOptions, serveEventLoopDelay, serveRunner } from './connector-ipc.ts'

serveRunner()
await serveEventLoopDelay()
const Transport = await loadPluginClass(env('BENCH_TRANSPORT'))
const account = (relation: 'child' | 'peer', port: string): AccountConfig =>
  ({ relation, plugin: new Transport(pluginOptions('pair', Number(env(port)))) as Plugin, ...ACCOUNT_OPTIONS })

const app = createApp({
  ilpAddress: 'test.bench',
  backend: 'one-to-one',
  spread: 0,
  store: 'memory',
  accounts: {
    alice: account('child', 'BENCH_ALICE_PORT'),
    bob: account('child', 'BENCH_BOB_PORT'),
    speaker: account('peer', 'BENCH_PEER_PORT')
  }
}, { logger: pino({ level: process.env.BENCH_VERBOSE === '1' ? 'info' : 'error' }) as unknown as Logger, resolveFrom: [CLI_DIR] })

await app.listen()
process.send!({ type: 'ready' })
