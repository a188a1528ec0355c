/**
 * Settlement never pays twice, end to end: an in-process connector whose account bob runs conn's BTP transport
 * with `transfers: true` (settlements are BTP TRANSFERs), a test peer on the other end (conn's BtpPlugin as a
 * client) that answers, refuses or stalls its answer to a TRANSFER, and real HTTP requests to the admin API.
 * Every test checks what the peer received and took against the balances the connector books.
 * Reference: spec/deviations.md "Money"; @conn/middleware-balance README "Settlement".
 */
import { randomBytes } from 'node:crypto'
import { expect } from 'chai'
import { BtpPlugin } from '@conn/plugin-btp'
import {
  Harness, Node, freePort, fulfillPacket, rejectPacket, sha256, sleep, waitFor, type BtpPluginInstance, type Network
} from '../helpers/harness.ts'
import { AdminClient, parsePrometheus, sampleValue } from '../helpers/admin.ts'

/** No spread (amounts arrive unchanged); packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200, routeBroadcastEnabled: false }
const SETTLING = { minimum: '-10000', maximum: 'Infinity', settleThreshold: '-1000', settleTo: '0' }
/** The connector's side waits this long (ms) for the answer to a TRANSFER. */
const RESPONSE_TIMEOUT = 300

/** What the peer does with a TRANSFER: take it and answer, refuse it (BTP ERROR), or take it and never answer. */
type TransferMode = 'answer' | 'refuse' | 'stall' | 'stall-without-taking'

/** bob's end: a BTP client with transfers that records every TRANSFER that reached it and the money it took. */
class TransferPeer {
  readonly plugin: BtpPlugin
  readonly node: Node
  /** Amounts of every TRANSFER that reached the peer. */
  readonly transfers: string[] = []
  /** The money the peer took: the truth an operator would find out by asking the peer. */
  readonly taken: string[] = []
  mode: TransferMode = 'answer'
  private readonly fulfillments = new Map<string, Buffer>()
  private readonly stalled: Array<() => void> = []

  constructor (port: number, secret: string) {
    this.plugin = new BtpPlugin({ server: `btp+ws://:${secret}@127.0.0.1:${port}`, reconnectIntervals: [50], transfers: true })
    this.node = new Node('bob', this.plugin as unknown as BtpPluginInstance, (self) => (prepare) => {
      const fulfillment = this.fulfillments.get(prepare.executionCondition.toString('hex'))
      if (fulfillment !== undefined) return fulfillPacket(fulfillment)
      return rejectPacket({ code: 'F99', triggeredBy: self.address, message: 'unknown condition' })
    })
    this.plugin.registerMoneyHandler(async (amount) => {
      this.transfers.push(amount)
      if (this.mode === 'refuse') throw new Error('not now')
      if (this.mode !== 'stall-without-taking') this.taken.push(amount)
      if (this.mode === 'stall' || this.mode === 'stall-without-taking') {
        await new Promise<void>((resolve) => { this.stalled.push(resolve) })
      }
    })
  }

  /** A condition the peer fulfills. */
  condition (): { executionCondition: Buffer } {
    const fulfillment = randomBytes(32)
    const executionCondition = sha256(fulfillment)
    this.fulfillments.set(executionCondition.toString('hex'), fulfillment)
    return { executionCondition }
  }

  async close (): Promise<void> {
    for (const release of this.stalled.splice(0)) release()
    await this.node.disconnect()
  }
}

let h: Harness
let peer: TransferPeer | undefined

/** alice (a harness BTP client) pays through the connector to bob (the TransferPeer); the admin API on a free port. */
async function network (): Promise<Network & { admin: AdminClient, peer: TransferPeer, pay: (amount: number) => Promise<void> }> {
  const [adminPort, bobPort] = [await freePort(), await freePort()]
  const bob = peer = new TransferPeer(bobPort, 'bob-secret')
  const [net] = await Promise.all([
    h.network({
      ...FAST,
      adminApi: true,
      adminApiPort: adminPort,
      accounts: {
        alice: { relation: 'child' },
        bob: {
          relation: 'child',
          plugin: 'ilp-plugin-btp', // conn's own transport (@conn/plugin-btp)
          options: {
            listener: { port: bobPort, secret: 'bob-secret', wsOpts: { host: '127.0.0.1', port: bobPort } },
            transfers: true,
            responseTimeout: RESPONSE_TIMEOUT
          },
          balance: SETTLING,
          client: false
        }
      }
    }),
    bob.node.connect()
  ])
  bob.node.address = 'test.conn.bob'
  const pay = async (amount: number): Promise<void> => {
    const reply = await net.nodes.alice!.pay({ amount, destination: 'test.conn.bob', ...bob.condition() })
    expect(reply.type).to.equal('fulfill')
  }
  return { ...net, admin: AdminClient.on(adminPort), peer: bob, pay }
}

/** Polls `read` every 20 ms until `ok` holds for its value, and returns that value; throws after `timeout` ms naming `what`. */
async function until<T> (what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeout = 3000): Promise<T> {
  const deadline = Date.now() + timeout
  while (true) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`)
    await sleep(20)
  }
}

async function unsettledOf (admin: AdminClient): Promise<any[]> {
  return (await admin.get('/settlements')).json().settlements
}

async function metric (admin: AdminClient, name: string, labels: Record<string, string>): Promise<number | undefined> {
  return sampleValue(parsePrometheus((await admin.get('/metrics')).text), name, labels)
}

async function balanceOf (admin: AdminClient, id: string): Promise<string> {
  return (await admin.get('/balance')).json().accounts[id].balance
}

describe('e2e: settlement never pays twice (BTP TRANSFER, admin API)', function () {
  this.timeout(15000)
  beforeEach(() => { h = new Harness() })
  afterEach(async () => {
    await peer?.close().catch(() => {})
    peer = undefined
    await h.close()
  })

  it('a TRANSFER the peer takes but never answers is unsettled: listed, alerted, in the metrics, not retried; resolved as paid it is booked once', async () => {
    const { admin, peer, pay } = await network()
    peer.mode = 'stall'
    await pay(1500)
    const [unsettled, ...others] = await until('GET /settlements to list it', async () => await unsettledOf(admin), (list) => list.length > 0)
    expect(others).to.deep.equal([])
    expect(unsettled).to.deep.include({ accountId: 'bob', amount: '1500', assetCode: 'XYZ', assetScale: 9 })
    expect(unsettled.reason).to.match(/^\d+ timed out$/)
    expect(await balanceOf(admin, 'bob')).to.equal('-1500')

    const alerts = (await admin.get('/alerts')).json().alerts as Array<{ accountId: string, triggeredBy: string, message: string }>
    expect(alerts.map((a) => [a.accountId, a.triggeredBy])).to.deep.equal([['bob', 'test.conn']])
    expect(alerts[0]!.message).to.match(/^settlement of 1500 to bob has an unknown outcome: \d+ timed out\. It is not retried/)
    expect(await metric(admin, 'ilp_connector_unsettled_amount', { account: 'bob' })).to.equal(1500)
    expect(await metric(admin, 'ilp_connector_settlements', { account: 'bob', result: 'unknown' })).to.equal(1)

    // More debt, past the threshold again: no second TRANSFER while it is unsettled.
    peer.mode = 'answer'
    await pay(1200)
    await sleep(RESPONSE_TIMEOUT + 100)
    expect(peer.transfers).to.deep.equal(['1500'])
    expect(await balanceOf(admin, 'bob')).to.equal('-2700')

    // The operator asks the peer: it took the 1500. Resolved as paid, it is booked, and the rest (1200) is settled.
    const resolved = await admin.post('/settlements/bob', { outcome: 'paid', id: unsettled.id })
    expect(resolved.status).to.equal(200)
    expect(resolved.json()).to.deep.include({ outcome: 'paid', balance: '-1200', resolvedBy: 'operator' })
    await until('the rest to be settled and booked', async () => await balanceOf(admin, 'bob'), (balance) => balance === '0')

    expect(peer.transfers).to.deep.equal(['1500', '1200'])
    expect(peer.taken).to.deep.equal(['1500', '1200'])
    expect(await balanceOf(admin, 'bob')).to.equal('0') // -2700 owed + 2700 taken by the peer
    expect((await admin.get('/settlements')).json()).to.deep.equal({ settlements: [] })
    expect((await admin.get('/alerts')).json()).to.deep.equal({ alerts: [] })
    expect(await metric(admin, 'ilp_connector_unsettled_amount', { account: 'bob' })).to.equal(0)
  })

  it('a TRANSFER that never reached the peer\'s books is resolved as not-paid, then sent again: the peer takes it once', async () => {
    const { admin, peer, pay } = await network()
    peer.mode = 'stall-without-taking'
    await pay(1500)
    const settlements = await until('GET /settlements to list it', async () => await unsettledOf(admin), (list) => list.length > 0)
    expect(settlements.map((s) => [s.accountId, s.amount])).to.deep.equal([['bob', '1500']])
    expect(peer.taken).to.deep.equal([])

    peer.mode = 'answer'
    const resolved = await admin.post('/settlements/bob', { outcome: 'not-paid' })
    expect([resolved.status, resolved.json().balance]).to.deep.equal([200, '-1500'])
    await until('the settlement sent again and booked', async () => await balanceOf(admin, 'bob'), (balance) => balance === '0')
    expect(peer.transfers).to.deep.equal(['1500', '1500'])
    expect(peer.taken).to.deep.equal(['1500'])
  })

  it('a TRANSFER the peer refuses (BTP ERROR: nothing moved) is retried after a back-off, and taken once', async () => {
    const { admin, peer, pay } = await network()
    peer.mode = 'refuse'
    await pay(1500)
    await waitFor('the refused TRANSFER', () => peer.transfers.length === 1)
    peer.mode = 'answer'
    expect((await admin.get('/settlements')).json()).to.deep.equal({ settlements: [] })
    expect(await balanceOf(admin, 'bob')).to.equal('-1500')
    // The first retry comes after 1 s (the built-in back-off).
    await until('the retry to be sent and booked', async () => await balanceOf(admin, 'bob'), (balance) => balance === '0')
    expect(peer.transfers).to.deep.equal(['1500', '1500'])
    expect(peer.taken).to.deep.equal(['1500'])
    expect(await metric(admin, 'ilp_connector_settlements', { account: 'bob', result: 'not_sent' })).to.equal(1)
    expect(await metric(admin, 'ilp_connector_settlements', { account: 'bob', result: 'sent' })).to.equal(1)
  })
})
