import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest from '../src/index.ts'

describe('backendConfig as the manifest declares it', () => {
  it('refuses known options of the wrong type at their path, and leaves unknown keys to the backend\'s warning', () => {
    expect(checkOption({ refreshInterval: -1, ratesApiUrl: 7, mockData: { base: 'EUR' }, colour: 'blue' }, manifest.options!, 'backendConfig')).to.deep.equal([
      { path: 'backendConfig.refreshInterval', message: 'expected an integer >= 0, got -1' },
      { path: 'backendConfig.ratesApiUrl', message: 'expected a string, got 7' },
      { path: 'backendConfig.mockData.rates', message: 'required' }
    ])
    expect(checkOption({ refreshInterval: 0, mockData: { rates: { USD: 1.1 } } }, manifest.options!)).to.deep.equal([])
  })
})
