import { expect } from 'chai'
import { TokenBucket } from '../src/index.ts'

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
