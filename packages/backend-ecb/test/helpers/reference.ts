/**
 * The reference connector's ECB rate, modelled with BigInt so the tests need no BigNumber: ilp-connector
 * v23 computes `new BigNumber(dstRate).shiftedBy(dstScale).div(new BigNumber(srcRate).shiftedBy(srcScale))
 * .times(new BigNumber(1).minus(spread)).toPrecision(15)` (bignumber.js 7: div rounds to 20 decimal places,
 * half up; toPrecision rounds half up) and returns it as a JS number; the route builder then delivers
 * floor(amount x rate), reading the number through its decimal form.
 */

export interface Decimal { digits: bigint, exponent: number } // digits x 10^exponent

export function decimal (text: string): Decimal {
  const [whole = '', fraction = ''] = text.split('.')
  return { digits: BigInt(whole + fraction), exponent: -fraction.length }
}

function pow10 (n: number): bigint { return 10n ** BigInt(n) }

/** numerator/denominator rounded half up to `places` decimal places. */
function roundPlaces (numerator: bigint, denominator: bigint, places: number): Decimal {
  const scaled = places >= 0 ? numerator * pow10(places) : numerator
  const divisor = places >= 0 ? denominator : denominator * pow10(-places)
  return { digits: (2n * scaled + divisor) / (2n * divisor), exponent: -places }
}

/** A positive decimal rounded half up to `significant` digits. */
function toPrecision (d: Decimal, significant: number): Decimal {
  const length = d.digits.toString().length
  if (length <= significant) return d
  const drop = length - significant
  return { digits: (2n * d.digits + pow10(drop)) / (2n * pow10(drop)), exponent: d.exponent + drop }
}

/** The reference's rate as the decimal its JS number prints (15 significant digits at most). */
export function referenceRate (srcRate: string, srcScale: number, dstRate: string, dstScale: number, spread: string): Decimal {
  const src = decimal(srcRate)
  const dst = decimal(dstRate)
  // dst x 10^dstScale / (src x 10^srcScale) as numerator/denominator of integers
  let numerator = dst.digits
  let denominator = src.digits
  const exponent = dst.exponent + dstScale - src.exponent - srcScale
  if (exponent >= 0) numerator *= pow10(exponent)
  else denominator *= pow10(-exponent)
  const quotient = roundPlaces(numerator, denominator, 20)
  const cut = decimal(spread) // BigNumber(1).minus(spread): exact
  const keep: Decimal = { digits: pow10(-cut.exponent) - cut.digits, exponent: cut.exponent }
  const times: Decimal = { digits: quotient.digits * keep.digits, exponent: quotient.exponent + keep.exponent }
  return toPrecision(times, 15)
}

/** floor(amount x rate) for a decimal rate. */
export function floorTimes (amount: bigint, rate: Decimal): bigint {
  return rate.exponent >= 0 ? amount * rate.digits * pow10(rate.exponent) : amount * rate.digits / pow10(-rate.exponent)
}
