/**
 * The redis store through the cli process, on the real Redis at 127.0.0.1:6379: balances land in Redis, survive
 * a restart, and are shared by two conn instances on the same prefix; an unreachable Redis stops the start
 * before any port opens.
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, sleep, type Node } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, deletePrefix, indexOf, isListening, paymentData, startStoreNetwork, stopEverything, storeConnEnv, type StoreNetwork } from '../helpers/store.ts'

const REDIS_URL = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const BOB = `${OWN_ADDRESS}.bob`

describe('store-redis: balances in Redis through the cli process', function () {
  this.timeout(20000)
  const conns: ConnProcess[] = []
  const nodes: Node[] = []
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  let prefix: string

  async function network (aliceMaximum?: string): Promise<StoreNetwork> {
    const started = await startStoreNetwork({
      dir: '', alicePort: await freePort(), bobPort: await freePort(), store: 'redis', aliceMaximum,
      env: { CONNECTOR_STORE_CONFIG: JSON.stringify({ url: REDIS_URL, prefix, sweepInterval: 100 }) }
    })
    conns.push(started.conn)
    nodes.push(started.alice, started.bob)
    started.bob.handler = (prepare) => answer(prepare.data, false, started.bob.address)
    return started
  }

  /** Pays bob `count` times; the replies' types and codes ('fulfill' or the reject code). */
  async function payMany (alice: Node, count: number, amount: number): Promise<string[]> {
    const outcomes: string[] = []
    for (let i = 0; i < count; i++) {
      const reply = await alice.pay({ amount, destination: BOB, ...paymentData(i) })
      outcomes.push(reply.type === 'fulfill' ? 'fulfill' : reply.code)
    }
    return outcomes
  }
  const count = (outcomes: string[], outcome: string): number => outcomes.filter((o) => o === outcome).length

  async function stop ({ conn, alice, bob }: StoreNetwork): Promise<void> {
    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(0)
    await Promise.all([alice.disconnect(), bob.disconnect()])
  }

  before(async () => { await redis.connect() })
  beforeEach(() => { prefix = `conn-e2e:${randomUUID()}:` })
  afterEach(async () => {
    await stopEverything(nodes.splice(0), conns.splice(0))
    await deletePrefix(redis, prefix)
  })
  after(async () => { await redis.quit() })

  it('CONNECTOR_STORE=redis keeps the balances in Redis, and a restarted conn goes on from them', async () => {
    const first = await network()
    expect(count(await payMany(first.alice, 10, 1000), 'fulfill')).to.equal(10)
    await stop(first)
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['10000', '-10000'])
    expect(await redis.zcard(prefix + 'reservations')).to.equal(0) // nothing still reserved

    const second = await network()
    expect(count(await payMany(second.alice, 5, 1000), 'fulfill')).to.equal(5)
    await stop(second)
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['15000', '-15000'])
  })

  it('two conn instances on one prefix share alice\'s balance: 40 packets of 1,000 through both against a maximum of 30,000 give exactly 30 fulfilled, 10 T04', async () => {
    const [one, two] = [await network('30000'), await network('30000')]
    const outcomes = (await Promise.all([payMany(one.alice, 20, 1000), payMany(two.alice, 20, 1000)])).flat()
    expect([count(outcomes, 'fulfill'), count(outcomes, 'T04')]).to.deep.equal([30, 10])
    await Promise.all([stop(one), stop(two)])
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['30000', '-30000'])
  })

  it('kill -9 of one instance with 5 packets in flight: the other releases their reservations once they expired and goes on; committed balances stay', async () => {
    const [doomed, survivor] = [await network(), await network()]
    expect(count(await payMany(doomed.alice, 3, 1000), 'fulfill')).to.equal(3)
    doomed.bob.handler = doomed.bob.hold()
    const inFlight = Array.from({ length: 5 }, async (_, i) =>
      await doomed.alice.pay({ amount: 100, destination: BOB, expiresIn: 3000, ...paymentData(100 + i) }).catch(() => undefined))
    const deadline = Date.now() + 2000
    // alice's 5 reservations come first, bob's as each packet goes on to him: wait for both
    const reserved = async (): Promise<boolean> => await redis.get(prefix + 'balance:alice') === '3500' && await redis.get(prefix + 'balance:bob') === '-3500'
    while (!await reserved() && Date.now() < deadline) await sleep(10)
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['3500', '-3500'])
    doomed.conn.child.kill('SIGKILL')
    await doomed.conn.exited
    void Promise.all(inFlight)
    // The packets expire 3 s after they were sent; the survivor sweeps 1 s after that, every 100 ms.
    const released = Date.now() + 8000
    while (await redis.get(prefix + 'balance:alice') !== '3000' && Date.now() < released) await sleep(50)
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['3000', '-3000'])
    expect(await redis.zcard(prefix + 'reservations')).to.equal(0) // nothing still reserved
    expect(count(await payMany(survivor.alice, 2, 1000), 'fulfill')).to.equal(2)
    await stop(survivor)
    expect([await redis.get(prefix + 'balance:alice'), await redis.get(prefix + 'balance:bob')]).to.deep.equal(['5000', '-5000'])
  })

  it('Redis lost while running: Prepares get T00 and are not forwarded; once it is back conn reconnects by itself and a commit made meanwhile lands', async function () {
    this.timeout(40000)
    const dir = await mkdtemp(join(tmpdir(), 'conn-redis-'))
    const port = await freePort()
    const server = (): ChildProcess => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' })
    const serving = async (): Promise<void> => {
      const until = Date.now() + 5000
      while (!(await isListening(port))) {
        if (Date.now() > until) throw new Error(`redis-server on ${port} did not start`)
        await sleep(20)
      }
    }
    let redisProcess = server()
    try {
      await serving()
      const own = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => 50 })
      own.on('error', () => {})
      await own.connect()
      const started = await startStoreNetwork({
        dir: '', alicePort: await freePort(), bobPort: await freePort(), store: 'redis',
        env: { CONNECTOR_STORE_CONFIG: JSON.stringify({ url: `redis://127.0.0.1:${port}`, prefix, sweepInterval: 100 }) }
      }, 30000)
      conns.push(started.conn)
      nodes.push(started.alice, started.bob)
      let received = 0
      let release: (() => void) | undefined
      started.bob.handler = async (prepare) => {
        received++
        if (indexOf(prepare.data) === 99) await new Promise<void>((resolve) => { release = resolve })
        return answer(prepare.data, false, started.bob.address)
      }
      expect(count(await payMany(started.alice, 3, 1000), 'fulfill')).to.equal(3)
      // One packet is with bob when Redis goes away; he fulfills it while Redis is down.
      const held = started.alice.pay({ amount: 500, destination: BOB, expiresIn: 20000, ...paymentData(99) })
      while (release === undefined) await sleep(10)
      redisProcess.kill('SIGKILL')
      await new Promise((resolve) => redisProcess.once('exit', resolve))
      const lostAt = Date.now()
      const duringLoss = await payMany(started.alice, 3, 1000)
      expect(Date.now() - lostAt, 'T00 comes at once, not after reconnect attempts').to.be.below(1000)
      expect(duringLoss).to.deep.equal(['T00', 'T00', 'T00'])
      release()
      expect((await held).type).to.equal('fulfill')
      expect(received).to.equal(4)
      redisProcess = server()
      await serving()
      const back = Date.now() + 8000
      let outcome = ''
      while (Date.now() < back && (outcome = (await payMany(started.alice, 1, 1000))[0]!) !== 'fulfill') await sleep(100)
      expect(outcome).to.equal('fulfill')
      // 3,000 before, the held 500 (committed once Redis was back), the 1,000 that went through at the end.
      const settled = Date.now() + 5000
      while (await own.get(prefix + 'balance:alice') !== '4500' && Date.now() < settled) await sleep(50)
      expect([await own.get(prefix + 'balance:alice'), await own.get(prefix + 'balance:bob')]).to.deep.equal(['4500', '-4500'])
      expect(await own.zcard(prefix + 'reservations')).to.equal(0) // nothing still reserved
      own.disconnect()
    } finally {
      redisProcess.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('an unreachable Redis: exit 1 before any port opens, naming storeConfig.url and the URL', async () => {
    const [alicePort, bobPort, redisPort] = [await freePort(), await freePort(), await freePort()]
    const conn = startConn([], storeConnEnv({
      dir: '', alicePort, bobPort, store: 'redis', env: { CONNECTOR_STORE_CONFIG: JSON.stringify({ url: `redis://127.0.0.1:${redisPort}` }) }
    }))
    conns.push(conn)
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr() + conn.stdout()).to.include(`cannot reach Redis at redis://127.0.0.1:${redisPort}`)
    expect([await isListening(alicePort), await isListening(bobPort)]).to.deep.equal([false, false])
  })
})
