import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest, { THROUGHPUT_OPTION } from '../src/index.ts'

describe('throughput option (accounts.<id>.throughput)', () => {
  it('is declared in the manifest', () => {
    expect(manifest.accountOptions).to.deep.equal({ throughput: THROUGHPUT_OPTION })
  })

  it('rejects a refillPeriod below 100 and amounts that are not positive integer strings', () => {
    expect(checkOption({ refillPeriod: 99, incomingAmount: '0', outgoingAmount: '1.5' }, THROUGHPUT_OPTION, 'accounts.a.throughput')).to.deep.equal([
      { path: 'accounts.a.throughput.refillPeriod', message: 'expected an integer >= 100, got 99' },
      { path: 'accounts.a.throughput.incomingAmount', message: 'expected a positive integer string, got "0"' },
      { path: 'accounts.a.throughput.outgoingAmount', message: 'expected a positive integer string, got "1.5"' }
    ])
    expect(checkOption({ refillPeriod: 100, incomingAmount: '1000', outgoingAmount: '2000' }, THROUGHPUT_OPTION)).to.deep.equal([])
  })
})
