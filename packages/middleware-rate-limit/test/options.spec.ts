import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest, { RATE_LIMIT_OPTION } from '../src/index.ts'

describe('rateLimit option (accounts.<id>.rateLimit)', () => {
  it('is declared in the manifest', () => {
    expect(manifest.accountOptions).to.deep.equal({ rateLimit: RATE_LIMIT_OPTION })
  })

  it('rejects bad settings and unknown keys at their paths', () => {
    expect(checkOption({ refillPeriod: 99, refillCount: 0, capacity: -1, burst: 1 }, RATE_LIMIT_OPTION, 'accounts.a.rateLimit').map((i) => i.path)).to.deep.equal([
      'accounts.a.rateLimit.refillPeriod',
      'accounts.a.rateLimit.refillCount',
      'accounts.a.rateLimit.capacity',
      'accounts.a.rateLimit.burst'
    ])
    expect(checkOption({ refillPeriod: 1000, refillCount: 1, capacity: 0 }, RATE_LIMIT_OPTION)).to.deep.equal([])
  })
})
