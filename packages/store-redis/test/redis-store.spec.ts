/**
 * The redis store against the real Redis on 127.0.0.1:6379 (.ci/run starts one when none answers). Each test
 * uses a prefix of its own and deletes its keys afterwards.
 */
import { expect } from 'chai'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { RecordingLogger, rejectionOf, storeConformance } from '@conn/testkit'
import { isBalanceRangeError, isOperatorError } from '@conn/types'
import { checkOption } from '@conn/core'
import manifest, { RedisStore, RedisStoreError, safeUrl } from '../src/index.ts'
import { BATCH_FIELDS } from '../src/balance-script.ts'

const URL_ = process.env.CONN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

describe('redis-store', () => {
  const prefixes: string[] = []
  const opened: RedisStore[] = []
  const admin = new Redis(URL_, { lazyConnect: true })

  /** A store on a prefix of its own (not opened). */
  function storeOn (prefix = `conn-test:${randomUUID()}:`, options: Record<string, unknown> = {}): RedisStore {
    prefixes.push(prefix)
    const store = new RedisStore({ url: URL_, prefix, ...options })
    opened.push(store)
    return store
  }

  async function opened3 (): Promise<RedisStore[]> {
    const prefix = `conn-test:${randomUUID()}:`
    const stores = [storeOn(prefix), storeOn(prefix), storeOn(prefix)]
    await Promise.all(stores.map(async (store) => { await store.open() }))
    return stores
  }

  before(async () => { await admin.connect() })
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(async (store) => { await store.close() }))
    for (const prefix of prefixes.splice(0)) {
      const keys = await admin.keys(prefix + '*')
      if (keys.length > 0) await admin.del(...keys)
    }
  })
  after(async () => { await admin.quit() })

  storeConformance(() => storeOn())

  describe('balances', () => {
    it('stay exact above 2^53, 2^63 and 2^64 (no Lua numbers, no INCRBY)', async () => {
      const [store] = await opened3()
      const big = 2n ** 53n + 1n
      expect(await store!.adjustBalance('a', big)).to.equal(big)
      expect(await store!.adjustBalance('a', 2n)).to.equal(big + 2n)
      const max = 18446744073709551615n
      expect(await store!.reserveBalance('a', max, undefined, max * 2n)).to.equal(big + 2n + max)
      expect(await store!.reserveBalance('a', max, undefined, max * 3n)).to.equal(big + 2n + 2n * max)
      expect(await store!.releaseBalance('a', max)).to.equal(big + 2n + max)
      expect(await store!.adjustBalance('a', -(big + 2n + max) - 10000000n)).to.equal(-10000000n)
      expect(await store!.adjustBalance('a', 9999999n)).to.equal(-1n)
      expect(await store!.commitBalance('a', max)).to.equal(-1n)
      const refused = await rejectionOf(store!.adjustBalance('b', max, undefined, max - 1n))
      expect(isBalanceRangeError(refused)).to.equal(true)
      expect(await store!.getBalance('b')).to.equal(0n)
    })

    it('adds like BigInt for 2,000 random pairs of signed amounts of up to 40 digits', async () => {
      const [store] = await opened3()
      let expected = 0n
      let seed = 7
      const digits = (): string => {
        let text = ''
        const length = 1 + (seed = (seed * 48271) % 2147483647) % 40
        for (let i = 0; i < length; i++) text += String((seed = (seed * 48271) % 2147483647) % 10)
        return text
      }
      const calls: Array<Promise<bigint>> = []
      const wanted: bigint[] = []
      for (let i = 0; i < 2000; i++) {
        const delta = BigInt(digits()) * ((seed % 2) === 0 ? 1n : -1n)
        expected += delta
        wanted.push(expected)
        calls.push(store!.adjustBalance('sum', delta))
      }
      expect(await Promise.all(calls)).to.deep.equal(wanted)
    })

    it('compares with the limits exactly: a maximum one unit above 2^53 allows it, one below refuses it', async () => {
      const [store] = await opened3()
      const limit = 9007199254740993n
      expect(await store!.adjustBalance('x', limit, undefined, limit)).to.equal(limit)
      const err = await rejectionOf(store!.adjustBalance('y', limit, undefined, limit - 1n))
      expect(err).to.deep.include({ name: 'BalanceRangeError', balance: 0n, proposed: limit, limit: 'maximum' })
      const low = await rejectionOf(store!.adjustBalance('z', -limit, -limit + 1n))
      expect(low).to.deep.include({ balance: 0n, proposed: -limit, limit: 'minimum' })
      expect([await store!.getBalance('y'), await store!.getBalance('z')]).to.deep.equal([0n, 0n])
    })

    it('reserve counts at once; commit keeps it, release gives it back', async () => {
      const [store] = await opened3()
      expect(await store!.reserveBalance('a', 100n, undefined, 1000n)).to.equal(100n)
      expect(await store!.reserveBalance('a', 50n, undefined, 1000n)).to.equal(150n)
      expect(await store!.commitBalance('a', 100n)).to.equal(150n)
      expect(await store!.releaseBalance('a', 50n)).to.equal(100n)
      expect(await store!.getBalance('a')).to.equal(100n)
      expect(await store!.reserveBalance('a', -30n, -1000n)).to.equal(70n)
      expect(await store!.releaseBalance('a', -30n)).to.equal(100n)
    })

    it('sends the changes of one tick by 32, the first ones before the tick ends (Redis starts while conn goes on)', async () => {
      const [store] = await opened3()
      const client = (store as unknown as { redis: { balanceBatch: (prefix: string, changes: string) => Promise<string> } }).redis
      const original = client.balanceBatch.bind(client)
      const sizes: number[] = []
      client.balanceBatch = async (prefix, changes) => {
        sizes.push(changes.split(' ').length / BATCH_FIELDS)
        return await original(prefix, changes)
      }
      const changes = Array.from({ length: 100 }, async () => await store!.reserveBalance('a', 1n, undefined, 1000n))
      expect(sizes, 'sent within the tick').to.deep.equal([32, 32, 32])
      const balances = await Promise.all(changes)
      expect(sizes).to.deep.equal([32, 32, 32, 4])
      expect(balances).to.deep.equal(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)))
    })

    it('three instances on one prefix, 300 concurrent reservations of 1 against a maximum of 150: exactly 150 granted', async () => {
      const stores = await opened3()
      const results = await Promise.allSettled(Array.from({ length: 300 }, async (_, i) =>
        await stores[i % 3]!.reserveBalance('shared', 1n, undefined, 150n)))
      const granted = results.filter((r) => r.status === 'fulfilled').length
      const refused = results.filter((r) => r.status === 'rejected' && isBalanceRangeError(r.reason)).length
      expect([granted, refused]).to.deep.equal([150, 150])
      expect(await stores[1]!.getBalance('shared')).to.equal(150n)
    })

    it('claimSettlement: below the threshold and no record, it writes the record with settleTo - balance; otherwise nothing', async () => {
      const [store] = await opened3()
      const claim = { key: 'settlement:bob', before: '{"amount":"', after: '","state":"sending"}' }
      expect(await store!.claimSettlement('balance:bob', -1000n, 0n, claim)).to.equal(undefined)
      await store!.adjustBalance('balance:bob', -1000n)
      expect(await store!.claimSettlement('balance:bob', -1000n, 0n, claim), 'at the threshold').to.equal(undefined)
      const big = -(2n ** 64n) - 7n
      await store!.adjustBalance('balance:bob', big)
      expect(await store!.claimSettlement('balance:bob', -1000n, 5n, claim)).to.equal(1005n - big)
      expect(await store!.get('settlement:bob')).to.equal(`{"amount":"${1005n - big}","state":"sending"}`)
      expect(await store!.claimSettlement('balance:bob', -1000n, 5n, claim), 'a record exists').to.equal(undefined)
      await store!.del('settlement:bob')
      expect(await store!.claimSettlement('balance:bob', -1000n, 5n, claim)).to.equal(1005n - big)
    })

    it('claimSettlement and getSettleableBalance leave out the debits of packets in flight of an account that settles, and count its credits', async () => {
      const [store, other] = await opened3()
      const claim = { key: 'settlement:bob', before: '', after: '' }
      const soon = Date.now() + 30_000
      await store!.adjustBalance('balance:bob', -700n)
      await store!.reserveBalance('balance:bob', -400n, -10_000n, undefined, { id: 'p:1', expiresAt: soon, settles: true })
      await other!.reserveBalance('balance:bob', -500n, -10_000n, undefined, { id: 'p:2', expiresAt: soon, settles: true })
      await store!.reserveBalance('balance:bob', 100n, undefined, 10_000n, { id: 'p:3', expiresAt: soon, settles: true })
      expect(await store!.getBalance('balance:bob'), 'every reservation counts against the limits').to.equal(-1500n)
      expect(await other!.getSettleableBalance('balance:bob')).to.equal(-600n)
      expect(await store!.claimSettlement('balance:bob', -1000n, 0n, claim), 'owed for sure: 700 - 100').to.equal(undefined)
      // p:1 rejected (twice: a retry), p:2 fulfilled (twice), p:3 rejected
      await store!.releaseBalance('balance:bob', -400n, { id: 'p:1', expiresAt: soon, settles: true })
      await store!.releaseBalance('balance:bob', -400n, { id: 'p:1', expiresAt: soon, settles: true })
      await other!.commitBalance('balance:bob', -500n, { id: 'p:2', expiresAt: soon, settles: true })
      await other!.commitBalance('balance:bob', -500n, { id: 'p:2', expiresAt: soon, settles: true })
      expect(await store!.getSettleableBalance('balance:bob')).to.equal(-1100n)
      await store!.releaseBalance('balance:bob', 100n, { id: 'p:3', expiresAt: soon, settles: true })
      expect(await store!.claimSettlement('balance:bob', -1000n, 0n, claim)).to.equal(1200n)
      expect(await admin.exists(store!.prefix + 'debits:balance:bob'), 'no debit left in flight: no key').to.equal(0)
      // a reservation of an account that does not settle is not kept apart (no command spent on it)
      await store!.reserveBalance('balance:carl', -30n, -100n, undefined, { id: 'q:1', expiresAt: soon })
      expect(await store!.getSettleableBalance('balance:carl')).to.equal(-30n)
      await store!.commitBalance('balance:carl', -30n, { id: 'q:1', expiresAt: soon })
      // through the sweep of a dead instance's reservation
      await store!.reserveBalance('balance:carl', -20n, -100n, undefined, { id: 'dead:1', expiresAt: Date.now() - 5000, settles: true })
      expect(await store!.getSettleableBalance('balance:carl')).to.equal(-30n)
      expect(await other!.sweep()).to.equal(1)
      expect([await store!.getBalance('balance:carl'), await store!.getSettleableBalance('balance:carl')]).to.deep.equal([-30n, -30n])
      expect(await admin.exists(store!.prefix + 'debits:balance:carl')).to.equal(0)
    })

    it('claimSettlement by three instances, 90 concurrent claims of one account: exactly one settlement decided', async () => {
      const stores = await opened3()
      await stores[0]!.adjustBalance('balance:bob', -5000n)
      const claim = { key: 'settlement:bob', before: '', after: '' }
      const decided = await Promise.all(Array.from({ length: 90 }, async (_, i) => await stores[i % 3]!.claimSettlement('balance:bob', -1000n, 0n, claim)))
      expect(decided.filter((amount) => amount !== undefined)).to.deep.equal([5000n])
    })

    it('takeTokens: a bucket starts full, takes between at-least and at-most, refuses below at-least; past 2^64', async () => {
      const [store] = await opened3()
      const take = store!.takeTokens!
      expect(await take('a', 3n, 4n, 10n, 1n, 99_999_999)).to.equal(4n)
      expect(await take('a', 7n, 7n, 10n, 1n, 99_999_999), 'only 6 left').to.equal(0n)
      expect(await take('a', 1n, 100n, 10n, 1n, 99_999_999)).to.equal(6n)
      const huge = 2n ** 70n + 3n
      expect(await take('b', huge - 1n, huge - 1n, huge, 1n, 99_999_999)).to.equal(huge - 1n)
      expect(await take('b', 2n, 2n, huge, 1n, 99_999_999)).to.equal(0n)
      expect(await take('b', 1n, 1n, huge, 1n, 99_999_999)).to.equal(1n)
    })

    it('takeTokens refills by Redis\'s clock at refillCount per refillPeriod, exactly, up to the capacity', async () => {
      const [store] = await opened3()
      const take = store!.takeTokens!
      // 2^64 per 100 ms: after >= 150 ms at least 1.5 x 2^64 came back (capacity 2^66).
      const capacity = 2n ** 66n
      expect(await take('r', capacity, capacity, capacity, 2n ** 64n, 100)).to.equal(capacity)
      await new Promise((resolve) => setTimeout(resolve, 150))
      const refilled = await take('r', 1n, capacity, capacity, 2n ** 64n, 100)
      expect(refilled >= 3n * 2n ** 63n && refilled < capacity).to.equal(true)
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(await take('r', 1n, capacity * 2n, capacity, 2n ** 64n, 100), 'never above the capacity').to.equal(capacity)
    })

    it('takeTokens by three instances, 300 concurrent takes of 1 from a bucket of 100: exactly 100 granted', async () => {
      const stores = await opened3()
      const granted = await Promise.all(Array.from({ length: 300 }, async (_, i) => await stores[i % 3]!.takeTokens!('shared', 1n, 1n, 100n, 1n, 99_999_999)))
      expect(granted.filter((n) => n === 1n).length).to.equal(100)
    })

    it('sharedLimits: false leaves the buckets to each instance (no takeTokens)', async () => {
      expect(storeOn(undefined, { sharedLimits: false }).takeTokens).to.equal(undefined)
      expect(() => new RedisStore({ sharedLimits: 'no' })).to.throw(/storeConfig.sharedLimits: expected true or false/)
    })

    it('refuses a balance key or reservation id with whitespace (the batch separates fields by spaces)', async () => {
      const [store] = await opened3()
      const refused = await rejectionOf(store!.adjustBalance('a b', 1n))
      expect((refused as Error).message).to.match(/without spaces/)
      expect(await store!.getBalance('a')).to.equal(0n)
    })

    it('close() sends the changes still waiting for their batch before it disconnects', async () => {
      const prefix = `conn-test:${randomUUID()}:`
      const first = storeOn(prefix)
      await first.open()
      const pending = Promise.all(Array.from({ length: 50 }, async () => await first.adjustBalance('late', 2n)))
      await first.close()
      await pending
      const second = storeOn(prefix)
      await second.open()
      expect(await second.getBalance('late')).to.equal(100n)
    })

    it('keeps prefixes apart', async () => {
      const a = storeOn()
      const b = storeOn()
      await a.open()
      await b.open()
      await a.adjustBalance('alice', 5n)
      await a.put('state', 'a')
      expect([await b.getBalance('alice'), await b.get('state')]).to.deep.equal([0n, undefined])
    })
  })

  describe('reservations with an id', () => {
    const soon = (): number => Date.now() + 30_000

    it('a commit or release given twice counts once (a retry after a lost reply)', async () => {
      const [store] = await opened3()
      const a = { id: 'i1:a', expiresAt: soon() }
      const b = { id: 'i1:b', expiresAt: soon() }
      await store!.reserveBalance('x', 100n, undefined, 1000n, a)
      await store!.reserveBalance('x', 50n, undefined, 1000n, b)
      expect(await store!.commitBalance('x', 100n, a)).to.equal(150n)
      expect(await store!.commitBalance('x', 100n, a)).to.equal(150n)
      expect(await store!.releaseBalance('x', 50n, b)).to.equal(100n)
      expect(await store!.releaseBalance('x', 50n, b)).to.equal(100n)
      expect(await store!.releaseBalance('x', 100n, a)).to.equal(100n)
      // A finished reservation leaves nothing behind (Redis's memory does not grow with the packets forwarded).
      expect(await admin.zcard(store!.prefix + 'reservations')).to.equal(0)
      expect(await admin.keys(store!.prefix + '*')).to.deep.equal([store!.prefix + 'x'])
    })

    it('another instance releases the reservations of one that died, once their packets expired; a late commit books the amount again', async () => {
      const [dying, living] = await opened3()
      const now = Date.now()
      await dying!.reserveBalance('alice', 700n, undefined, 1000n, { id: 'dead:1', expiresAt: now - 5000 })
      await dying!.reserveBalance('alice', 200n, undefined, 1000n, { id: 'dead:2', expiresAt: now + 60_000 })
      await dying!.reserveBalance('bob', -300n, -1000n, undefined, { id: 'dead:3', expiresAt: now - 5000 })
      await dying!.close()
      expect(await living!.sweep(now)).to.equal(2)
      expect(await living!.sweep(now)).to.equal(0)
      expect([await living!.getBalance('alice'), await living!.getBalance('bob')]).to.deep.equal([200n, 0n])
      // what is still reserved: the packet that has not expired yet
      expect(await admin.zrange(living!.prefix + 'reservations', 0, -1)).to.deep.equal(['dead:2 alice 200'])
      // dead:1 was fulfilled after all (its connector was only cut off from Redis): the amount counts again, once.
      expect(await living!.commitBalance('alice', 700n, { id: 'dead:1', expiresAt: now - 5000 })).to.equal(900n)
      expect(await living!.commitBalance('alice', 700n, { id: 'dead:1', expiresAt: now - 5000 })).to.equal(900n)
      expect(await living!.releaseBalance('bob', -300n, { id: 'dead:3', expiresAt: now - 5000 })).to.equal(0n)
    })

    it('releases an expired reservation an earlier version left (a bare id in the index, a hash of its own)', async () => {
      const [store] = await opened3()
      const p = store!.prefix
      await admin.set(p + 'balance:alice', '900')
      await admin.hset(p + 'reservation:old-1', 'state', 'reserved', 'delta', '400', 'balance', p + 'balance:alice', 'reserved', p + 'reserved:balance:alice')
      await admin.zadd(p + 'reservations', Date.now() - 5000, 'old-1')
      expect(await store!.sweep()).to.equal(1)
      expect(await store!.getBalance('balance:alice')).to.equal(500n)
      expect([await admin.exists(p + 'reservation:old-1'), await admin.zcard(p + 'reservations')]).to.deep.equal([0, 0])
    })

    it('sweeps by itself every sweepInterval', async () => {
      const prefix = `conn-test:${randomUUID()}:`
      const store = storeOn(prefix, { sweepInterval: 20 })
      await store.open()
      await store.reserveBalance('carl', 5n, undefined, 10n, { id: 'gone', expiresAt: Date.now() - 2000 })
      const deadline = Date.now() + 2000
      while (await store.getBalance('carl') !== 0n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(await store.getBalance('carl')).to.equal(0n)
    })
  })

  describe('configuration and start-up', () => {
    it('an unreachable Redis fails open() with ERR_STORE_UNREACHABLE naming the URL, without its password', async () => {
      const port = await unusedPort()
      const store = storeOn(undefined, { url: `redis://user:secret@127.0.0.1:${port}` })
      const started = Date.now()
      const err = await rejectionOf(store.open())
      expect(Date.now() - started).to.be.below(3000)
      expect(isOperatorError(err)).to.equal(true)
      expect(err).to.be.instanceOf(RedisStoreError).and.to.include({ code: 'ERR_STORE_UNREACHABLE' })
      expect(err.message).to.include(`redis://user:***@127.0.0.1:${port}`).and.not.include('secret')
    })

    it('refuses a URL that is not redis:// and options of the wrong type, naming the field', () => {
      expect(() => new RedisStore({ url: 'http://127.0.0.1:6379' })).to.throw(RedisStoreError, 'storeConfig.url: expected a redis:// or rediss:// URL')
      expect(() => new RedisStore({ prefix: 5 as unknown as string })).to.throw('storeConfig.prefix: expected a string')
      expect(() => new RedisStore({ connectTimeout: -1 })).to.throw('storeConfig.connectTimeout')
      expect(checkOption({ url: '', prefix: 1 }, manifest.options!, 'storeConfig').map((i) => i.path)).to.deep.equal(['storeConfig.url', 'storeConfig.prefix'])
    })

    it('warns about unknown options, and the manifest is the `redis` store', async () => {
      const logger = new RecordingLogger()
      const store = await manifest.create({ url: URL_, prefix: 'p:', colour: 'red' }, { logger })
      expect(store).to.be.instanceOf(RedisStore).and.to.include({ url: URL_, prefix: 'p:' })
      expect([manifest.kind, manifest.name]).to.deep.equal(['store', 'redis'])
      expect(logger.at('warn').map((r) => r.msg)).to.deep.equal(['storeConfig: colour is not an option of the redis store (ignored)'])
      expect(safeUrl('redis://:pw@h:1/2')).to.equal('redis://:***@h:1/2')
    })
  })
})

/** A port nothing listens on (bound, then closed). */
async function unusedPort (): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
