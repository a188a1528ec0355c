/**
 * Routing benchmark, the route speaker: a CCP speaker over one real BTP connection, as the connector's `peer`
 * account `speaker` (BENCH_PEER_PORT, secret `bench`).
 *
 * It fulfils every `peer.*` request the connector sends it (route control, the connector's own route updates),
 * and every other packet with the 32 bytes of its data (the sender puts the fulfillment there): these are the
 * packets forwarded to the routes it taught. Once the connector asked for its routes (a `peer.route.control`
 * Prepare in mode SYNC) it reports 'control'; on 'go' it teaches ROUTES_COUNT routes, `test.speaker.r<i>` with
 * i zero-padded to a fixed width (so no prefix is a string prefix of another), ROUTES_PER_UPDATE routes per
 * `peer.route.update` with consecutive epochs, each update sent only once the previous one is answered. After
 * each accepted update it reports 'learnt' (how many routes are taught); at the end 'taught' with the time of
 * the whole sequence and the round trip of each update (send to reply). On 'stop' it stops after the update in
 * flight.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import * as ccp from 'ilp-protocol-ccp'
import { BTP_MESSAGE, BTP_RESPONSE, BtpClient, encodeBtp, encodeFrame, findIlp } from './btp-ws.ts'
import { SPEAKER_ADDRESS, routePrefix, type TaughtReport } from './routes-shared.ts'


const port = Number(process.env.BENCH_PEER_PORT)
const count = Number(process.env.ROUTES_COUNT ?? 10000)
const perUpdate = Number(process.env.ROUTES_PER_UPDATE ?? 400)
const HOLD_DOWN_MS = 3600000 // no heartbeat during the run: the routes must not expire

const frame = (type: number, requestId: number, ilp: Buffer): Buffer =>
  encodeFrame(encodeBtp(type, requestId, [{ name: 'ilp', contentType: 0, data: ilp }]))
const ccpResponse = ccp.serializeCcpResponse()

let controlled: (() => void) | undefined
const pending = new Map<number, (ilp: Buffer) => void>()
let nextRequestId = 1
let forwarded = 0

function onPacket (client: BtpClient, btp: Buffer): void {
  const requestId = btp.readUInt32BE(1)
  const range = findIlp(btp)
  if (btp[0] === BTP_RESPONSE) {
    const resolve = pending.get(requestId)
    pending.delete(requestId)
    resolve?.(range === undefined ? Buffer.alloc(0) : Buffer.from(btp.subarray(range[0], range[1])))
    return
  }
  if (btp[0] !== BTP_MESSAGE || range === undefined) return
  const prepare = IlpPacket.deserializeIlpPrepare(btp.subarray(range[0], range[1]))
  if (prepare.destination.startsWith('peer.')) {
    if (prepare.destination === ccp.CCP_CONTROL_DESTINATION) {
      const control = ccp.deserializeCcpRouteControlRequestPayload(prepare.data)
      if (control.mode === ccp.Mode.MODE_SYNC) controlled?.()
    }
    client.send(frame(BTP_RESPONSE, requestId, ccpResponse))
    return
  }
  forwarded++
  client.send(frame(BTP_RESPONSE, requestId, IlpPacket.serializeIlpFulfill({ fulfillment: prepare.data.subarray(0, 32), data: Buffer.alloc(0) })))
}

async function request (client: BtpClient, ilp: Buffer): Promise<Buffer> {
  const requestId = nextRequestId++
  const reply = new Promise<Buffer>((resolve) => pending.set(requestId, resolve))
  client.send(frame(BTP_MESSAGE, requestId, ilp))
  return await reply
}

const message = async (type: string): Promise<void> => await new Promise((resolve) => {
  const listener = (m: { type: string }): void => { if (m.type === type) { process.off('message', listener); resolve() } }
  process.on('message', listener)
})

process.once('disconnect', () => process.exit(0))
let stopping = false
process.on('message', (m: { type: string }) => { if (m.type === 'stop') stopping = true })
// the auth values are opaque to the receiver: one random 32-byte value for every route
const auth = randomBytes(32)
const routingTableId = randomUUID()
const control = new Promise<void>((resolve) => { controlled = resolve })
const client = await BtpClient.connect({ port, token: 'bench', timeout: 60000 })
client.onPacket = (btp) => onPacket(client, btp)
client.onClose = () => { console.error('speaker: the connector closed the connection'); process.exit(1) }
process.send!({ type: 'connected' })
await control
process.send!({ type: 'control' })
await message('go')

const rtts: number[] = []
const rejects: Record<string, number> = {}
let learnt = 0
const started = performance.now()
for (let epoch = 0; learnt < count && !stopping; epoch++) {
  const first = learnt
  const last = Math.min(count, first + perUpdate)
  const newRoutes = []
  for (let i = first; i < last; i++) newRoutes.push({ prefix: routePrefix(i), path: [SPEAKER_ADDRESS], auth, props: [] })
  const prepare = ccp.serializeCcpRouteUpdateRequest({
    speaker: SPEAKER_ADDRESS,
    routingTableId,
    currentEpochIndex: epoch + 1,
    fromEpochIndex: epoch,
    toEpochIndex: epoch + 1,
    holdDownTime: HOLD_DOWN_MS,
    newRoutes,
    withdrawnRoutes: []
  })
  const sent = performance.now()
  const reply = await request(client, prepare)
  rtts.push(performance.now() - sent)
  if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
    learnt = last
    process.send!({ type: 'learnt', learnt })
  } else {
    const code = reply[0] === IlpPacket.Type.TYPE_ILP_REJECT ? IlpPacket.deserializeIlpReject(reply).code : `type ${reply[0]}`
    rejects[code] = (rejects[code] ?? 0) + 1
    break // the epochs would have a gap: the connector would ignore every later update
  }
}
const report: TaughtReport = { type: 'taught', learnt, updates: rtts.length, totalMs: performance.now() - started, rtts, rejects, stopped: stopping }
process.send!(report)
process.on('message', (m: { type: string }) => { if (m.type === 'forwarded') process.send!({ type: 'forwarded', forwarded }) })
