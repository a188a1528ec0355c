import { expect } from 'chai'
import { LeasedTokenBucket, TokenBucket, type TokenStore } from '../src/index.ts'

describe('TokenBucket', () => {
  it('starts full and refuses a take larger than what it holds, taking nothing', () => {
    const bucket = new TokenBucket(10n, 10n, 1000, 0)
    expect(bucket.take(7n, 0)).to.equal(true)
    expect(bucket.take(4n, 0)).to.equal(false)
    expect(bucket.available(0)).to.equal(3n)
  })

  it('refills continuously at refillCount per refillPeriod, never above capacity', () => {
    const bucket = new TokenBucket(100n, 10n, 1000, 0)
    expect(bucket.take(100n, 0)).to.equal(true)
    expect(bucket.available(250)).to.equal(2n) // 2.5 tokens -> 2, the half kept for later
    expect(bucket.available(300)).to.equal(3n)
    expect(bucket.available(1_000_000)).to.equal(100n)
  })

  it('keeps fractional refills between takes (1 token per 3 ms over many small steps)', () => {
    const bucket = new TokenBucket(1000n, 1n, 3, 0)
    bucket.take(1000n, 0)
    for (let t = 1; t <= 30; t++) bucket.available(t)
    expect(bucket.available(30)).to.equal(10n)
  })

  it('counts amounts beyond 2^53 exactly', () => {
    const big = 2n ** 63n
    const bucket = new TokenBucket(big, big, 1000, 0)
    expect(bucket.take(big - 1n, 0)).to.equal(true)
    expect(bucket.take(2n, 0)).to.equal(false)
    expect(bucket.take(1n, 0)).to.equal(true)
  })

  it('with capacity 0 never allows anything', () => {
    const bucket = new TokenBucket(0n, 10n, 1000, 0)
    expect(bucket.take(1n, 5000)).to.equal(false)
  })
})

describe('LeasedTokenBucket', () => {
  /** A TokenStore over one TokenBucket (as the redis store's script), counting its calls. */
  class OneBucketStore implements TokenStore {
    calls: Array<[bigint, bigint]> = []
    failing = false
    constructor (readonly bucket: TokenBucket) {}
    async takeTokens (_key: string, atLeast: bigint, atMost: bigint): Promise<bigint> {
      this.calls.push([atLeast, atMost])
      if (this.failing) throw new Error('store down')
      const have = this.bucket.available()
      if (have < atLeast) return 0n
      const taken = have < atMost ? have : atMost
      this.bucket.take(taken)
      return taken
    }
  }

  it('leases 1/50 of the capacity at a time and serves packets from the lease without the store', async () => {
    const store = new OneBucketStore(new TokenBucket(1000n, 1n, 1_000_000))
    const leased = new LeasedTokenBucket(store, 'k', 1000n, 1n, 1_000_000)
    expect(await leased.take(1n)).to.equal(true)
    expect(store.calls).to.deep.equal([[1n, 21n]])
    for (let i = 0; i < 20; i++) expect(leased.take(1n)).to.equal(true)
    expect(store.calls.length).to.equal(1)
    expect(leased.take(1n)).to.be.instanceOf(Promise)
  })

  it('never gets more than the shared bucket holds, however many instances lease from it', async () => {
    const store = new OneBucketStore(new TokenBucket(100n, 1n, 1_000_000))
    const instances = [0, 1, 2].map(() => new LeasedTokenBucket(store, 'k', 100n, 1n, 1_000_000))
    let granted = 0
    for (let i = 0; i < 300; i++) if (await instances[i % 3]!.take(1n)) granted++
    expect(granted).to.equal(100)
  })

  it('coalesces the takes that wait for a lease into one request', async () => {
    const store = new OneBucketStore(new TokenBucket(5000n, 1n, 1_000_000))
    const leased = new LeasedTokenBucket(store, 'k', 5000n, 1n, 1_000_000)
    const results = await Promise.all(Array.from({ length: 50 }, async () => await leased.take(1n)))
    expect(results.every((r) => r)).to.equal(true)
    expect(store.calls.length).to.equal(1)
  })

  it('drops a lease after 1/20 of the refill period (its unused tokens are not handed on)', async () => {
    const store = new OneBucketStore(new TokenBucket(1000n, 1n, 1_000_000))
    // a 10 s lease: the assertions made "now" cannot outlast it on a busy machine
    const leased = new LeasedTokenBucket(store, 'k', 1000n, 1n, 200_000)
    expect(await leased.take(1n)).to.equal(true)
    expect(leased.available()).to.equal(20n)
    expect(leased.available(Date.now() + 10_000)).to.equal(0n)
    expect(await leased.take(1n, Date.now() + 10_000)).to.equal(true)
    expect(store.calls.length).to.equal(2)
    expect(store.bucket.available()).to.equal(1000n - 42n)
  })

  it('refuses a take above the capacity without asking, and rejects when the store fails', async () => {
    const store = new OneBucketStore(new TokenBucket(10n, 1n, 1000))
    const leased = new LeasedTokenBucket(store, 'k', 10n, 1n, 1000)
    expect(leased.take(11n)).to.equal(false)
    expect(store.calls.length).to.equal(0)
    store.failing = true
    let failure: unknown
    await (leased.take(1n) as Promise<boolean>).catch((err: unknown) => { failure = err })
    expect((failure as Error).message).to.equal('store down')
    store.failing = false
    expect(await leased.take(10n)).to.equal(true)
  })
})
