import { expect } from 'chai'
import { formatFraction, parseDecimal, parsePositive, product, powerOfTen } from '../src/fraction.ts'

describe('fraction', () => {
  it('parses decimals into reduced exact fractions', () => {
    expect(parseDecimal('1.0865')).to.deep.equal({ numerator: 2173n, denominator: 2000n })
    expect(parseDecimal('12')).to.deep.equal({ numerator: 12n, denominator: 1n })
    expect(parseDecimal('.5')).to.deep.equal({ numerator: 1n, denominator: 2n })
    expect(parseDecimal('1.5e-7')).to.deep.equal({ numerator: 3n, denominator: 20000000n })
    expect(parseDecimal('2E+3')).to.deep.equal({ numerator: 2000n, denominator: 1n })
    expect(parseDecimal(' 25.200 ')).to.deep.equal({ numerator: 126n, denominator: 5n })
  })

  it('refuses signs, non-numbers and huge exponents', () => {
    for (const text of ['-1', '+1', '', '.', 'Infinity', 'NaN', '0x10', '1,5', '1e999']) {
      expect(parseDecimal(text), text).to.equal(undefined)
    }
  })

  it('parsePositive reads numbers through their decimal form and refuses zero', () => {
    expect(parsePositive(0.1)).to.deep.equal({ numerator: 1n, denominator: 10n })
    expect(parsePositive(1e-7)).to.deep.equal({ numerator: 1n, denominator: 10000000n })
    expect(parsePositive('0')).to.equal(undefined)
    expect(parsePositive(null)).to.equal(undefined)
  })

  it('multiplies and reduces; formats for logs', () => {
    const rate = product({ numerator: 644n, denominator: 625n }, powerOfTen(-3), { numerator: 99n, denominator: 100n })
    expect(rate).to.deep.equal({ numerator: 15939n, denominator: 15625000n }) // 0.001020096
    expect(formatFraction(rate)).to.equal('0.001020096')
    expect(formatFraction({ numerator: 2n, denominator: 3n }, 4)).to.equal('0.6666')
  })
})
