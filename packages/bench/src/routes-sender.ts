/**
 * Routing benchmark, the packet sender: one BTP client (alice, a child account of the connector) sending
 * ROUTES_RATE packets per second at a steady pace (a batch every 5 ms), whatever the replies do, so that a
 * connector blocked by route updates shows up as latency and as packets answered late or not at all.
 *
 * Destinations by phase (set by the runner with 'phase', answered with 'ended <the phase that ended>'): `before`: test.bench.bob (the receiver child; no
 * route is learnt yet); `during` and `after`: a random one of the routes learnt so far (the runner relays the
 * speaker's 'learnt' count), `test.speaker.r<i>.p`, which the speaker fulfils. `sweep`: on request, one packet
 * to each of the given route indexes, ROUTES_SWEEP_IN_FLIGHT at a time: which routes the connector knows.
 * Each Prepare is unique: a random fulfillment as its data, its SHA-256 as the condition. A reply counts as
 * fulfilled only with that fulfillment. Per phase: packets sent, fulfilled, rejected by code, round trips.
 */
import { createHash, randomBytes } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import { BTP_ERROR, BTP_MESSAGE, BTP_RESPONSE, BtpClient, btpErrorCode, encodeBtp, encodeFrame, findIlp } from './btp-ws.ts'
import { routePrefix, type PhaseResult } from './routes-shared.ts'

const rate = Number(process.env.ROUTES_RATE ?? 1000)
const TICK_MS = 5
const AMOUNT = '100'

interface Phase { name: string, sent: number, fulfilled: number, rejected: Record<string, number>, latencies: number[], outstanding: number, started: number }
interface InFlight { phase: Phase, at: number, fulfillment: Buffer, done?: (ok: boolean) => void }

const inFlight = new Map<number, InFlight>()
let nextId = 1
let learnt = 0
let phase: Phase = newPhase('idle')
let client: BtpClient

function newPhase (name: string): Phase {
  return { name, sent: 0, fulfilled: 0, rejected: {}, latencies: [], outstanding: 0, started: performance.now() }
}

function send (destination: string, p: Phase, done?: (ok: boolean) => void): void {
  const fulfillment = randomBytes(32)
  const id = nextId++
  const ilp = IlpPacket.serializeIlpPrepare({
    amount: AMOUNT,
    destination,
    executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt: new Date(Date.now() + 30000),
    data: fulfillment
  })
  inFlight.set(id, { phase: p, at: performance.now(), fulfillment, done })
  p.sent++
  p.outstanding++
  client.send(encodeFrame(encodeBtp(BTP_MESSAGE, id, [{ name: 'ilp', contentType: 0, data: ilp }])))
}

function onReply (btp: Buffer): void {
  if (btp[0] === BTP_MESSAGE) return // nothing is sent to alice
  const id = btp.readUInt32BE(1)
  const entry = inFlight.get(id)
  if (entry === undefined) return
  inFlight.delete(id)
  const p = entry.phase
  p.outstanding--
  p.latencies.push(performance.now() - entry.at)
  let result: string
  const range = btp[0] === BTP_RESPONSE ? findIlp(btp) : undefined
  if (btp[0] === BTP_ERROR) {
    result = `BTP ${btpErrorCode(btp)}`
  } else if (range === undefined) {
    result = 'no ilp'
  } else {
    const ilp = btp.subarray(range[0], range[1])
    if (ilp[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
      result = IlpPacket.deserializeIlpFulfill(ilp).fulfillment.equals(entry.fulfillment) ? 'F' : 'wrong fulfillment'
    } else if (ilp[0] === IlpPacket.Type.TYPE_ILP_REJECT) {
      result = IlpPacket.deserializeIlpReject(ilp).code
    } else {
      result = `ILP type ${ilp[0]}`
    }
  }
  if (result === 'F') p.fulfilled++
  else p.rejected[result] = (p.rejected[result] ?? 0) + 1
  entry.done?.(result === 'F')
}

function destination (): string {
  if (phase.name === 'before' || learnt === 0) return 'test.bench.bob'
  return `${routePrefix(Math.floor(Math.random() * learnt))}.p`
}

function report (p: Phase): PhaseResult {
  const sorted = Float64Array.from(p.latencies).sort()
  const at = (q: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return {
    phase: p.name,
    sent: p.sent,
    fulfilled: p.fulfilled,
    rejected: p.rejected,
    unanswered: p.outstanding,
    seconds: (performance.now() - p.started) / 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!
  }
}

async function sweep (indexes: number[], concurrency: number): Promise<{ type: 'swept', checked: number, missing: number[], results: Record<string, number> }> {
  const p = newPhase('sweep')
  const missing: number[] = []
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, indexes.length) }, async () => {
    while (next < indexes.length) {
      const index = indexes[next++]!
      const ok = await new Promise<boolean>((resolve) => send(`${routePrefix(index)}.p`, p, resolve))
      if (!ok) missing.push(index)
    }
  }))
  // a packet not fulfilled is F (fulfilled) in none of these: its reject code, or why it failed
  return { type: 'swept', checked: indexes.length, missing, results: { F: p.fulfilled, ...p.rejected } }
}

process.once('disconnect', () => process.exit(0))
let ticker: NodeJS.Timeout | undefined
let owed = 0
process.on('message', (m: { type: string, port?: number, phase?: string, learnt?: number, indexes?: number[], concurrency?: number }) => {
  if (m.type === 'connect') {
    void BtpClient.connect({ port: m.port!, token: 'bench', timeout: 60000 }).then((c) => {
      client = c
      client.onPacket = onReply
      client.onClose = () => { console.error('sender: the connector closed the connection'); process.exit(1) }
      process.send!({ type: 'connected' })
    })
  } else if (m.type === 'learnt') {
    learnt = m.learnt!
  } else if (m.type === 'phase') {
    // ends the current phase (its report: the packets answered so far) and starts the next
    const ended = report(phase)
    phase = newPhase(m.phase!)
    process.send!({ type: `ended ${ended.phase}`, result: ended })
    if (m.phase === 'idle') { clearInterval(ticker); ticker = undefined; return }
    if (ticker === undefined) {
      let last = performance.now()
      ticker = setInterval(() => {
        const now = performance.now()
        owed += (now - last) * rate / 1000
        last = now
        for (; owed >= 1; owed--) send(destination(), phase)
      }, TICK_MS)
    }
  } else if (m.type === 'sweep') {
    void sweep(m.indexes!, m.concurrency ?? 20).then((result) => process.send!(result))
  }
})
process.send!({ type: 'ready' })
