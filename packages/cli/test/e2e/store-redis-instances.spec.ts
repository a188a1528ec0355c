/**
 * Three conn processes on one Redis prefix, each with the same accounts on its own BTP ports: the load of two
 * senders spread over all three ends in the balances one instance would hold after the same fulfilled packets,
 * alice's maximum holds across the three, and bob's settlements (threshold crossed on all three at once) each
 * pay once, and only for packets bob fulfilled (not for those still in flight that he then rejects).
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { BtpPlugin as ConnBtpPlugin } from '@conn/plugin-btp'
import { Node, freePort, sleep, type BtpPluginInstance } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, clientNode, deletePrefix, indexOf, paymentData, stopEverything } from '../helpers/store.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const BOB = `${OWN_ADDRESS}.bob`
const INSTANCES = 3
const ALICE_PACKETS = 60
const ALICE_AMOUNT = 1000n
const ALICE_MAXIMUM = 45_000n
const CAROL_PACKETS = 60
const CAROL_AMOUNT = 700n
const SETTLE_THRESHOLD = -5000n
const WAVES = 4

interface Instance {
  conn: ConnProcess
  alice: Node
  carol: Node
  bob: Node
}

describe('store-redis: three conn instances on one prefix', function () {
  this.timeout(60000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const instances: Instance[] = []
  let prefix: string

  before(async () => { await redis.connect() })
  beforeEach(() => { prefix = `conn-e2e:${randomUUID()}:` })
  afterEach(async () => {
    const stopping = instances.splice(0)
    await stopEverything(stopping.flatMap((i) => [i.alice, i.carol, i.bob]), stopping.map((i) => i.conn))
    await deletePrefix(redis, prefix)
  })
  after(async () => { await redis.quit() })

  const bobBalance = async (): Promise<bigint> => BigInt(await redis.get(prefix + 'balance:bob') ?? '0')

  /** Waits (up to 10 s) until no settlement of bob is recorded and his balance is back at the threshold or above. */
  async function bobSettled (): Promise<void> {
    const settledBy = Date.now() + 10000
    while (Date.now() < settledBy && ((await redis.exists(prefix + 'kv:settlement:bob')) === 1 || await bobBalance() < SETTLE_THRESHOLD)) await sleep(20)
  }

  /** Pays bob from `sender` `count` times at once, spread over the instances; the outcomes ('fulfill' or the code). */
  async function send (sender: 'alice' | 'carol', from: number, count: number, amount: bigint): Promise<string[]> {
    return await Promise.all(Array.from({ length: count }, async (_, n) => {
      const reply = await instances[(from + n) % INSTANCES]![sender].pay({ amount, destination: BOB, ...paymentData(from + n) })
      return reply.type === 'fulfill' ? 'fulfill' : reply.code
    }))
  }

  async function startInstance (bobReceived: bigint[], more: { alice?: Record<string, unknown>, carol?: Record<string, unknown>, sharedLimits?: boolean } = {}): Promise<Instance> {
    const ports = { alice: await freePort(), carol: await freePort(), bob: await freePort() }
    const account = (port: number, secret: string, balance: Record<string, string>, transfers = false, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      ...extra,
      relation: 'child',
      plugin: 'ilp-plugin-btp',
      assetCode: 'USD',
      assetScale: 9,
      options: { listener: { port, secret, wsOpts: { host: '127.0.0.1', port } }, transfers },
      balance: { minimum: '-1000000000', maximum: '1000000000', ...balance }
    })
    const conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: OWN_ADDRESS,
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_STORE: 'redis',
      CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix, sweepInterval: 200, sharedLimits: more.sharedLimits ?? true }),
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: account(ports.alice, 'alice-secret', { maximum: String(ALICE_MAXIMUM) }, false, more.alice),
        carol: account(ports.carol, 'carol-secret', {}, false, more.carol),
        bob: account(ports.bob, 'bob-secret', { settleThreshold: String(SETTLE_THRESHOLD), settleTo: '0' }, true)
      })
    })
    const refuse = (from: string) => () => answer(Buffer.alloc(36), true, from)
    const [alice, carol, bob] = await Promise.all([
      clientNode('alice', ports.alice, 'alice-secret', refuse('alice'), 20000),
      clientNode('carol', ports.carol, 'carol-secret', refuse('carol'), 20000),
      bobNode(ports.bob, bobReceived)
    ])
    await conn.waitFor('connector ready')
    return { conn, alice, carol, bob }
  }

  /** bob's client: conn's BTP plugin with TRANSFER frames on, so the settlements reach it as money. */
  async function bobNode (port: number, received: bigint[]): Promise<Node> {
    const plugin = new ConnBtpPlugin({ server: `btp+ws://:bob-secret@127.0.0.1:${port}`, reconnectIntervals: [50], transfers: true })
    plugin.registerMoneyHandler(async (amount: string) => { received.push(BigInt(amount)) })
    const node = new Node('bob', plugin as unknown as BtpPluginInstance, (self) => (prepare) => answer(prepare.data, false, self.address))
    node.address = BOB
    await node.connect()
    return node
  }

  it('spread load: balances exact to the unit, alice\'s maximum holds across the three, each settlement of bob paid once', async () => {
    const bobReceived: bigint[] = []
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance(bobReceived))
    // Four waves, each of 15 packets of each sender at once over the three instances; each wave takes bob far
    // below the threshold on all three instances together.
    const aliceOutcomes: string[] = []
    const carolOutcomes: string[] = []
    const perWave = ALICE_PACKETS / WAVES
    for (let wave = 0; wave < WAVES; wave++) {
      const [a, c] = await Promise.all([
        send('alice', wave * perWave, perWave, ALICE_AMOUNT),
        send('carol', wave * perWave, perWave, CAROL_AMOUNT)
      ])
      aliceOutcomes.push(...a)
      carolOutcomes.push(...c)
      await bobSettled()
    }
    const fulfilled = (outcomes: string[]): bigint => BigInt(outcomes.filter((o) => o === 'fulfill').length)
    const aliceFulfilled = fulfilled(aliceOutcomes)
    const carolFulfilled = fulfilled(carolOutcomes)
    // alice's maximum is 45 packets' worth: exactly that many get through, the rest T04, whichever instance.
    expect(aliceFulfilled).to.equal(ALICE_MAXIMUM / ALICE_AMOUNT)
    expect(aliceOutcomes.filter((o) => o !== 'fulfill').every((o) => o === 'T04')).to.equal(true)
    expect(carolFulfilled).to.equal(BigInt(CAROL_PACKETS))
    const delivered = aliceFulfilled * ALICE_AMOUNT + carolFulfilled * CAROL_AMOUNT
    const receivedByBob = instances.reduce((sum, i) => sum + BigInt(i.bob.received.length), 0n)
    expect(receivedByBob).to.equal(aliceFulfilled + carolFulfilled)

    const settled = bobReceived.reduce((sum, amount) => sum + amount, 0n)

    expect(await redis.get(prefix + 'balance:alice')).to.equal(String(aliceFulfilled * ALICE_AMOUNT))
    expect(await redis.get(prefix + 'balance:carol')).to.equal(String(carolFulfilled * CAROL_AMOUNT))
    // What bob was paid in packets, less what the three instances settled to him, to the unit.
    expect(await bobBalance()).to.equal(settled - delivered)
    // Each settlement brought bob up to at most settleTo (0): a second settlement of the same debt would push him above it.
    expect(await bobBalance()).to.be.within(SETTLE_THRESHOLD, 0n)
    expect(bobReceived.length).to.be.at.least(WAVES)
    expect(bobReceived.every((amount) => amount > -SETTLE_THRESHOLD)).to.equal(true)
    expect(await redis.zcard(prefix + 'reservations')).to.equal(0) // nothing still reserved
  })

  it('settles only what bob was delivered: packets still in flight to him, then rejected, are never paid for', async () => {
    const bobReceived: bigint[] = []
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance(bobReceived))
    // bob fulfills the even packets at once and holds the odd ones 300 ms, then rejects them: meanwhile their
    // debits are reserved on his balance, far below the threshold, while the fulfilled ones trigger settlements.
    for (const instance of instances) {
      instance.bob.handler = async (prepare) => {
        const odd = indexOf(prepare.data) % 2 === 1
        if (odd) await sleep(300)
        return answer(prepare.data, odd, BOB)
      }
    }
    const outcomes: string[] = []
    for (let wave = 0; wave < WAVES; wave++) outcomes.push(...await send('carol', wave * 20, 20, CAROL_AMOUNT))
    expect(outcomes.filter((o) => o === 'fulfill').length).to.equal(WAVES * 10)
    expect(outcomes.filter((o) => o !== 'fulfill').every((o) => o === 'F99')).to.equal(true)
    const delivered = BigInt(WAVES * 10) * CAROL_AMOUNT
    await bobSettled()
    const settled = bobReceived.reduce((sum, amount) => sum + amount, 0n)
    expect(settled > 0n, 'the fulfilled packets took bob below the threshold').to.equal(true)
    expect(settled <= delivered, `settled ${settled} of ${delivered} delivered`).to.equal(true)
    expect(await bobBalance()).to.equal(settled - delivered)
    expect(await bobBalance()).to.be.within(SETTLE_THRESHOLD, 0n)
    expect([await redis.zcard(prefix + 'reservations'), await redis.exists(prefix + 'debits:balance:bob')]).to.deep.equal([0, 0])
  })

  it('rateLimit and throughput are shared: the three together allow what one instance would, not three times as much', async () => {
    // alice: 30 packets per minute; carol: 20,000 units per minute. Per instance that would be 90 and 60,000.
    const more = {
      alice: { rateLimit: { refillPeriod: 60000, refillCount: 30, capacity: 30 } },
      carol: { throughput: { incomingAmount: '20000', refillPeriod: 60000 } }
    }
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance([], more))
    const started = Date.now()
    const [aliceOutcomes, carolOutcomes] = await Promise.all([send('alice', 0, 90, 10n), send('carol', 0, 60, 1000n)])
    const elapsedMinutes = (Date.now() - started) / 60000
    const count = (outcomes: string[], outcome: string): number => outcomes.filter((o) => o === outcome).length
    // The buckets start full and refill by Redis's clock while the test runs (well under one packet's worth).
    expect(count(aliceOutcomes, 'fulfill')).to.be.within(30, 30 + Math.ceil(30 * elapsedMinutes))
    expect(count(aliceOutcomes, 'T05')).to.equal(90 - count(aliceOutcomes, 'fulfill'))
    // Leases are taken 1/50 of the capacity at a time; what an instance holds unused is lost, never handed on.
    expect(count(carolOutcomes, 'fulfill')).to.be.within(17, 20 + Math.ceil(20 * elapsedMinutes))
    expect(count(carolOutcomes, 'T04')).to.equal(60 - count(carolOutcomes, 'fulfill'))
    expect(await redis.get(prefix + 'balance:alice')).to.equal(String(10 * count(aliceOutcomes, 'fulfill')))
    expect(await redis.get(prefix + 'balance:carol')).to.equal(String(1000 * count(carolOutcomes, 'fulfill')))
  })

  it('with sharedLimits: false each instance keeps its own buckets (three times as much)', async () => {
    const more = { alice: { rateLimit: { refillPeriod: 60000, refillCount: 10, capacity: 10 } }, sharedLimits: false }
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance([], more))
    const outcomes = await send('alice', 0, 60, 10n)
    expect(outcomes.filter((o) => o === 'fulfill').length).to.be.within(30, 33)
  })
})
