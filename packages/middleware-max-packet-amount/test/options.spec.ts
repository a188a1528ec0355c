import { expect } from 'chai'
import { checkOption } from '@conn/core'
import manifest, { MAX_PACKET_AMOUNT_OPTION } from '../src/index.ts'

const check = (value: unknown): Array<{ path: string, message: string }> => checkOption(value, MAX_PACKET_AMOUNT_OPTION, 'accounts.a.maxPacketAmount')

describe('maxPacketAmount option (accounts.<id>.maxPacketAmount)', () => {
  it('is declared in the manifest', () => {
    expect(manifest.accountOptions).to.deep.equal({ maxPacketAmount: MAX_PACKET_AMOUNT_OPTION })
  })

  it('rejects "0", "12x", a number, and an amount over 2^64-1; accepts 2^64-1', () => {
    expect(check('0')).to.deep.equal([{ path: 'accounts.a.maxPacketAmount', message: 'expected a positive integer string, got "0"' }])
    expect(check('12x')).to.deep.equal([{ path: 'accounts.a.maxPacketAmount', message: 'expected a positive integer string, got "12x"' }])
    expect(check(12)).to.deep.equal([{ path: 'accounts.a.maxPacketAmount', message: 'expected a string, got 12' }])
    expect(check('18446744073709551616')).to.deep.equal([
      { path: 'accounts.a.maxPacketAmount', message: 'expected a positive integer string within 64 bits, got "18446744073709551616"' }
    ])
    expect(check('18446744073709551615')).to.deep.equal([])
  })
})
