import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest, { DEDUPLICATE_OPTION } from '../src/index.ts'

describe('deduplicate option (accounts.<id>.deduplicate)', () => {
  it('is declared in the manifest', () => {
    expect(manifest.accountOptions).to.deep.equal({ deduplicate: DEDUPLICATE_OPTION })
  })

  it('rejects intervals below 1 ms and values that are not integers', () => {
    expect(checkOption({ cleanupInterval: 0, packetLifetime: '1' }, DEDUPLICATE_OPTION, 'accounts.a.deduplicate')).to.deep.equal([
      { path: 'accounts.a.deduplicate.cleanupInterval', message: 'expected an integer >= 1, got 0' },
      { path: 'accounts.a.deduplicate.packetLifetime', message: 'expected an integer >= 1, got "1"' }
    ])
    expect(checkOption({ cleanupInterval: 1, packetLifetime: 1 }, DEDUPLICATE_OPTION)).to.deep.equal([])
  })
})
