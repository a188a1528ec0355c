/** Real ilp-plugin-btp clients for the installed connector, and one payment between two of them. */
import { createHash, randomBytes } from 'node:crypto'
import BtpPluginModule from 'ilp-plugin-btp'
import * as IlpPacket from 'ilp-packet'

const BtpPlugin = BtpPluginModule.default
export type Client = InstanceType<typeof BtpPlugin>

/** Connects a BTP client, retrying every 50 ms while the connector starts. */
export async function connectClient (url: string): Promise<Client> {
  const client = new BtpPlugin({ server: url, reconnectIntervals: [50] } as ConstructorParameters<typeof BtpPlugin>[0])
  await client.connect()
  return client
}

/** Makes `client` fulfil every Prepare whose data is its fulfillment; returns the amounts it received. */
export function fulfilEverything (client: Client): string[] {
  const received: string[] = []
  client.registerDataHandler(async (data: Buffer) => {
    const prepare = IlpPacket.deserializeIlpPrepare(data)
    received.push(prepare.amount)
    return IlpPacket.serializeIlpFulfill({ fulfillment: prepare.data.subarray(0, 32), data: Buffer.alloc(0) })
  })
  return received
}

export type Outcome = { type: 'fulfill' } | { type: 'reject', code: string, message: string }

/** Sends one Prepare for `amount` to `destination` whose data is the fulfillment, so `fulfilEverything` can answer. */
export async function pay (client: Client, destination: string, amount: string): Promise<Outcome> {
  const fulfillment = randomBytes(32)
  const reply = await client.sendData(IlpPacket.serializeIlpPrepare({
    amount,
    destination,
    executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt: new Date(Date.now() + 10000),
    data: fulfillment
  }))
  if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) return { type: 'fulfill' }
  const reject = IlpPacket.deserializeIlpReject(reply)
  return { type: 'reject', code: reject.code, message: reject.message }
}
