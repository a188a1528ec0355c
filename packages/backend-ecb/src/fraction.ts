/**
 * Exact rates. The sources publish decimal strings ('1.0865'); reading them into BigInt fractions
 * (10865/10000) and combining them without any floating-point step gives the exact rate, where the
 * reference connector rounds it to 15 significant digits as a JS number.
 */

export interface Fraction {
  readonly numerator: bigint
  readonly denominator: bigint
}

export const ONE: Fraction = { numerator: 1n, denominator: 1n }

const DECIMAL = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * Parses a non-negative decimal (`12`, `1.0865`, `.5`, `1.5e-7`) into an exact, reduced fraction;
 * undefined for anything else (signs, `Infinity`, hex, empty). Exponents beyond +-400 are refused.
 */
export function parseDecimal (text: string): Fraction | undefined {
  const match = DECIMAL.exec(text.trim())
  if (match === null) return undefined
  const [, whole = '', fraction = '', exponentText] = match
  if (whole === '' && fraction === '') return undefined
  const exponent = Number(exponentText ?? 0) - fraction.length
  if (Math.abs(exponent) > 400) return undefined
  const digits = BigInt(whole + fraction)
  return exponent >= 0
    ? { numerator: digits * 10n ** BigInt(exponent), denominator: 1n }
    : reduce({ numerator: digits, denominator: 10n ** BigInt(-exponent) })
}

/**
 * A rate as the sources give it: a decimal string, or a JS number read through its shortest decimal
 * form (what `String(n)` prints, as the reference's BigNumber reads it). Undefined unless finite and > 0.
 */
export function parsePositive (value: unknown): Fraction | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined
  if (text === undefined) return undefined
  const fraction = parseDecimal(text)
  return fraction === undefined || fraction.numerator === 0n ? undefined : fraction
}

function gcd (a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

export function reduce (f: Fraction): Fraction {
  const divisor = gcd(f.numerator, f.denominator)
  return divisor <= 1n ? f : { numerator: f.numerator / divisor, denominator: f.denominator / divisor }
}

export function invert (f: Fraction): Fraction {
  return { numerator: f.denominator, denominator: f.numerator }
}

/** 10^shift as a fraction (shift may be negative). */
export function powerOfTen (shift: number): Fraction {
  return shift >= 0
    ? { numerator: 10n ** BigInt(shift), denominator: 1n }
    : { numerator: 1n, denominator: 10n ** BigInt(-shift) }
}

/** The product of the factors, reduced once at the end. */
export function product (...factors: Fraction[]): Fraction {
  let numerator = 1n
  let denominator = 1n
  for (const f of factors) {
    numerator *= f.numerator
    denominator *= f.denominator
  }
  return reduce({ numerator, denominator })
}

/** A fraction as a decimal string with at most `places` decimals (for logs and errors). */
export function formatFraction (f: Fraction, places = 10): string {
  const scale = 10n ** BigInt(places)
  const scaled = f.numerator * scale / f.denominator
  const whole = scaled / scale
  const decimals = (scaled % scale).toString().padStart(places, '0').replace(/0+$/, '')
  return decimals === '' ? whole.toString() : `${whole}.${decimals}`
}
