/**
 * `conn --workers 2` (the real bin): two worker processes share each listening port and one Redis prefix. The
 * clients connect to the shared ports only and land on either worker; every one pays every other with exact
 * balances; a worker killed with -9 is restarted and payments resume; SIGTERM to the primary drains both
 * workers and exits 0. Then what it refuses before any port opens, and a crash loop it gives up on.
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { Redis } from 'ioredis'
import { BtpPlugin, Node, decodeReply, freePort, sleep, type DecodedReply } from '../helpers/harness.ts'
import { logLines, startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, clientNode, clusterAccounts, deletePrefix, isListening, paymentData, stopEverything } from '../helpers/store.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = 'e2e-workers-secret-' + randomUUID()
const MINI_USERS = ['u1', 'u2', 'u3', 'u4'] as const
const NAMES = ['alice', 'bob', ...MINI_USERS] as const
type Who = typeof NAMES[number]
const addressOf = (who: Who): string => who === 'alice' || who === 'bob' ? `${OWN_ADDRESS}.${who}` : `${OWN_ADDRESS}.minis.${who}`
const accountOf = (who: Who): string => who === 'alice' || who === 'bob' ? who : 'minis'

interface Ports { alice: number, bob: number, minis: number }

function workersEnv (ports: Ports, prefix: string, cluster: unknown = { secret: SECRET, heartbeat: 250, ttl: 1000 }): Record<string, string> {
  return {
    CONNECTOR_ILP_ADDRESS: OWN_ADDRESS,
    CONNECTOR_BACKEND: 'one-to-one',
    CONNECTOR_SPREAD: '0',
    CONNECTOR_INITIAL_CONNECT_TIMEOUT: '300',
    CONNECTOR_STORE: 'redis',
    CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix, sweepInterval: 200, cluster }),
    CONNECTOR_ACCOUNTS: JSON.stringify(clusterAccounts(ports))
  }
}

/** A client that fulfills every paymentData Prepare. */
const fulfiller = (self: string) => (prepare: { data: Buffer }) => answer(prepare.data, false, self)

describe('e2e: conn --workers 2', function () {
  this.timeout(30000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `test-workers-${randomUUID()}:`
  const nodes: Node[] = []
  let ports: Ports
  let conn: ConnProcess
  const clients = {} as Record<Who, Node>

  const balance = async (account: string): Promise<bigint> => BigInt(await redis.get(prefix + 'balance:' + account) ?? '0')
  const reserved = async (account: string): Promise<string> => await redis.get(prefix + 'reserved:balance:' + account) ?? '0'

  async function pay (from: Who, to: Who, amount: bigint, index: number): Promise<DecodedReply> {
    return decodeReply(await clients[from].send({ amount, destination: addressOf(to), expiresIn: 5000, ...paymentData(index) }))
  }

  /** Pays until a payment is fulfilled (a client reconnecting, the workers learning of each other); throws after `timeout` ms. */
  async function untilFulfilled (from: Who, to: Who, amount: bigint, index: number, timeout = 8000): Promise<void> {
    const deadline = Date.now() + timeout
    let last: unknown
    for (;;) {
      try {
        const reply = await pay(from, to, amount, index)
        if (reply.type === 'fulfill') return
        last = reply
      } catch (err) {
        last = (err as Error).message // the client is not connected yet
      }
      if (Date.now() > deadline) throw new Error(`${from} cannot pay ${to}: ${JSON.stringify(last)}`)
      await sleep(50)
    }
  }

  /** Each worker's connections as its registry entry in Redis says: accounts and mini-accounts users. */
  async function connectionsByWorker (): Promise<string[][]> {
    const keys = await redis.keys(prefix + 'cluster:member:*')
    const entries = await Promise.all(keys.map(async (key) => JSON.parse(await redis.get(key) ?? '{}') as { accounts: string[], clients: Record<string, string[]> }))
    return entries.map((entry) => [...entry.accounts, ...Object.values(entry.clients).flat()].sort())
  }

  before(async () => {
    await redis.connect()
    ports = { alice: await freePort(), bob: await freePort(), minis: await freePort() }
    conn = startConn(['--workers', '2'], workersEnv(ports, prefix))
    await conn.waitFor('all workers ready', 20000)
    clients.alice = await clientNode('alice', ports.alice, 'alice-secret', fulfiller(addressOf('alice')))
    clients.bob = await clientNode('bob', ports.bob, 'bob-secret', fulfiller(addressOf('bob')))
    for (const name of MINI_USERS) {
      const plugin = new BtpPlugin({ server: `btp+ws://${name}:${name}-token@127.0.0.1:${ports.minis}`, reconnectIntervals: [50] } as any)
      const node = clients[name] = new Node(name, plugin, (self) => fulfiller(self.address))
      node.address = addressOf(name)
      await node.connect()
    }
    nodes.push(...Object.values(clients))
    for (const from of NAMES) for (const to of NAMES) if (from !== to) await untilFulfilled(from, to, 0n, 0)
  })

  after(async () => {
    await stopEverything(nodes.splice(0), [conn])
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('spreads the connections of one shared port over both workers, and every client pays every other: exact amounts and balances, booked once', async () => {
    const byWorker = await connectionsByWorker()
    expect(byWorker).to.have.length(2)
    expect(byWorker.flat().sort()).to.deep.equal(['alice', 'bob', ...MINI_USERS])
    // the four users all dialled the minis port: both workers hold some of them
    for (const connections of byWorker) expect(connections.filter((c) => c.startsWith('u')), JSON.stringify(byWorker)).to.not.be.empty

    const before = { alice: await balance('alice'), bob: await balance('bob'), minis: await balance('minis') }
    for (const node of nodes) node.received.length = 0
    const sends: Array<Promise<[Who, Who, DecodedReply]>> = []
    const sent = new Map<Who, bigint>(NAMES.map((who) => [who, 0n]))
    const received = new Map<Who, bigint>(NAMES.map((who) => [who, 0n]))
    let index = 1
    for (const [i, from] of NAMES.entries()) {
      for (const to of NAMES) {
        if (from === to) continue
        const amount = BigInt(1000 * (i + 1) + index)
        sent.set(from, sent.get(from)! + amount)
        received.set(to, received.get(to)! + amount)
        sends.push(pay(from, to, amount, index++).then((reply) => [from, to, reply]))
      }
    }
    const results = await Promise.all(sends)
    expect(results.filter(([, , reply]) => reply.type !== 'fulfill').map(([f, t, r]) => `${f}->${t} ${JSON.stringify(r)}`)).to.deep.equal([])
    for (const who of NAMES) {
      expect(clients[who].received.reduce((sum, p) => sum + p.amount, 0n), who).to.equal(received.get(who))
    }
    // each account moved by what its clients sent less what they received, once in Redis (not once per worker)
    const delta = (account: string): bigint => NAMES.filter((who) => accountOf(who) === account)
      .reduce((sum, who) => sum + sent.get(who)! - received.get(who)!, 0n)
    for (const account of ['alice', 'bob', 'minis'] as const) {
      expect(await balance(account) - before[account], account).to.equal(delta(account))
      expect(await reserved(account), account).to.equal('0')
    }
  })

  it('kill -9 of the worker holding bob: it is restarted, bob reconnects through the shared port and payments resume', async () => {
    const connected = logLines(conn.stdout()).filter((line) => line.account === 'bob' && line.msg === 'account connected')
    const victim = connected.at(-1)
    expect(victim).to.not.equal(undefined)
    const { pid, worker } = victim as { pid: number, worker: number }
    const readyBefore = logLines(conn.stdout()).filter((line) => line.msg === 'worker ready' && line.worker === worker).length
    const before = { alice: await balance('alice'), bob: await balance('bob') }
    clients.bob.received.length = 0

    process.kill(pid, 'SIGKILL')
    await conn.waitFor(/"msg":"worker died: restarting it"/)
    const restartedBy = Date.now() + 15000
    while (logLines(conn.stdout()).filter((line) => line.msg === 'worker ready' && line.worker === worker).length === readyBefore) {
      if (Date.now() > restartedBy) throw new Error('worker not restarted:\n' + conn.stdout())
      await sleep(50)
    }
    await untilFulfilled('alice', 'bob', 700n, 500)
    const after = await Promise.all(Array.from({ length: 5 }, async (_, n) => await pay('alice', 'bob', 700n, 600 + n)))
    expect(after.map((reply) => reply.type)).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'fulfill', 'fulfill'])
    expect(conn.child.exitCode).to.equal(null)

    const fulfilled = BigInt(clients.bob.received.length)
    expect(fulfilled).to.be.at.least(6n)
    const settledBy = Date.now() + 5000
    while ((await reserved('alice') !== '0' || await reserved('bob') !== '0') && Date.now() < settledBy) await sleep(50)
    expect(await balance('alice') - before.alice).to.equal(fulfilled * 700n)
    expect(await balance('bob') - before.bob).to.equal(-fulfilled * 700n)
  })

  it('SIGTERM to the primary: each worker drains as it would alone (packets in flight fulfilled), the primary exits 0 and the ports close', async () => {
    // bob answers after 300 ms: these packets are in flight when the signal comes
    clients.bob.handler = async (prepare) => { await sleep(300); return answer(prepare.data, false, addressOf('bob')) }
    clients.bob.received.length = 0
    const inFlight = Array.from({ length: 4 }, async (_, n) => await pay('alice', 'bob', 9n, 900 + n))
    const deadline = Date.now() + 3000
    while (clients.bob.received.length < 4 && Date.now() < deadline) await sleep(5)
    expect(clients.bob.received.length).to.equal(4)
    conn.child.kill('SIGTERM')
    expect((await Promise.all(inFlight)).map((reply) => reply.type)).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'fulfill'])
    await Promise.all(nodes.splice(0).map(async (node) => { await node.disconnect().catch(() => {}) }))
    expect(await conn.exited).to.equal(0)
    const stopped = logLines(conn.stdout()).filter((line) => line.msg === 'worker stopped')
    expect(stopped.map((line) => line.code)).to.deep.equal([0, 0])
    expect(logLines(conn.stdout()).filter((line) => line.msg === 'shutting down').length).to.be.at.least(2)
    for (const port of Object.values(ports)) expect(await isListening(port), String(port)).to.equal(false)
    expect(await redis.keys(prefix + 'cluster:member:*')).to.deep.equal([])
  })
})

describe('e2e: conn --workers 2 whose primary is killed', function () {
  this.timeout(30000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `test-workers-${randomUUID()}:`
  const nodes: Node[] = []
  let conn: ConnProcess | undefined
  let pids: number[] = []

  before(async () => { await redis.connect() })
  after(async () => {
    await stopEverything(nodes.splice(0), conn === undefined ? [] : [conn])
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('kill -9 of the primary: the workers answer their packets in flight, then exit; balances exact', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), minis: await freePort() }
    conn = startConn(['--workers', '2'], workersEnv(ports, prefix))
    await conn.waitFor('all workers ready', 20000)
    // the workers' own records (the primary's about a worker carry its index too)
    pids = [...new Set(logLines(conn.stdout()).filter((line) => typeof line.worker === 'number' && line.pid !== conn!.child.pid).map((line) => line.pid as number))]
    expect(pids).to.have.length(2)
    const alice = await clientNode('alice', ports.alice, 'alice-secret', fulfiller(addressOf('alice')))
    const bob = await clientNode('bob', ports.bob, 'bob-secret', async (prepare) => { await sleep(500); return answer(prepare.data, false, addressOf('bob')) })
    nodes.push(alice, bob)
    const pay = async (index: number): Promise<DecodedReply> => decodeReply(await alice.send({ amount: 11n, destination: addressOf('bob'), expiresIn: 10000, ...paymentData(index) }))
    const readyBy = Date.now() + 8000
    while ((await pay(0)).type !== 'fulfill') {
      if (Date.now() > readyBy) throw new Error('alice cannot pay bob')
      await sleep(50)
    }
    const before = await redis.get(prefix + 'balance:alice')
    bob.received.length = 0
    const inFlight = Array.from({ length: 4 }, async (_, n) => await pay(100 + n))
    while (bob.received.length < 4) await sleep(5)

    conn.child.kill('SIGKILL')
    expect((await Promise.all(inFlight)).map((reply) => reply.type)).to.deep.equal(['fulfill', 'fulfill', 'fulfill', 'fulfill'])
    const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
    const goneBy = Date.now() + 10000
    while (pids.some(alive) && Date.now() < goneBy) await sleep(50)
    expect(pids.filter(alive)).to.deep.equal([])
    expect(logLines(conn.stdout()).filter((line) => line.msg === 'shutting down').length).to.equal(2)
    expect(BigInt(await redis.get(prefix + 'balance:alice') ?? '0') - BigInt(before ?? '0')).to.equal(44n)
  })
})

describe('e2e: conn --workers refuses what the workers could not share, and gives up a crash loop', function () {
  this.timeout(30000)
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const prefix = `test-workers-${randomUUID()}:`

  before(async () => { await redis.connect() })
  after(async () => {
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  it('the embedded default (memory store) with --workers 2: a config error naming store, and no port opened', async () => {
    const port = await freePort()
    const conn = startConn(['--workers', '2', '--port', String(port)])
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr()).to.include('conn: config error: store: --workers 2 runs 2 processes, and the memory store is each process\'s own')
    expect(conn.stderr()).to.include('nothing was started')
    expect(await isListening(port)).to.equal(false)
  })

  it('CONNECTOR_WORKERS=3 with the level store, and with redis but no storeConfig.cluster: config errors naming the field', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), minis: await freePort() }
    const level = startConn([], { ...workersEnv(ports, prefix), CONNECTOR_WORKERS: '3', CONNECTOR_STORE: 'level', CONNECTOR_STORE_PATH: '/tmp/conn-workers-never-' + randomUUID() })
    expect(await level.exited).to.equal(1)
    expect(level.stderr()).to.include('conn: config error: store: --workers 3 runs 3 processes, and the level store is a directory only one process can open')
    const noCluster = { ...workersEnv(ports, prefix), CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix }) }
    const redisOnly = startConn(['--workers', '2'], noCluster)
    expect(await redisOnly.exited).to.equal(1)
    expect(redisOnly.stderr()).to.include('conn: config error: storeConfig.cluster: --workers 2 spreads the BTP connections over the workers')
    const bad = startConn([], { ...workersEnv(ports, prefix), CONNECTOR_WORKERS: 'two' })
    expect(await bad.exited).to.equal(1)
    expect(bad.stderr()).to.include('conn: config error: CONNECTOR_WORKERS: expected an integer 1..256, got "two"')
    for (const port of Object.values(ports)) expect(await isListening(port)).to.equal(false)
  })

  it('workers that fail right after starting (a port taken) are restarted with back-off, then given up: exit 1', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), minis: await freePort() }
    const squatter: Server = createServer()
    await new Promise<void>((resolve) => squatter.listen(ports.bob, '127.0.0.1', resolve))
    try {
      const conn = startConn(['--workers', '2'], workersEnv(ports, prefix))
      expect(await conn.exited).to.equal(1)
      const lines = logLines(conn.stdout())
      const restarts = lines.filter((line) => line.msg === 'worker died: restarting it')
      // 5 immediate failures in a row per worker: 4 restarts each, with doubling delays
      expect(restarts).to.have.length(8)
      expect(restarts.filter((line) => line.worker === 0).map((line) => line.restartIn)).to.deep.equal([100, 200, 400, 800])
      expect(lines.filter((line) => String(line.msg).startsWith('worker failed right after starting')).map((line) => line.worker).sort()).to.deep.equal([0, 1])
      expect(lines.some((line) => line.msg === 'every worker was given up: exiting')).to.equal(true)
    } finally {
      squatter.close()
    }
  })
})
