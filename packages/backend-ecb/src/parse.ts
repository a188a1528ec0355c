/**
 * Reading what the rate sources answer. Every parser returns exact fractions (units of the currency per
 * 1 EUR) and throws a `FormatError` whose message says what was wrong, for the start-up error and logs.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { invert, parsePositive, type Fraction } from './fraction.ts'

export class FormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FormatError'
  }
}

export interface ParsedRates {
  /** The rates' date as the source gives it (ECB: `YYYY-MM-DD`), if it gives one. */
  date: string | undefined
  /** Units of each currency per 1 EUR. */
  rates: Map<string, Fraction>
  /** Entries that were there but unusable (a rate that is not a positive decimal), e.g. `XYZ="n/a"`. */
  skipped: string[]
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: false,
  isArray: (name) => name === 'Cube'
})

type XmlNode = Record<string, unknown>

/**
 * The ECB's eurofxref XML: `<Cube time="2025-01-10"><Cube currency="USD" rate="1.0304"/>...</Cube>`.
 * As the reference, every `Cube` with `currency` and `rate` counts, wherever it is. When the document holds
 * several days (the `-hist-90d` files), the newest day's rates are used.
 */
export function parseEcbXml (text: string): ParsedRates {
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    const { msg, line } = valid.err
    throw new FormatError(`not valid XML (line ${line}: ${msg})`)
  }
  const days = new Map<string | undefined, ParsedRates>()
  const visit = (node: unknown, date: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, date)
      return
    }
    if (node === null || typeof node !== 'object') return
    const element = node as XmlNode
    const time = element['@_time']
    if (typeof time === 'string') date = time
    const currency = element['@_currency']
    const rate = element['@_rate']
    if (typeof currency === 'string' && rate !== undefined) {
      let day = days.get(date)
      if (day === undefined) days.set(date, day = { date, rates: new Map(), skipped: [] })
      const fraction = parsePositive(rate)
      if (fraction === undefined) day.skipped.push(`${currency}=${JSON.stringify(rate)}`)
      else day.rates.set(currency, fraction)
    }
    for (const [key, child] of Object.entries(element)) {
      if (!key.startsWith('@_')) visit(child, date)
    }
  }
  visit(xmlParser.parse(text) as unknown, undefined)
  let newest: ParsedRates | undefined
  for (const day of days.values()) {
    if (day.rates.size === 0) continue
    if (newest === undefined || (day.date ?? '') > (newest.date ?? '')) newest = day
  }
  if (newest === undefined) {
    throw new FormatError('no rates in the document (expected the ECB eurofxref XML: <Cube currency="USD" rate="1.0304"/> elements)')
  }
  return newest
}

/**
 * The XRP source: `{"rate": "<decimal>"}`, XRP per 1 EUR (the shape of the Ripple Data API's
 * exchange_rates answer, which the reference read). Rounded to 5 decimals as the reference does
 * (`Number(rate).toFixed(5)`), then exact.
 */
export function parseXrpJson (body: unknown): Fraction {
  const rate = body !== null && typeof body === 'object' ? (body as { rate?: unknown }).rate : undefined
  const number = typeof rate === 'string' || typeof rate === 'number' ? Number(rate) : NaN
  const fraction = Number.isFinite(number) ? parsePositive(number.toFixed(5)) : undefined
  if (fraction === undefined) {
    throw new FormatError(`expected {"rate": "<positive decimal>"} (XRP per 1 EUR), got ${preview(body)}`)
  }
  return fraction
}

/**
 * The retired CoinMarketCap v1 ticker (`/v1/ticker/?convert=EUR`): an array of `{symbol, price_eur}`,
 * the price of one coin in EUR as a decimal string (or number). Units per 1 EUR = 1 / price_eur, exact.
 * The first entry of a symbol wins (the ticker is sorted by rank).
 */
export function parseCoinMarketCapJson (body: unknown): ParsedRates {
  if (!Array.isArray(body)) {
    throw new FormatError(`expected the CoinMarketCap v1 ticker format, an array of {"symbol", "price_eur"}, got ${preview(body)}`)
  }
  const rates = new Map<string, Fraction>()
  const skipped: string[] = []
  for (const entry of body as unknown[]) {
    const { symbol, price_eur: price } = (entry ?? {}) as { symbol?: unknown, price_eur?: unknown }
    if (typeof symbol !== 'string' || symbol === '') continue
    const fraction = parsePositive(price)
    if (fraction === undefined) skipped.push(`${symbol}=${JSON.stringify(price) ?? 'undefined'}`)
    else if (!rates.has(symbol)) rates.set(symbol, invert(fraction))
  }
  if (rates.size === 0) {
    throw new FormatError(`no usable {"symbol", "price_eur"} entries in the CoinMarketCap v1 ticker array (${body.length} entries)`)
  }
  return { date: undefined, rates, skipped }
}

function preview (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? text.slice(0, 77) + '...' : text
}
