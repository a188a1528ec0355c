/**
 * Exact amount conversion. A rate is a fraction numerator/denominator of BigInts; a backend's number is
 * read through its shortest decimal form (what `String(rate)` prints), which is exactly how the reference
 * connector's BigNumber reads it, so conn delivers the same amounts, without any floating-point step.
 */
import type { Rate } from '@conn/types'

export interface Fraction {
  readonly numerator: bigint
  readonly denominator: bigint
}

const ONE: Fraction = { numerator: 1n, denominator: 1n }

/** Parses a decimal number string (`12`, `0.998`, `1.5e-7`, `-2E+3`) into an exact fraction. */
export function decimalToFraction (text: string): Fraction {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim())
  if (match === null || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError('not a decimal number: ' + text)
  }
  const [, sign, whole = '', fraction = '', exponentText] = match
  const exponent = Number(exponentText ?? 0) - fraction.length
  let numerator = BigInt((whole + fraction) || '0')
  let denominator = 1n
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent)
  else denominator = 10n ** BigInt(-exponent)
  if (sign === '-') numerator = -numerator
  return reduce({ numerator, denominator })
}

function gcd (a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

export function reduce (f: Fraction): Fraction {
  const divisor = gcd(f.numerator, f.denominator)
  return divisor <= 1n ? f : { numerator: f.numerator / divisor, denominator: f.denominator / divisor }
}

export function multiply (a: Fraction, b: Fraction): Fraction {
  return reduce({ numerator: a.numerator * b.numerator, denominator: a.denominator * b.denominator })
}

const numberCache = new Map<number, Fraction>()

/** A backend rate as an exact fraction. Throws on rates that are not finite and non-negative. */
export function rateToFraction (rate: Rate): Fraction {
  if (typeof rate === 'number') {
    let cached = numberCache.get(rate)
    if (cached === undefined) {
      if (!Number.isFinite(rate) || rate < 0) throw new RangeError('invalid rate: ' + String(rate))
      cached = rate === 1 ? ONE : decimalToFraction(String(rate))
      if (numberCache.size > 10000) numberCache.clear()
      numberCache.set(rate, cached)
    }
    return cached
  }
  if (rate.denominator <= 0n || rate.numerator < 0n) throw new RangeError('invalid rate fraction')
  return rate
}

/** floor(amount x rate): never sends on more than the rate allows. */
export function convert (amount: bigint, rate: Fraction): bigint {
  return rate.denominator === 1n ? amount * rate.numerator : amount * rate.numerator / rate.denominator
}

/**
 * The rate of the built-in `one-to-one` backend as an exact fraction: (1 - spread) x 10^(dstScale - srcScale).
 * The spread is read through its decimal form, as a user wrote it.
 */
export function scaleRate (sourceScale: number, destinationScale: number, spread: number): Fraction {
  const keep = decimalToFraction(String(spread))
  const afterSpread = { numerator: keep.denominator - keep.numerator, denominator: keep.denominator }
  const shift = destinationScale - sourceScale
  const scale = shift >= 0
    ? { numerator: 10n ** BigInt(shift), denominator: 1n }
    : { numerator: 1n, denominator: 10n ** BigInt(-shift) }
  return multiply(afterSpread, scale)
}
