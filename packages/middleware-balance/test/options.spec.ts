import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest, { BALANCE_OPTION } from '../src/index.ts'

const check = (value: unknown): Array<{ path: string, message: string }> => checkOption(value, BALANCE_OPTION, 'accounts.a.balance')
const paths = (value: unknown): string[] => check(value).map((issue) => issue.path)

describe('balance option (accounts.<id>.balance)', () => {
  it('is declared in the manifest, with the balanceAdmin and settlementAdmin services, using alertAdmin', () => {
    expect(manifest.accountOptions).to.deep.equal({ balance: BALANCE_OPTION })
    expect(manifest.provides).to.deep.equal(['balanceAdmin', 'settlementAdmin'])
    expect(manifest.uses).to.deep.equal(['alertAdmin'])
  })

  it('rejects bad limits at their paths', () => {
    expect(check({ maximum: 'abc' })).to.deep.equal([
      { path: 'accounts.a.balance.maximum', message: 'expected an integer string, "Infinity" or "-Infinity", got "abc"' }
    ])
    expect(paths({ maximum: '18446744073709551616' })).to.deep.equal(['accounts.a.balance.maximum'])
    expect(paths({ maximum: '10', minimum: '-18446744073709551616' })).to.deep.equal(['accounts.a.balance.minimum'])
    expect(paths({ maximum: '01' })).to.deep.equal(['accounts.a.balance.maximum'])
    expect(paths({ maximum: '10', settleThreshold: 'Infinity' })).to.deep.equal(['accounts.a.balance.settleThreshold'])
    expect(paths({ maximum: '10', settleTo: '-Infinity' })).to.deep.equal(['accounts.a.balance.settleTo'])
    expect(check({ maximum: '10', maxmum: '1' })).to.deep.equal([{ path: 'accounts.a.balance.maxmum', message: 'unknown option' }])
    expect(paths('10')).to.deep.equal(['accounts.a.balance'])
  })

  it('accepts signed 64-bit limits and infinities', () => {
    expect(check({ minimum: '-18446744073709551615', maximum: '18446744073709551615', settleThreshold: '-Infinity', settleTo: '-5' })).to.deep.equal([])
    expect(check({ minimum: '-Infinity', maximum: 'Infinity' })).to.deep.equal([])
    expect(check({ minimum: '0', maximum: '0' })).to.deep.equal([])
  })

  it('requires maximum', () => {
    expect(check({ minimum: '-10' })).to.deep.equal([{ path: 'accounts.a.balance.maximum', message: 'required' }])
  })

  it('rejects a minimum greater than the maximum', () => {
    expect(check({ minimum: '100', maximum: '10' })).to.deep.equal([
      { path: 'accounts.a.balance.minimum', message: 'must not be greater than balance.maximum (100 > 10)' }
    ])
    expect(paths({ minimum: '0', maximum: '-Infinity' })).to.deep.equal(['accounts.a.balance.minimum'])
    expect(paths({ minimum: 'Infinity', maximum: '10' })).to.deep.equal(['accounts.a.balance.minimum'])
  })
})
