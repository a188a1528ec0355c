/**
 * Benchmark connector process: conn with two BTP listener accounts (alice sends, bob receives), one-to-one,
 * memory store. BENCH_PIPELINE=default runs every built-in middleware, `empty` disables them all.
 * Talks to the runner over IPC: 'ready' once listening; on 'report' answers with its CPU time and peak RSS.
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { pino } from 'pino'
import BtpPluginModule from 'ilp-plugin-btp'
import { createApp, BUILTIN_MIDDLEWARE_NAMES } from '@conn/core'
import type { Logger, Plugin } from '@conn/types'

const BtpPlugin = BtpPluginModule.default
const [alicePort, bobPort] = [Number(process.env.BENCH_ALICE_PORT), Number(process.env.BENCH_BOB_PORT)]
const pipeline = process.env.BENCH_PIPELINE ?? 'default'
const cliDir = dirname(dirname(createRequire(import.meta.url).resolve('@conn/cli')))

function listener (port: number): Plugin {
  return new BtpPlugin({ listener: { port, secret: 'bench', wsOpts: { host: '127.0.0.1', port } } }) as unknown as Plugin
}

const app = createApp({
  ilpAddress: 'test.bench',
  backend: 'one-to-one',
  spread: 0,
  disableMiddleware: pipeline === 'empty' ? [...BUILTIN_MIDDLEWARE_NAMES] : [],
  accounts: {
    alice: { relation: 'child', plugin: listener(alicePort), assetCode: 'USD', assetScale: 9 },
    bob: { relation: 'child', plugin: listener(bobPort), assetCode: 'USD', assetScale: 9 }
  }
}, { logger: pino({ level: 'warn' }) as unknown as Logger, resolveFrom: [cliDir] })

const cpuAtStart = process.cpuUsage()
process.send!({ type: 'started' })
await app.listen()
process.send!({ type: 'ready' })
let cpuBase = process.cpuUsage()
process.once('SIGINT', () => process.exit(0)) // exit normally so --cpu-prof writes its profile
process.on('message', (message: { type: string }) => {
  if (message.type === 'mark') {
    cpuBase = process.cpuUsage()
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(cpuBase)
    process.send!({ type: 'report', cpuMicros: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS })
  }
})
void cpuAtStart
