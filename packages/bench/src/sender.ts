/**
 * Load generator, sending side: one BTP client (alice) that keeps BENCH_IN_FLIGHT packets in flight.
 *
 * Before the connector is even started it encodes BENCH_POOL unique Prepares, each already framed as the
 * WebSocket frame to write (a random fulfillment as the data, its SHA-256 as the condition, the pool index as
 * the BTP request id), so sending costs one write. Then, on 'connect' (with the port), it dials the connector until it
 * answers (reporting 'connected'), sends single packets until one is fulfilled (reporting 'first': the
 * connector is serving), and on 'load' runs: BENCH_WARMUP ms, then a measured BENCH_DURATION ms ('mark' and
 * 'measured' tell the runner when to read the connector's CPU time), then waits for the packets still in
 * flight and reports.
 *
 * A reply counts as fulfilled only if it is an ILP Fulfill carrying exactly the fulfillment of the packet
 * with that request id; Rejects are counted by code, BTP errors and wrong fulfillments as failures, packets
 * never answered as lost.
 */
import { createHash, hash, randomBytes } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import { BTP_ERROR, BTP_MESSAGE, BTP_RESPONSE, BtpClient, btpErrorCode, encodeBtp, encodeFrame, findIlp, readLength } from './btp-ws.ts'

const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 10)
const duration = Number(process.env.BENCH_DURATION ?? 4000)
const warmup = Number(process.env.BENCH_WARMUP ?? 1000)
const poolSize = Number(process.env.BENCH_POOL ?? 200000)
const AMOUNT = 100

// Every frame has the same size; encode the first with ilp-packet and patch the copies.
const template = encodeFrame(encodeBtp(BTP_MESSAGE, 0, [{
  name: 'ilp',
  contentType: 0,
  data: IlpPacket.serializeIlpPrepare({
    amount: String(AMOUNT),
    destination: 'test.bench.bob',
    executionCondition: Buffer.alloc(32),
    expiresAt: new Date(Date.now() + 60000),
    data: Buffer.alloc(32)
  })
}]))
const FRAME = template.length
const REQUEST_ID = 7 // 6 bytes of frame header (2 + zero masking key), then the BTP type
const FULFILLMENT = FRAME - 32 // the data is the last field
const CONDITION = FULFILLMENT - 1 - 14 - 1 - 32 // data length, destination, its length, condition
const frames = Buffer.allocUnsafe(FRAME * poolSize)
const fulfillments = randomBytes(32 * poolSize)
for (let i = 0; i < poolSize; i++) {
  const at = i * FRAME
  template.copy(frames, at)
  frames.writeUInt32BE(i, at + REQUEST_ID)
  fulfillments.copy(frames, at + FULFILLMENT, i * 32, i * 32 + 32)
  hash('sha256', fulfillments.subarray(i * 32, i * 32 + 32), 'buffer').copy(frames, at + CONDITION)
}
{ // check the offsets against a decode of the first frame
  const [start, end] = findIlp(frames.subarray(6, FRAME))!
  const prepare = IlpPacket.deserializeIlpPrepare(frames.subarray(6 + start, 6 + end))
  if (!prepare.data.equals(fulfillments.subarray(0, 32)) || !prepare.executionCondition.equals(createHash('sha256').update(prepare.data).digest())) {
    throw new Error('sender: frame layout mismatch')
  }
}

const sentAt = new Float64Array(poolSize)
const latencies = new Float64Array(poolSize)
let samples = 0
let next = 0
let outstanding = 0
let measuring = false
let stopping = false
let fulfilled = 0
let failed = 0
let rejected = 0
const rejectCodes: Record<string, number> = {}
let firstFulfilled: (() => void) | undefined

/** Classifies a reply: 'F' fulfilled, a reject code, or 'BTP <code>' / 'wrong fulfillment' / 'no ilp'. */
function outcome (btp: Buffer, id: number): string {
  if (btp[0] === BTP_ERROR) return `BTP ${btpErrorCode(btp)}`
  if (btp[0] !== BTP_RESPONSE) return `BTP type ${btp[0]}`
  const ilp = findIlp(btp)
  if (ilp === undefined) return 'no ilp'
  const [start] = ilp
  const [, contents] = readLength(btp, start + 1)
  if (btp[start] === 13) {
    return btp.compare(frames, id * FRAME + FULFILLMENT, id * FRAME + FRAME, contents, contents + 32) === 0 ? 'F' : 'wrong fulfillment'
  }
  if (btp[start] === 14) return btp.toString('latin1', contents, contents + 3)
  return `ILP type ${btp[start]}`
}

function send (client: BtpClient): void {
  if (next >= poolSize) return
  const id = next++
  outstanding++
  sentAt[id] = performance.now()
  client.send(frames.subarray(id * FRAME, id * FRAME + FRAME))
}

let replies = 0
function onReply (client: BtpClient, btp: Buffer): void {
  replies++
  if (btp[0] === BTP_MESSAGE) return // nothing is sent to alice
  const id = btp.readUInt32BE(1)
  if (id >= next) return
  const now = performance.now()
  outstanding--
  const result = outcome(btp, id)
  if (result === 'F') firstFulfilled?.()
  if (measuring) {
    latencies[samples++] = (now - sentAt[id]!) * 1000
    if (result === 'F') {
      fulfilled++
    } else {
      if (result.length === 3) rejected++
      else failed++
      rejectCodes[result] = (rejectCodes[result] ?? 0) + 1
    }
  }
  if (!stopping && firstFulfilled === undefined) send(client)
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const message = async <T = unknown>(type: string): Promise<T> => await new Promise((resolve) => {
  const listener = (m: { type: string }): void => { if (m.type === type) { process.off('message', listener); resolve(m as T) } }
  process.on('message', listener)
})

process.once('disconnect', () => process.exit(0))
process.send!({ type: 'ready' })
const { port } = await message<{ port: number }>('connect')
const client = await BtpClient.connect({ port, token: 'bench', timeout: 60000 })
process.send!({ type: 'connected' })
client.onPacket = (btp) => onReply(client, btp)
client.onClose = () => { if (!stopping) { console.error('sender: the connector closed the connection'); process.exit(1) } }

// one packet at a time until the connector fulfills one (it may still be connecting to bob); after 10 s
// go on anyway, so that a connector that fulfills nothing is measured and its Rejects reported
const probing = Date.now()
const served = await new Promise<boolean>((resolve) => {
  firstFulfilled = () => resolve(true)
  const probe = (): void => {
    if (firstFulfilled === undefined) return
    if (Date.now() - probing > 10000) { resolve(false); return }
    if (outstanding === 0) send(client)
    setTimeout(probe, 2)
  }
  probe()
})
firstFulfilled = undefined
const probed = next
const loadMessage = message('load')
process.send!({ type: 'first', served })
while (outstanding > 0) await sleep(1)
await loadMessage // the runner reads the connector's memory after start-up first

for (let i = 0; i < inFlight; i++) send(client)
await sleep(warmup)
process.send!({ type: 'mark' })
const warmupReplies = replies
measuring = true
const cpuBase = process.cpuUsage()
const started = performance.now()
await sleep(duration)
measuring = false
const seconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpuBase)
process.send!({ type: 'measured' })
stopping = true
const deadline = Date.now() + 5000
while (outstanding > 0 && Date.now() < deadline) await sleep(5)

const sorted = latencies.subarray(0, samples).sort()
const percentile = (p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
process.send!({
  type: 'result',
  fulfilled,
  rejected,
  failed,
  lost: outstanding,
  rejectCodes,
  exhausted: next >= poolSize,
  probed,
  sent: next,
  replies,
  warmupReplies,
  seconds,
  cpuMicros: cpu.user + cpu.system,
  p50: percentile(0.5),
  p99: percentile(0.99)
})
client.close()
process.disconnect()
