/**
 * Load generator, sending side over ILP-over-HTTP: POSTs Prepares to the connector's HTTP port (HTTP/1.1 with
 * keep-alive, or one HTTP/2 session with BENCH_HTTP=2), BENCH_IN_FLIGHT at a time, each carrying a random
 * fulfillment as its data. The same messages as sender.ts: 'ready', then on 'connect' probes until a packet is
 * fulfilled ('first'), on 'load' runs BENCH_WARMUP ms then a measured BENCH_DURATION ms ('mark', 'measured') and
 * reports 'result'. A reply counts as fulfilled only if it carries exactly the packet's fulfillment.
 */
import { createHash, randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { connect } from 'node:http2'
import * as IlpPacket from 'ilp-packet'

const HTTP2 = process.env.BENCH_HTTP === '2'
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 10)
const duration = Number(process.env.BENCH_DURATION ?? 4000)
const warmup = Number(process.env.BENCH_WARMUP ?? 1000)
const TOKEN = 'Bearer bench'

function prepare (): { packet: Buffer, fulfillment: Buffer } {
  const fulfillment = randomBytes(32)
  const packet = IlpPacket.serializeIlpPrepare({
    amount: '100', destination: 'test.bench.bob', executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt: new Date(Date.now() + 60000), data: fulfillment
  })
  return { packet, fulfillment }
}

const latencies: number[] = []
let outstanding = 0
let measuring = false
let stopping = false
let fulfilled = 0
let rejected = 0
let failed = 0
const rejectCodes: Record<string, number> = {}
let post: (body: Buffer) => Promise<Buffer>

function classify (reply: Buffer, fulfillment: Buffer): string {
  if (reply[0] === 13) return reply.compare(fulfillment, 0, 32, 2, 34) === 0 ? 'F' : 'wrong fulfillment'
  if (reply[0] === 14) return IlpPacket.deserializeIlpReject(reply).code
  return 'not ILP'
}

async function sendOne (): Promise<string> {
  const { packet, fulfillment } = prepare()
  const started = performance.now()
  outstanding++
  let result: string
  try {
    result = classify(await post(packet), fulfillment)
  } catch (err) {
    result = 'HTTP ' + (err as Error).message
  }
  outstanding--
  if (measuring) {
    latencies.push((performance.now() - started) * 1000)
    if (result === 'F') fulfilled++
    else {
      if (result.length === 3) rejected++
      else failed++
      rejectCodes[result] = (rejectCodes[result] ?? 0) + 1
    }
  }
  return result
}

async function lane (): Promise<void> {
  while (!stopping) await sendOne()
}

const message = async <T = unknown>(type: string): Promise<T> => await new Promise((resolve) => {
  const listener = (m: { type: string }): void => { if (m.type === type) { process.off('message', listener); resolve(m as T) } }
  process.on('message', listener)
})
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

process.once('disconnect', () => process.exit(0))
process.send!({ type: 'ready' })
const { port } = await message<{ port: number }>('connect')
if (HTTP2) {
  const session = connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  post = async (body) => await new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/', 'content-type': 'application/octet-stream', authorization: TOKEN })
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
    stream.end(body)
  })
} else {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight, noDelay: true } as ConstructorParameters<typeof Agent>[0])
  post = async (body) => await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, authorization: TOKEN } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(String(res.statusCode))))
    })
    req.on('error', reject)
    req.end(body)
  })
}
process.send!({ type: 'connected' })
// one packet at a time until the connector fulfills one; after 10 s go on anyway
const probing = Date.now()
let served = false
while (!served && Date.now() - probing < 10000) {
  served = await sendOne().catch(() => 'error') === 'F'
  if (!served) await sleep(20)
}
const loadMessage = message('load')
process.send!({ type: 'first', served })
await loadMessage

const lanes = Array.from({ length: inFlight }, async () => await lane())
await sleep(warmup)
process.send!({ type: 'mark' })
measuring = true
const cpuBase = process.cpuUsage()
const started = performance.now()
await sleep(duration)
measuring = false
const seconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpuBase)
process.send!({ type: 'measured' })
stopping = true
await Promise.race([Promise.all(lanes), sleep(5000)])
const sorted = Float64Array.from(latencies).sort()
const percentile = (p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
process.send!({
  type: 'result', fulfilled, rejected, failed, lost: outstanding, rejectCodes, seconds,
  cpuMicros: cpu.user + cpu.system, p50: percentile(0.5), p99: percentile(0.99)
})
process.disconnect()
