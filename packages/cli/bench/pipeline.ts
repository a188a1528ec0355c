/**
 * In-process micro-benchmark of conn's packet path without any transport: two in-memory plugins (the test
 * plays alice and bob), the default middlewares (or none: PIPELINE=empty), N sequential or concurrent packets.
 * Measures the connector's own cost per packet: parse, pipeline, switch, patch, fulfillment check.
 *   node --import tsx bench/pipeline.ts   (from packages/cli; NODE_ENV=production for the unchecked chain)
 * ALLOC=1: also bytes allocated on the JS heap per packet (V8's sampling heap profiler, counting objects
 * already collected) and the functions that allocate most; the profiler slows the run, so CPU is then not
 * comparable.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Session } from 'node:inspector/promises'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import * as IlpPacket from 'ilp-packet'
import { pino } from 'pino'
import { createApp, STANDARD_MIDDLEWARE_NAMES } from '@conn/core'
import type { Logger, Plugin, PluginDataHandler } from '@conn/types'

class MemoryPlugin extends EventEmitter implements Plugin {
  static readonly version = 2
  handler: PluginDataHandler | undefined
  onSend: (data: Buffer) => Promise<Buffer> = async () => { throw new Error('no peer') }
  async connect (): Promise<void> { this.emit('connect') }
  async disconnect (): Promise<void> {}
  isConnected (): boolean { return true }
  async sendData (data: Buffer): Promise<Buffer> { return await this.onSend(data) }
  async sendMoney (): Promise<void> {}
  registerDataHandler (handler: PluginDataHandler): void { this.handler = handler }
  deregisterDataHandler (): void { this.handler = undefined }
  registerMoneyHandler (): void {}
  deregisterMoneyHandler (): void {}
}

const count = Number(process.env.PACKETS ?? 200000)
const inFlight = Number(process.env.IN_FLIGHT ?? 100)
const alice = new MemoryPlugin()
const bob = new MemoryPlugin()
const FULFILL_HEADER = Buffer.from([13, 33])
bob.onSend = async (prepare) => {
  const fulfill = Buffer.allocUnsafe(35)
  FULFILL_HEADER.copy(fulfill, 0)
  prepare.copy(fulfill, 2, prepare.length - 32)
  fulfill[34] = 0
  return fulfill
}
const app = createApp({
  ilpAddress: 'test.bench',
  backend: 'one-to-one',
  spread: 0,
  routeBroadcastEnabled: false,
  disableMiddleware: process.env.PIPELINE === 'empty'
    ? [...STANDARD_MIDDLEWARE_NAMES]
    : (process.env.DISABLE ?? '').split(',').filter((name) => name !== ''),
  accounts: {
    // every middleware on, but alice's rate limit (default 10000 packets per second) high enough for this run
    alice: { relation: 'child', plugin: alice, assetCode: 'USD', assetScale: 9, rateLimit: { refillCount: 1e9 } },
    bob: { relation: 'child', plugin: bob, assetCode: 'USD', assetScale: 9 }
  }
}, { logger: pino({ level: 'warn' }) as unknown as Logger, resolveFrom: [fileURLToPath(new URL('..', import.meta.url))] })
await app.listen()

const expiresAt = new Date(Date.now() + 600000)
const packets = Array.from({ length: count }, () => {
  const fulfillment = randomBytes(32)
  return IlpPacket.serializeIlpPrepare({
    amount: '100', destination: 'test.bench.bob', expiresAt, data: fulfillment,
    executionCondition: createHash('sha256').update(fulfillment).digest()
  })
})

let next = 0
let fulfilled = 0
async function worker (): Promise<void> {
  while (next < count) {
    const reply = await alice.handler!(packets[next++]!)
    if (reply[0] === 13) fulfilled++
  }
}
interface ProfileNode { callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: ProfileNode[] }
const session = process.env.ALLOC === '1' ? new Session() : undefined
if (session !== undefined) {
  session.connect()
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
}
const cpu = process.cpuUsage()
const start = process.hrtime.bigint()
await Promise.all(Array.from({ length: inFlight }, worker))
const seconds = Number(process.hrtime.bigint() - start) / 1e9
const used = process.cpuUsage(cpu)
if (session !== undefined) {
  const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfileNode } }
  const bySite = new Map<string, number>()
  let total = 0
  const walk = (node: ProfileNode): void => {
    const { functionName, url, lineNumber } = node.callFrame
    const site = `${functionName === '' ? '(anonymous)' : functionName} ${url.split('/').slice(-3).join('/')}:${lineNumber + 1}`
    if (node.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  console.log(`~${(total / count).toFixed(0)} bytes allocated per packet; most by:`)
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${(bytes / count).toFixed(0).padStart(6)} B  ${site}`)
}
console.log(`${process.env.PIPELINE === 'empty' ? 'no middlewares' : 'default middlewares' + (process.env.DISABLE !== undefined ? ' without ' + process.env.DISABLE : '')}, NODE_ENV=${process.env.NODE_ENV ?? ''}: ` +
  `${fulfilled}/${count} fulfilled, ${(count / seconds).toFixed(0)} packets/s, ${((used.user + used.system) / count).toFixed(2)} µs CPU/packet`)
await app.shutdown()
