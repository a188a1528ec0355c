/**
 * Helpers for the limit middlewares' end-to-end tests (rateLimit, maxPacketAmount, throughput): bursts of
 * Prepares, metric values read from a connector's registry, and a record of what a STREAM sender sent.
 */
import type { Connector } from '@conn/core'
import { IlpPacket, type DecodedReply, type Harness, type Node } from './harness.ts'

/**
 * Sends `count` Prepares of `amount` to `destination` all at once and returns the replies in call order.
 * They may reach the connector in another order (ilp-plugin-btp awaits a random request id before it sends).
 */
export async function burst (h: Harness, from: Node, count: number, destination: string, amount: bigint | number = 10): Promise<DecodedReply[]> {
  return await Promise.all(Array.from({ length: count }, async () => await from.pay({ amount, destination, ...h.condition() })))
}

/** Sends `count` Prepares back to back, each as soon as the previous one is answered; replies in order. */
export async function backToBack (h: Harness, from: Node, count: number, destination: string, amount: bigint | number = 10): Promise<DecodedReply[]> {
  const replies: DecodedReply[] = []
  for (let i = 0; i < count; i++) replies.push(await from.pay({ amount, destination, ...h.condition() }))
  return replies
}

/** Value of a counter in the connector's registry for exactly these labels; 0 if it has none. */
export async function counterValue (app: Connector, name: string, labels: Record<string, string | number>): Promise<number> {
  const metric = app.metrics.registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const { values } = await metric.get()
  const wanted = Object.entries(labels)
  const found = values.find((v) => wanted.every(([key, value]) => String(v.labels[key]) === String(value)))
  return found?.value ?? 0
}

export interface SentPacket {
  amount: bigint
  /** 'fulfill', or the reject code. */
  result: string
  /** Reject data (empty for a Fulfill). */
  data: Buffer
}

interface SendsData { sendData: (data: Buffer) => Promise<Buffer> }

/** Wraps `plugin.sendData` to record every Prepare it sends and how it was answered. */
export function recordSent (plugin: SendsData): SentPacket[] {
  const sent: SentPacket[] = []
  const sendData = plugin.sendData.bind(plugin)
  plugin.sendData = async (data: Buffer): Promise<Buffer> => {
    const reply = await sendData(data)
    const amount = BigInt(IlpPacket.deserializeIlpPrepare(data).amount)
    if (reply[0] === IlpPacket.Type.TYPE_ILP_REJECT) {
      const reject = IlpPacket.deserializeIlpReject(reply)
      sent.push({ amount, result: reject.code, data: reject.data })
    } else {
      sent.push({ amount, result: 'fulfill', data: Buffer.alloc(0) })
    }
    return reply
  }
  return sent
}
