/**
 * A cluster of three conn processes on one Redis prefix (storeConfig.cluster): every instance has the same
 * accounts on its own ports, but each client connects to one instance only — alice to the first, bob to the
 * second, carol (a mini-accounts user of the account `minis`) to the third. Payments between any two go through
 * the instance the sender is on and reach the receiver over the internal link; balances are kept once, in Redis.
 * Then the instance holding bob is killed (kill -9) with packets to bob in flight.
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { BtpPlugin, Node, decodeReply, freePort, sleep, type DecodedReply } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, clientNode, clusterAccounts, clusterMemberEnv, deletePrefix, paymentData, stopEverything } from '../helpers/store.ts'
import { createStreamServer, sendStreamPayment } from '../helpers/stream.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'e2e-cluster-secret-' + randomUUID()
const ADDRESS = { alice: `${OWN_ADDRESS}.alice`, bob: `${OWN_ADDRESS}.bob`, carol: `${OWN_ADDRESS}.minis.carol` } as const
type Who = keyof typeof ADDRESS
/** The account each one's packets are booked on. */
const ACCOUNT: Record<Who, string> = { alice: 'alice', bob: 'bob', carol: 'minis' }

interface Ports { alice: number, bob: number, minis: number }
interface Instance { conn: ConnProcess, ports: Ports }

describe('e2e: a cluster of three instances on one Redis prefix', function () {
  this.timeout(30000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `conn-e2e-cluster:${randomUUID()}:`
  const instances: Instance[] = []
  const nodes: Node[] = []
  let clients: Record<Who, Node>

  const balance = async (account: string): Promise<bigint> => BigInt(await redis.get(prefix + 'balance:' + account) ?? '0')
  const reserved = async (account: string): Promise<string> => await redis.get(prefix + 'reserved:balance:' + account) ?? '0'

  function startInstance (ports: Ports): ConnProcess {
    return startConn([], clusterMemberEnv(REDIS_URL, prefix, SECRET, clusterAccounts(ports)))
  }

  /** A client that fulfills every paymentData Prepare. */
  const fulfiller = (self: string) => (prepare: { data: Buffer }) => answer(prepare.data, false, self)

  async function miniUser (name: string, port: number): Promise<Node> {
    const plugin = new BtpPlugin({ server: `btp+ws://${name}:${name}-token@127.0.0.1:${port}`, reconnectIntervals: [50] } as any)
    const node = new Node(name, plugin, (self) => fulfiller(self.address))
    node.address = `${OWN_ADDRESS}.minis.${name}`
    await node.connect()
    nodes.push(node)
    return node
  }

  async function pay (from: Who | Node, to: string, amount: bigint, index: number, expiresIn = 5000): Promise<DecodedReply> {
    const node = typeof from === 'string' ? clients[from] : from
    return decodeReply(await node.send({ amount, destination: to, expiresIn, ...paymentData(index) }))
  }

  /** Until every instance lists the others' connections (the first heartbeats and announcements). */
  async function untilDelivered (from: Who, to: Who): Promise<void> {
    const deadline = Date.now() + 5000
    for (;;) {
      const reply = await pay(from, ADDRESS[to], 0n, 0)
      if (reply.type === 'fulfill') return
      if (Date.now() > deadline) throw new Error(`${from} cannot reach ${to}: ${JSON.stringify(reply)}`)
      await sleep(50)
    }
  }

  before(async () => {
    await redis.connect()
    for (let i = 0; i < 3; i++) {
      const ports = { alice: await freePort(), bob: await freePort(), minis: await freePort() }
      instances.push({ conn: startInstance(ports), ports })
    }
    const [one, two, three] = instances as [Instance, Instance, Instance]
    const alice = await clientNode('alice', one.ports.alice, 'alice-secret', fulfiller(ADDRESS.alice))
    const bob = await clientNode('bob', two.ports.bob, 'bob-secret', fulfiller(ADDRESS.bob))
    nodes.push(alice, bob)
    await Promise.all(instances.map(async (i) => { await i.conn.waitFor('connector ready') }))
    const carol = await miniUser('carol', three.ports.minis)
    clients = { alice, bob, carol }
    for (const from of ['alice', 'bob', 'carol'] as const) {
      for (const to of ['alice', 'bob', 'carol'] as const) if (from !== to) await untilDelivered(from, to)
    }
  })

  after(async () => {
    await stopEverything(nodes.splice(0), instances.splice(0).map((i) => i.conn))
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('every pair pays every other across instances: amounts delivered to the unit, balances exact in Redis, booked once', async () => {
    const amounts: Record<Who, bigint> = { alice: 1000n, bob: 200n, carol: 30n }
    const before = { alice: await balance('alice'), bob: await balance('bob'), minis: await balance('minis') }
    for (const node of Object.values(clients)) node.received.length = 0
    const PACKETS = 5
    const sends: Array<Promise<[Who, Who, DecodedReply]>> = []
    let index = 1
    for (const from of ['alice', 'bob', 'carol'] as const) {
      for (const to of ['alice', 'bob', 'carol'] as const) {
        if (from === to) continue
        for (let n = 0; n < PACKETS; n++) {
          const i = index++
          sends.push(pay(from, ADDRESS[to], amounts[from] + BigInt(n), i).then((reply) => [from, to, reply]))
        }
      }
    }
    const results = await Promise.all(sends)
    expect(results.filter(([, , reply]) => reply.type !== 'fulfill').map(([f, t, r]) => `${f}->${t} ${JSON.stringify(r)}`)).to.deep.equal([])

    // each receiver got exactly what was sent to it, to the unit (one-to-one, spread 0)
    const sentBy = (from: Who): bigint => BigInt(PACKETS) * amounts[from] * 2n + 2n * BigInt(PACKETS * (PACKETS - 1) / 2)
    const sentTo = (to: Who): bigint => (['alice', 'bob', 'carol'] as const).filter((f) => f !== to)
      .reduce((sum, from) => sum + BigInt(PACKETS) * amounts[from] + BigInt(PACKETS * (PACKETS - 1) / 2), 0n)
    for (const who of ['alice', 'bob', 'carol'] as const) {
      const received = clients[who].received
      expect(received.length, who).to.equal(2 * PACKETS)
      expect(received.every((p) => p.destination === ADDRESS[who])).to.equal(true)
      expect(received.reduce((sum, p) => sum + p.amount, 0n), who).to.equal(sentTo(who))
    }
    // the balance of each account moved by what its client sent less what it received, once (not once per instance)
    for (const who of ['alice', 'bob', 'carol'] as const) {
      expect(await balance(ACCOUNT[who]) - before[ACCOUNT[who] as keyof typeof before], who).to.equal(sentBy(who) - sentTo(who))
    }
    for (const account of ['alice', 'bob', 'minis']) expect(await reserved(account), account).to.equal('0')
  })

  it('a STREAM payment between mini-accounts users on different instances delivers the exact amount', async () => {
    const [one, two] = instances as [Instance, Instance]
    // plain plugins: STREAM registers its own data handlers on them
    const sender = new BtpPlugin({ server: `btp+ws://sally:sally-token@127.0.0.1:${one.ports.minis}`, reconnectIntervals: [50] } as any)
    const receiverPlugin = new BtpPlugin({ server: `btp+ws://rita:rita-token@127.0.0.1:${two.ports.minis}`, reconnectIntervals: [50] } as any)
    await Promise.all([sender.connect(), receiverPlugin.connect()])
    const minisBefore = await balance('minis')
    const receiver = await createStreamServer(receiverPlugin)
    try {
      expect(receiver.address).to.equal(`${OWN_ADDRESS}.minis.rita`)
      const { destinationAccount, sharedSecret } = receiver.credentials()
      const paid = await sendStreamPayment(sender, destinationAccount, sharedSecret, 1_234_567n, { timeoutMs: 10000 })
      expect(paid.sent).to.equal(1_234_567n)
      expect(paid.delivered).to.equal(1_234_567n)
      expect(await receiver.waitForReceived(1_234_567n)).to.equal(1_234_567n)
      expect(receiver.errors).to.deep.equal([])
    } finally {
      await receiver.close()
      await sender.disconnect()
    }
    // both ends are on the account minis: what came in went out, nothing stayed reserved
    expect(await balance('minis')).to.equal(minisBefore)
    expect(await reserved('minis')).to.equal('0')
  })

  it('kill -9 of the instance holding bob: packets in flight rejected at once, none fulfilled twice; bob reconnects elsewhere and payments resume', async () => {
    const [, two, three] = instances as [Instance, Instance, Instance]
    const AMOUNT = 500n
    const before = { alice: await balance('alice'), bob: await balance('bob') }
    // bob holds what he gets: these packets are in flight at the kill
    clients.bob.handler = clients.bob.hold()
    clients.bob.received.length = 0
    const inFlight = Array.from({ length: 5 }, async (_, n) => await pay('alice', ADDRESS.bob, AMOUNT, 100 + n, 10000))
    const deadline = Date.now() + 3000
    while (clients.bob.received.length < 5 && Date.now() < deadline) await sleep(10)
    expect(clients.bob.received.length).to.equal(5)

    const killedAt = Date.now()
    two.conn.child.kill('SIGKILL')
    const replies = await Promise.all(inFlight)
    const answeredIn = Date.now() - killedAt
    expect(replies.map((r) => r.type === 'reject' ? r.code : 'fulfill')).to.deep.equal(['T01', 'T01', 'T01', 'T01', 'T01'])
    expect(answeredIn).to.be.below(2000) // not at their expiry (10 s)
    await two.conn.exited
    // nobody holds bob now: T01 at once
    const meanwhile = await pay('alice', ADDRESS.bob, AMOUNT, 200)
    expect(meanwhile.type === 'reject' ? meanwhile.code : 'fulfill').to.equal('T01')

    // bob's client reconnects, to the third instance
    const bob2 = await clientNode('bob', three.ports.bob, 'bob-secret', fulfiller(ADDRESS.bob))
    nodes.push(bob2)
    clients.bob = bob2
    const resumedBy = Date.now() + 5000
    let resumed: DecodedReply
    let index = 300
    do {
      resumed = await pay('alice', ADDRESS.bob, AMOUNT, index++)
      if (resumed.type !== 'fulfill') await sleep(50)
    } while (resumed.type !== 'fulfill' && Date.now() < resumedBy)
    expect(resumed.type).to.equal('fulfill')
    const after = await Promise.all(Array.from({ length: 5 }, async (_, n) => await pay('alice', ADDRESS.bob, AMOUNT, 400 + n)))
    expect(after.every((r) => r.type === 'fulfill')).to.equal(true)
    // the packets held by the old connection never came back fulfilled: the new connection got only its own
    expect(bob2.received.every((p) => p.data.readUInt32BE(32) >= 300)).to.equal(true)
    const fulfilled = BigInt(bob2.received.length)
    expect(fulfilled).to.equal(6n)

    // only the fulfilled packets count, once: the held ones were released
    const settledBy = Date.now() + 5000
    while ((await reserved('alice') !== '0' || await reserved('bob') !== '0') && Date.now() < settledBy) await sleep(50)
    expect(await reserved('alice')).to.equal('0')
    expect(await reserved('bob')).to.equal('0')
    expect(await balance('alice') - before.alice).to.equal(fulfilled * AMOUNT)
    expect(await balance('bob') - before.bob).to.equal(-fulfilled * AMOUNT)
  })

  it('an instance that hangs (SIGSTOP) holding bob: its packets expire upstream (R00), after its ttl the others give T01 at once, and it serves again when it resumes', async () => {
    const three = instances[2]!
    const AMOUNT = 70n
    const before = { alice: await balance('alice'), bob: await balance('bob') }
    clients.bob.handler = clients.bob.hold()
    clients.bob.received.length = 0
    const sentAt = Date.now()
    // 3 s to expire at alice (conn wants two minMessageWindows), 2 s once instance 1 took its minMessageWindow
    const inFlight = Array.from({ length: 3 }, async (_, n) => await pay('alice', ADDRESS.bob, AMOUNT, 500 + n, 3000))
    const deadline = Date.now() + 2000
    while (clients.bob.received.length < 3 && Date.now() < deadline) await sleep(5)
    expect(clients.bob.received.length).to.equal(3)
    three.conn.child.kill('SIGSTOP')
    try {
      const replies = await Promise.all(inFlight)
      expect(replies.map((r) => r.type === 'reject' ? r.code : 'fulfill')).to.deep.equal(['R00', 'R00', 'R00'])
      expect(Date.now() - sentAt).to.be.below(3500) // answered by their expiry, not left hanging
      // once its entry expired (ttl 1 s), nobody holds bob: T01 at once
      const t01By = Date.now() + 3000
      let reply: DecodedReply
      do {
        const started = Date.now()
        reply = await pay('alice', ADDRESS.bob, AMOUNT, 600, 3000)
        if (reply.type === 'reject' && reply.code === 'T01') {
          expect(Date.now() - started).to.be.below(1000) // at once: well before the 3 s expiry, with room for a loaded machine
          break
        }
      } while (Date.now() < t01By)
      expect(reply.type === 'reject' ? reply.code : 'fulfill').to.equal('T01')
    } finally {
      three.conn.child.kill('SIGCONT')
    }
    clients.bob.handler = fulfiller(ADDRESS.bob)
    const resumedBy = Date.now() + 5000
    let resumed: DecodedReply
    let index = 700
    do {
      resumed = await pay('alice', ADDRESS.bob, AMOUNT, index++)
      if (resumed.type !== 'fulfill') await sleep(50)
    } while (resumed.type !== 'fulfill' && Date.now() < resumedBy)
    expect(resumed.type).to.equal('fulfill')
    const fulfilled = BigInt(clients.bob.received.filter((p) => p.data.readUInt32BE(32) >= 700).length)
    expect(fulfilled).to.equal(1n)
    const settledBy = Date.now() + 5000
    while ((await reserved('alice') !== '0' || await reserved('bob') !== '0') && Date.now() < settledBy) await sleep(50)
    expect(await reserved('alice')).to.equal('0')
    expect(await reserved('bob')).to.equal('0')
    expect(await balance('alice') - before.alice).to.equal(fulfilled * AMOUNT)
    expect(await balance('bob') - before.bob).to.equal(-fulfilled * AMOUNT)
  })

  it('a graceful shutdown (SIGTERM) of the instance holding bob: packets in flight through it are fulfilled, its entry leaves Redis, then T01 at once', async () => {
    const [one, , three] = instances as [Instance, Instance, Instance]
    const AMOUNT = 11n
    const before = { alice: await balance('alice'), bob: await balance('bob') }
    const members = await redis.zrange(prefix + 'cluster:members', 0, -1)
    // bob answers after 300 ms: these packets are in flight when the signal comes
    clients.bob.handler = async (prepare) => { await sleep(300); return answer(prepare.data, false, ADDRESS.bob) }
    clients.bob.received.length = 0
    const inFlight = Array.from({ length: 4 }, async (_, n) => await pay('alice', ADDRESS.bob, AMOUNT, 800 + n))
    const deadline = Date.now() + 2000
    while (clients.bob.received.length < 4 && Date.now() < deadline) await sleep(5)
    expect(clients.bob.received.length).to.equal(4)
    three.conn.child.kill('SIGTERM')
    const replies = await Promise.all(inFlight)
    expect(replies.map((r) => r.type)).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'fulfill'])
    expect(await three.conn.exited).to.equal(0)
    // its entry is gone from Redis at once (not after its ttl), and instance 1 knows
    const left = await redis.zrange(prefix + 'cluster:members', 0, -1)
    expect(left).to.have.length(members.length - 1)
    // only instance 1's entry is left (the killed instance's expired after its ttl; its id stays listed a while)
    expect(await redis.keys(prefix + 'cluster:member:*')).to.have.length(1)
    const started = Date.now()
    const after = await pay('alice', ADDRESS.bob, AMOUNT, 900)
    expect(after.type === 'reject' ? after.code : 'fulfill').to.equal('T01')
    expect(Date.now() - started).to.be.below(1000) // at once: well before the 3 s expiry, with room for a loaded machine
    expect(one.conn.child.exitCode).to.equal(null)
    const settledBy = Date.now() + 5000
    while ((await reserved('alice') !== '0' || await reserved('bob') !== '0') && Date.now() < settledBy) await sleep(50)
    expect(await balance('alice') - before.alice).to.equal(4n * AMOUNT)
    expect(await balance('bob') - before.bob).to.equal(-4n * AMOUNT)
  })
})
