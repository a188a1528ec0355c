import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest from '../src/index.ts'

describe('storeConfig as the manifest declares it', () => {
  it('refuses a sync that is not a boolean and an empty path, and leaves unknown keys to the store\'s warning', () => {
    expect(checkOption({ sync: 'yes', path: '', extra: 1 }, manifest.options!, 'storeConfig')).to.deep.equal([
      { path: 'storeConfig.sync', message: 'expected true or false, got "yes"' },
      { path: 'storeConfig.path', message: 'expected a non-empty string' }
    ])
    expect(checkOption({ sync: true }, manifest.options!)).to.deep.equal([])
  })
})
