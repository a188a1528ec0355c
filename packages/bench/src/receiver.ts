/**
 * Load generator, receiving side: one BTP client (bob) that fulfills every Prepare the connector forwards.
 * The sender puts each packet's fulfillment in its 32 bytes of data, so answering costs a few byte
 * comparisons and a copy. It checks that the packet arrived as sent (amount 100, destination
 * test.bench.bob, 32 bytes of data); anything else is rejected with F99, which the sender counts.
 */
import * as IlpPacket from 'ilp-packet'
import { BTP_MESSAGE, BTP_RESPONSE, BtpClient, encodeBtp, encodeFrame, findIlp, readLength } from './btp-ws.ts'

const DESTINATION = Buffer.from('test.bench.bob')
const AMOUNT = 100

// RESPONSE frame around a Fulfill: [13, 33, fulfillment (32), 0 (empty data)]
const fulfillFrame = encodeFrame(encodeBtp(BTP_RESPONSE, 0, [{ name: 'ilp', contentType: 0, data: Buffer.alloc(35) }]))
fulfillFrame[fulfillFrame.length - 35] = 13
fulfillFrame[fulfillFrame.length - 34] = 33
const rejectFrame = encodeFrame(encodeBtp(BTP_RESPONSE, 0, [{
  name: 'ilp',
  contentType: 0,
  data: IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.bench.bob', message: 'bench receiver: not the packet that was sent', data: Buffer.alloc(0) })
}]))
const REQUEST_ID = 7

function reply (client: BtpClient, template: Buffer, requestId: number, btp?: Buffer, fulfillment?: number): void {
  const frame = Buffer.allocUnsafe(template.length)
  template.copy(frame)
  frame.writeUInt32BE(requestId, REQUEST_ID)
  if (btp !== undefined && fulfillment !== undefined) btp.copy(frame, frame.length - 33, fulfillment, fulfillment + 32)
  client.send(frame)
}

function onPacket (client: BtpClient, btp: Buffer): void {
  if (btp[0] !== BTP_MESSAGE) return
  const requestId = btp.readUInt32BE(1)
  const ilp = findIlp(btp)
  if (ilp === undefined || btp[ilp[0]] !== 12) { reply(client, rejectFrame, requestId); return }
  const [, amount] = readLength(btp, ilp[0] + 1)
  // amount (8 bytes), expiry (17), condition (32), destination, data
  const [destinationLength, destination] = readLength(btp, amount + 8 + 17 + 32)
  const [dataLength, data] = readLength(btp, destination + destinationLength)
  const ok = btp.readUInt32BE(amount) === 0 && btp.readUInt32BE(amount + 4) === AMOUNT &&
    btp.compare(DESTINATION, 0, DESTINATION.length, destination, destination + destinationLength) === 0 &&
    dataLength === 32
  if (ok) reply(client, fulfillFrame, requestId, btp, data)
  else reply(client, rejectFrame, requestId)
}

process.once('disconnect', () => process.exit(0))
process.send!({ type: 'ready' })
// the port comes with 'connect', once the runner is about to start the connector
const port = await new Promise<number>((resolve) => process.once('message', (m: { port: number }) => resolve(m.port)))
const client = await BtpClient.connect({ port, token: 'bench', timeout: 60000 })
client.onPacket = (btp) => onPacket(client, btp)
let stopping = false
client.onClose = () => { if (!stopping) { console.error('receiver: the connector closed the connection'); process.exit(1) } }
process.send!({ type: 'connected' })
let cpuBase = process.cpuUsage()
process.on('message', (message: { type: string }) => {
  if (message.type === 'mark') {
    cpuBase = process.cpuUsage()
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(cpuBase)
    process.send!({ type: 'report', cpuMicros: cpu.user + cpu.system })
  } else if (message.type === 'stop') {
    stopping = true
    client.close()
    process.exit(0)
  }
})
