import { expect } from 'chai'
import { validateConfig } from '@conn/core'
import type { ConnectorConfig } from '@conn/types'
import { aliasedPackages, installName } from '../src/packages.ts'

function config (extra: Record<string, unknown>): ConnectorConfig {
  return validateConfig({ ilpAddress: 'test.x', accounts: {}, ...extra })
}

describe('packages', () => {
  it('names @conn/admin-api under adminApi when the admin API is on, and not when it is off', () => {
    expect(aliasedPackages(config({ adminApi: true }))).to.deep.include({ path: 'adminApi', packageName: '@conn/admin-api', label: 'the admin API: ' })
    expect(aliasedPackages(config({})).map((p) => p.path)).not.to.include('adminApi')
  })

  it('gives npm the package, not the subpath: @conn/plugin-btp/mini-accounts installs @conn/plugin-btp', () => {
    expect(installName('@conn/plugin-btp/mini-accounts')).to.equal('@conn/plugin-btp')
    expect(installName('@conn/store-level')).to.equal('@conn/store-level')
    expect(installName('ilp-plugin-foo/sub')).to.equal('ilp-plugin-foo')
    expect(installName('ilp-plugin-foo')).to.equal('ilp-plugin-foo')
  })
})
