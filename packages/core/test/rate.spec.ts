import { expect } from 'chai'
import { BigNumber } from 'bignumber.js'
import { convert, decimalToFraction, multiply, rateToFraction, reduce, scaleRate } from '../src/rate.ts'

const MAX_UINT64 = 2n ** 64n - 1n

/**
 * What the reference connector delivers through its one-to-one backend: the rate is a JS number rounded to
 * 15 significant digits, and the route builder multiplies with BigNumber (which reads the number through
 * its shortest decimal form) and floors.
 */
function referenceAmount (amount: bigint, sourceScale: number, destinationScale: number, spread: number): bigint {
  const rate = Number(((1 - spread) * 10 ** (destinationScale - sourceScale)).toPrecision(15))
  const exact = new BigNumber(amount.toString()).times(new BigNumber(rate)).integerValue(BigNumber.ROUND_FLOOR)
  return BigInt(exact.toFixed(0))
}

describe('rate', () => {
  describe('decimalToFraction', () => {
    it('reads "0.998" as 499/500', () => {
      expect(decimalToFraction('0.998')).to.deep.equal({ numerator: 499n, denominator: 500n })
    })

    it('reads "1e-7" as 1/10000000', () => {
      expect(decimalToFraction('1e-7')).to.deep.equal({ numerator: 1n, denominator: 10000000n })
    })

    it('reads "1.5E+3" as 1500/1', () => {
      expect(decimalToFraction('1.5E+3')).to.deep.equal({ numerator: 1500n, denominator: 1n })
    })

    it('reads "12" as 12/1', () => {
      expect(decimalToFraction('12')).to.deep.equal({ numerator: 12n, denominator: 1n })
    })

    it('reads a negative number with an exponent and a fraction without a leading digit', () => {
      expect(decimalToFraction('-2E+3')).to.deep.equal({ numerator: -2000n, denominator: 1n })
      expect(decimalToFraction('.5')).to.deep.equal({ numerator: 1n, denominator: 2n })
      expect(decimalToFraction('5.')).to.deep.equal({ numerator: 5n, denominator: 1n })
      expect(decimalToFraction('0')).to.deep.equal({ numerator: 0n, denominator: 1n })
    })

    it('reads String() of small and large numbers exactly', () => {
      expect(decimalToFraction(String(9.98e-10))).to.deep.equal({ numerator: 499n, denominator: 500000000000n })
      expect(decimalToFraction(String(1.2345e21))).to.deep.equal({ numerator: 1234500000000000000000n, denominator: 1n })
    })

    it('throws a RangeError on text that is not a decimal number', () => {
      for (const text of ['', '.', 'abc', '1.2.3', '1e', 'e5', '0x10', '1,5']) {
        expect(() => decimalToFraction(text), text).to.throw(RangeError, 'not a decimal number: ' + text)
      }
    })
  })

  describe('reduce and multiply', () => {
    it('reduces a fraction to lowest terms', () => {
      expect(reduce({ numerator: 10n, denominator: 4n })).to.deep.equal({ numerator: 5n, denominator: 2n })
      expect(reduce({ numerator: -10n, denominator: 4n })).to.deep.equal({ numerator: -5n, denominator: 2n })
    })

    it('multiplies two fractions exactly', () => {
      expect(multiply({ numerator: 2n, denominator: 3n }, { numerator: 9n, denominator: 4n })).to.deep.equal({ numerator: 3n, denominator: 2n })
    })
  })

  describe('rateToFraction', () => {
    it('turns a number rate into its exact decimal fraction', () => {
      expect(rateToFraction(0.998)).to.deep.equal({ numerator: 499n, denominator: 500n })
      expect(rateToFraction(1)).to.deep.equal({ numerator: 1n, denominator: 1n })
      expect(rateToFraction(0)).to.deep.equal({ numerator: 0n, denominator: 1n })
    })

    it('returns the cached fraction object for a number seen before', () => {
      const first = rateToFraction(0.000123)
      expect(rateToFraction(0.000123)).to.equal(first)
    })

    it('rejects NaN, infinities and negative numbers with a RangeError', () => {
      for (const rate of [NaN, Infinity, -Infinity, -0.5]) {
        expect(() => rateToFraction(rate), String(rate)).to.throw(RangeError, 'invalid rate: ' + String(rate))
      }
    })

    it('keeps rejecting an invalid number after it was tried once (it is not cached)', () => {
      expect(() => rateToFraction(-2)).to.throw(RangeError)
      expect(() => rateToFraction(-2)).to.throw(RangeError)
    })

    it('passes a valid fraction through and rejects a zero denominator or negative numerator', () => {
      const fraction = { numerator: 3n, denominator: 7n }
      expect(rateToFraction(fraction)).to.equal(fraction)
      expect(() => rateToFraction({ numerator: 1n, denominator: 0n })).to.throw(RangeError, 'invalid rate fraction')
      expect(() => rateToFraction({ numerator: -1n, denominator: 2n })).to.throw(RangeError, 'invalid rate fraction')
    })
  })

  describe('convert', () => {
    it('multiplies by an integer rate exactly', () => {
      expect(convert(123n, { numerator: 1000n, denominator: 1n })).to.equal(123000n)
    })

    it('floors the converted amount', () => {
      expect(convert(1000n, { numerator: 499n, denominator: 500n })).to.equal(998n)
      expect(convert(1n, { numerator: 499n, denominator: 500n })).to.equal(0n)
      expect(convert(999n, { numerator: 1n, denominator: 1000n })).to.equal(0n)
      expect(convert(1999n, { numerator: 1n, denominator: 1000n })).to.equal(1n)
    })

    it('converts a zero amount to zero', () => {
      expect(convert(0n, { numerator: 499n, denominator: 500n })).to.equal(0n)
    })

    it('never delivers more than amount x rate and never less than that minus one unit', () => {
      const rates = [rateToFraction(0.998), rateToFraction(1.2345e-7), { numerator: 7n, denominator: 3n }, scaleRate(9, 6, 0.002)]
      const amounts = [1n, 2n, 3n, 999n, 1000n, 1001n, 123456789n, 10n ** 18n + 7n, MAX_UINT64]
      for (const rate of rates) {
        for (const amount of amounts) {
          const out = convert(amount, rate)
          expect(out * rate.denominator <= amount * rate.numerator, `${amount} x ${rate.numerator}/${rate.denominator}`).to.equal(true)
          expect((out + 1n) * rate.denominator > amount * rate.numerator, `${amount} x ${rate.numerator}/${rate.denominator}`).to.equal(true)
        }
      }
    })

    it('delivers what the reference delivers (BigNumber amount x number rate, floored) for backend number rates', () => {
      const rates = [0.998, 1.0834, 0.92301, 1.2345678901234e-7, 156.78912, 0.000998, 998, 1e-9, 3.3333333333333335, 12]
      const amounts = [1n, 9n, 1000n, 123456789n, 10n ** 15n + 3n, 2n ** 63n + 5n, MAX_UINT64]
      for (const rate of rates) {
        for (const amount of amounts) {
          const reference = BigInt(new BigNumber(amount.toString()).times(rate).integerValue(BigNumber.ROUND_FLOOR).toFixed(0))
          expect(convert(amount, rateToFraction(rate)), `${amount} x ${rate}`).to.equal(reference)
        }
      }
    })

    it('converts a UInt64 amount without losing precision', () => {
      // 2^64-1 = 18446744073709551615; x 0.998 = 18409850585562132511.77...
      expect(convert(MAX_UINT64, rateToFraction(0.998))).to.equal(18409850585562132511n)
    })
  })

  describe('scaleRate', () => {
    it('is (1 - spread) x 10^(destination scale - source scale) as an exact fraction', () => {
      expect(scaleRate(9, 6, 0.002)).to.deep.equal({ numerator: 499n, denominator: 500000n })
      expect(scaleRate(6, 9, 0.002)).to.deep.equal({ numerator: 998n, denominator: 1n })
      expect(scaleRate(2, 2, 0)).to.deep.equal({ numerator: 1n, denominator: 1n })
    })

    const amounts = [
      0n, 1n, 7n, 999n, 1000n, 1001n, 1002n, 123456n, 999999999n, 1000000000n, 123456789012345n,
      2n ** 53n - 1n, 2n ** 53n + 1n, 10n ** 18n, 2n ** 63n, 2n ** 64n - 1000n, MAX_UINT64
    ]
    const cases: Array<[number, number, number]> = [
      [9, 6, 0.002], [6, 9, 0.002], [2, 2, 0.002], [0, 9, 0.002], [9, 0, 0.002], [9, 7, 0.002],
      [6, 9, 0.01], [9, 6, 0.25], [9, 6, 0], [3, 3, 0.001]
    ]
    for (const [sourceScale, destinationScale, spread] of cases) {
      it(`delivers what the reference delivers from scale ${sourceScale} to ${destinationScale} with spread ${spread}, up to 2^64-1`, () => {
        const rate = scaleRate(sourceScale, destinationScale, spread)
        for (const amount of amounts) {
          expect(convert(amount, rate), String(amount)).to.equal(referenceAmount(amount, sourceScale, destinationScale, spread))
        }
      })
    }

    it('delivers 0.998 of the amount shifted by three digits for 9 -> 6 (1000 -> 0, 1003 -> 1, 2^64-1 -> 18409850585562132)', () => {
      const rate = scaleRate(9, 6, 0.002)
      expect(convert(1000n, rate)).to.equal(0n)
      expect(convert(1002n, rate)).to.equal(0n)
      expect(convert(1003n, rate)).to.equal(1n)
      expect(convert(MAX_UINT64, rate)).to.equal(18409850585562132n)
    })
  })
})
