/**
 * The `ecb`, `ecb-plus-xrp` and `ecb-plus-coinmarketcap` rate backends.
 *
 * Rates live in memory: `getRate` never waits for the network. They are loaded at `connect()` (a failure
 * there is a start-up error naming the URL and the reason, not a crash later) and reloaded every
 * `refreshInterval` in the background; a failed reload keeps the last good rates of that source and warns
 * once per run of failures. Rates are exact fractions computed from the decimal strings the sources publish
 * (the reference rounds them to 15 significant digits as a JS number).
 */
import { BadRequestError, OperatorError, type Account, type Backend, type BackendApi, type BackendOptions, type Logger } from '@conn/types'
import { ONE, formatFraction, invert, parseDecimal, parsePositive, powerOfTen, product, type Fraction } from './fraction.ts'
import { FormatError, parseCoinMarketCapJson, parseEcbXml, parseXrpJson, type ParsedRates } from './parse.ts'

export const DEFAULT_RATES_API_URL = 'https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml'
/** The reference's XRP source, the Ripple Data API; shut down, so it no longer answers. */
export const DEFAULT_XRP_RATE_URL = 'https://data.ripple.com/v2/exchange_rates/EUR+rhub8VRN55s94qWKDv6jmDy1pUykJzF3wq/XRP'
/** The CoinMarketCap v1 ticker the older reference used; retired, so it no longer answers. */
export const DEFAULT_COINMARKETCAP_URL = 'https://api.coinmarketcap.com/v1/ticker/?convert=EUR&limit=100'
export const DEFAULT_REFRESH_INTERVAL = 3_600_000
export const DEFAULT_REQUEST_TIMEOUT = 10_000

export type EcbVariant = 'ecb' | 'ecb-plus-xrp' | 'ecb-plus-coinmarketcap'
export const VARIANTS: readonly EcbVariant[] = ['ecb', 'ecb-plus-xrp', 'ecb-plus-coinmarketcap']
const PACKAGE_NAME = '@conn/backend-ecb'

export interface EcbOptions {
  /** Fraction taken off every rate (the connector's `spread`), default 0. */
  spread?: number
  /** The backend name the connector was configured with; picks the variant (default `ecb`). */
  name?: string
  ratesApiUrl?: string
  xrpRateUrl?: string
  coinmarketcapUrl?: string
  /** ms between reloads; 0: load once, as the reference. */
  refreshInterval?: number
  /** ms a request may take, answer included. */
  requestTimeout?: number
  /** Rates to use instead of the ECB's, as the reference: units per 1 `base` (default EUR). */
  mockData?: { base?: string, rates: Record<string, number | string> }
}

const KNOWN_OPTIONS = new Set(['spread', 'name', 'ratesApiUrl', 'xrpRateUrl', 'coinmarketcapUrl', 'refreshInterval', 'requestTimeout', 'mockData'])

export type EcbErrorCode = 'ERR_BACKEND_CONFIG' | 'ERR_RATES_UNAVAILABLE'

/** Operator-facing: bad backend options, or rates that could not be loaded at start-up. */
export class EcbBackendError extends OperatorError {
  declare readonly code: EcbErrorCode
  constructor (code: EcbErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

type SourceId = 'ecb' | 'xrp' | 'coinmarketcap'

/** One place rates come from, with the last rates it gave and how many loads in a row failed since. */
interface Source {
  readonly id: SourceId
  readonly url: string
  readonly load: (signal: AbortSignal) => Promise<ParsedRates>
  last: ParsedRates | undefined
  failures: number
}

interface Settings {
  variant: EcbVariant
  keep: Fraction
  ratesApiUrl: string
  xrpRateUrl: string
  coinmarketcapUrl: string
  refreshInterval: number
  requestTimeout: number
  mock: { base: string, rates: Map<string, Fraction> } | undefined
}

export class EcbBackend implements Backend {
  readonly variant: EcbVariant
  private readonly settings: Settings
  private readonly logger: Logger
  private readonly sources: Source[]
  private rates = new Map<string, Fraction>()
  /** Rates by source account, then destination account; replaced whenever the rates change. */
  private cache = new WeakMap<Account, WeakMap<Account, Fraction>>()
  private timer: NodeJS.Timeout | undefined
  private refreshing: Promise<void> | undefined
  private readonly abort = new AbortController()
  private state: 'new' | 'connecting' | 'connected' | 'stopped' = 'new'

  constructor (options: EcbOptions | BackendOptions, private readonly api: BackendApi) {
    this.settings = readOptions(options as Record<string, unknown>)
    this.variant = this.settings.variant
    this.logger = api.logger.child({ backend: this.variant })
    const ignored = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key))
    if (ignored.length > 0) {
      this.logger.warn({ options: ignored }, `backendConfig: ${ignored.join(', ')} ${ignored.length === 1 ? 'is not an option' : 'are not options'} of the ${this.variant} backend (ignored)`)
    }
    this.sources = this.makeSources()
  }

  /** Loads every source; throws EcbBackendError ERR_RATES_UNAVAILABLE naming the URL and reason if one fails. */
  async connect (): Promise<void> {
    if (this.state !== 'new') return
    this.state = 'connecting'
    const results = await Promise.allSettled(this.sources.map(async (source) => await source.load(this.abort.signal)))
    for (const [i, result] of results.entries()) {
      const source = this.sources[i]!
      if (result.status === 'rejected') {
        this.state = 'stopped'
        throw new EcbBackendError('ERR_RATES_UNAVAILABLE',
          `${this.variant} backend: cannot load the exchange rates from ${source.url}: ${reasonOf(result.reason)}`, { cause: result.reason })
      }
    }
    for (const [i, result] of results.entries()) this.accept(this.sources[i]!, (result as PromiseFulfilledResult<ParsedRates>).value)
    this.rebuild()
    if (this.settings.mock !== undefined) {
      this.logger.info({ source: 'mockData', base: this.settings.mock.base, currencies: this.settings.mock.rates.size }, 'using the exchange rates of backendConfig.mockData')
    }
    this.state = 'connected'
    if (this.sources.length > 0 && this.settings.refreshInterval > 0) {
      this.timer = setInterval(() => { void this.refresh() }, this.settings.refreshInterval)
      this.timer.unref()
    }
  }

  async disconnect (): Promise<void> {
    this.state = 'stopped'
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.abort.abort()
    await this.refreshing
  }

  /**
   * Reloads every network source now (the timer calls this); resolves when done, never rejects. A source
   * that fails keeps its last rates. A call while a reload is running waits for that one.
   */
  async refresh (): Promise<void> {
    if (this.state !== 'connected') return
    this.refreshing ??= this.reload()
      .catch((err: unknown) => { this.logger.error({ err }, 'exchange rate refresh failed unexpectedly') })
      .finally(() => { this.refreshing = undefined })
    await this.refreshing
  }

  /** Resolves once no reload is running. */
  async settled (): Promise<void> { await this.refreshing }

  /** The date of the ECB rates in use (`YYYY-MM-DD`), undefined with mockData or before connect. */
  get date (): string | undefined {
    return this.sources.find((source) => source.id === 'ecb')?.last?.date
  }

  /** The currencies with a rate, sorted. */
  get currencies (): string[] { return [...this.rates.keys()].sort() }

  /** Units of `currency` per 1 EUR (per 1 mockData base), exact; undefined if there is none. */
  rateOf (currency: string): Fraction | undefined { return this.rates.get(currency) }

  /**
   * (rate[dst] x 10^dstScale) / (rate[src] x 10^srcScale) x (1 - spread), exact and reduced, memoized per
   * pair of account objects until the rates change. Throws F00 errors with the reference's messages.
   */
  getRate (sourceAccount: string, destinationAccount: string): Fraction {
    const source = this.api.getInfo(sourceAccount)
    if (source === undefined) throw new BadRequestError('unable to fetch account info for source account. accountId=' + sourceAccount)
    const destination = this.api.getInfo(destinationAccount)
    if (destination === undefined) throw new BadRequestError('unable to fetch account info for destination account. accountId=' + destinationAccount)
    let bySource = this.cache.get(source)
    if (bySource === undefined) this.cache.set(source, bySource = new WeakMap())
    let rate = bySource.get(destination)
    if (rate === undefined) bySource.set(destination, rate = this.compute(source, destination))
    return rate
  }

  private compute (source: Account, destination: Account): Fraction {
    const sourceRate = this.rates.get(source.assetCode)
    if (sourceRate === undefined) throw new BadRequestError('no rate available. currency=' + source.assetCode)
    const destinationRate = this.rates.get(destination.assetCode)
    if (destinationRate === undefined) throw new BadRequestError('no rate available. currency=' + destination.assetCode)
    return product(destinationRate, invert(sourceRate), powerOfTen(destination.assetScale - source.assetScale), this.settings.keep)
  }

  // ---- loading ------------------------------------------------------------------------------------

  private makeSources (): Source[] {
    const s = this.settings
    const sources: Source[] = []
    const add = (id: SourceId, url: string, parse: (response: Response) => Promise<ParsedRates>): void => {
      sources.push({ id, url, load: async (signal) => await this.get(url, signal, parse), last: undefined, failures: 0 })
    }
    if (s.mock === undefined) add('ecb', s.ratesApiUrl, async (response) => parseEcbXml(await response.text()))
    if (s.variant === 'ecb-plus-xrp' && s.mock?.rates.has('XRP') !== true) {
      add('xrp', s.xrpRateUrl, async (response) => ({ date: undefined, rates: new Map([['XRP', parseXrpJson(await readJson(response))]]), skipped: [] }))
    }
    if (s.variant === 'ecb-plus-coinmarketcap') {
      add('coinmarketcap', s.coinmarketcapUrl, async (response) => parseCoinMarketCapJson(await readJson(response)))
    }
    return sources
  }

  /** GET with the request timeout (answer included); any failure is an Error saying why in one line. */
  private async get (url: string, stop: AbortSignal, parse: (response: Response) => Promise<ParsedRates>): Promise<ParsedRates> {
    const timeout = this.settings.requestTimeout
    const signal = AbortSignal.any([stop, AbortSignal.timeout(timeout)])
    try {
      const response = await fetch(url, { signal, headers: { 'user-agent': PACKAGE_NAME } })
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {})
        throw new FormatError(`unexpected HTTP status ${response.status}${response.statusText === '' ? '' : ' ' + response.statusText}`)
      }
      return await parse(response)
    } catch (err) {
      if (err instanceof FormatError) throw err
      const name = (err as Error).name
      if (name === 'TimeoutError') throw new Error(`no complete answer within ${timeout} ms (requestTimeout)`, { cause: err })
      if (name === 'AbortError' && stop.aborted) throw new Error('cancelled: the backend was disconnected', { cause: err })
      throw err
    }
  }

  private async reload (): Promise<void> {
    const results = await Promise.allSettled(this.sources.map(async (source) => await source.load(this.abort.signal)))
    if (this.state !== 'connected') return
    let changed = false
    for (const [i, result] of results.entries()) {
      const source = this.sources[i]!
      if (result.status === 'fulfilled') {
        if (source.failures > 0) this.logger.info({ source: source.id, url: source.url, failures: source.failures }, 'exchange rate source answers again')
        this.accept(source, result.value)
        changed = true
        continue
      }
      source.failures++
      const fields = { source: source.id, url: source.url, reason: reasonOf(result.reason), failures: source.failures, ratesFrom: source.last?.date }
      if (source.failures === 1) {
        this.logger.warn(fields, `exchange rate refresh failed; keeping the last rates of ${source.id} (repeated failures at debug until it answers again)`)
      } else {
        this.logger.debug(fields, 'exchange rate refresh failed again')
      }
    }
    if (changed) this.rebuild()
  }

  private accept (source: Source, loaded: ParsedRates): void {
    source.last = loaded
    source.failures = 0
    const fields: Record<string, unknown> = { source: source.id, url: source.url, currencies: loaded.rates.size }
    if (loaded.date !== undefined) fields.date = loaded.date
    if (loaded.skipped.length > 0) fields.skipped = loaded.skipped
    const xrp = loaded.rates.get('XRP')
    if (source.id === 'xrp' && xrp !== undefined) fields.rate = formatFraction(xrp, 5)
    this.logger.info(fields, 'exchange rates loaded')
  }

  /** The table getRate reads: base (ECB or mockData) with base = 1, then XRP, then coins not already there. */
  private rebuild (): void {
    const rates = new Map<string, Fraction>()
    const mock = this.settings.mock
    const ecb = this.sources.find((source) => source.id === 'ecb')?.last
    for (const [code, rate] of mock?.rates ?? ecb?.rates ?? []) rates.set(code, rate)
    rates.set(mock?.base ?? 'EUR', ONE)
    for (const source of this.sources) {
      if (source.id === 'ecb' || source.last === undefined) continue
      for (const [code, rate] of source.last.rates) if (!rates.has(code)) rates.set(code, rate)
    }
    this.rates = rates
    this.cache = new WeakMap()
  }
}

// ---- options ----------------------------------------------------------------------------------------

function configError (path: string, message: string): EcbBackendError {
  return new EcbBackendError('ERR_BACKEND_CONFIG', `${path}: ${message}`)
}

function variantOf (name: unknown): EcbVariant {
  if (name === undefined || name === PACKAGE_NAME) return 'ecb'
  if (typeof name === 'string' && (VARIANTS as readonly string[]).includes(name)) return name as EcbVariant
  throw configError('backend', `${PACKAGE_NAME} provides ${VARIANTS.join(', ')}, got ${JSON.stringify(name)}`)
}

function url (options: Record<string, unknown>, key: string, fallback: string): string {
  const value = options[key]
  if (value === undefined) return fallback
  let parsed: URL | undefined
  try { parsed = typeof value === 'string' ? new URL(value) : undefined } catch {}
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw configError(`backendConfig.${key}`, `expected an http(s) URL, got ${JSON.stringify(value)}`)
  }
  return value as string
}

function integer (options: Record<string, unknown>, key: string, fallback: number, minimum: number, note: string): number {
  const value = options[key]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (value < minimum && !(key === 'refreshInterval' && value === 0))) {
    throw configError(`backendConfig.${key}`, `expected ${note}, got ${JSON.stringify(value)}`)
  }
  return value
}

function readOptions (options: Record<string, unknown>): Settings {
  const spread = options.spread ?? 0
  if (typeof spread !== 'number' || !(spread >= 0 && spread < 1)) {
    throw configError('spread', `expected a fraction 0 <= spread < 1, got ${JSON.stringify(spread)}`)
  }
  const spreadFraction = parseDecimal(String(spread))!
  return {
    variant: variantOf(options.name),
    keep: { numerator: spreadFraction.denominator - spreadFraction.numerator, denominator: spreadFraction.denominator },
    ratesApiUrl: url(options, 'ratesApiUrl', DEFAULT_RATES_API_URL),
    xrpRateUrl: url(options, 'xrpRateUrl', DEFAULT_XRP_RATE_URL),
    coinmarketcapUrl: url(options, 'coinmarketcapUrl', DEFAULT_COINMARKETCAP_URL),
    refreshInterval: integer(options, 'refreshInterval', DEFAULT_REFRESH_INTERVAL, 1000, 'ms, an integer >= 1000 (or 0: never refresh)'),
    requestTimeout: integer(options, 'requestTimeout', DEFAULT_REQUEST_TIMEOUT, 1, 'ms, an integer >= 1'),
    mock: readMockData(options.mockData)
  }
}

function readMockData (value: unknown): Settings['mock'] {
  if (value === undefined || value === null) return undefined
  const { base = 'EUR', rates } = value as { base?: unknown, rates?: unknown }
  if (typeof value !== 'object' || rates === null || typeof rates !== 'object' || Array.isArray(rates)) {
    throw configError('backendConfig.mockData', 'expected { "base": "EUR", "rates": { "<currency>": <units per base>, ... } }')
  }
  if (typeof base !== 'string' || base === '') throw configError('backendConfig.mockData.base', `expected a currency code, got ${JSON.stringify(base)}`)
  const parsed = new Map<string, Fraction>()
  for (const [code, rate] of Object.entries(rates)) {
    const fraction = parsePositive(rate)
    if (fraction === undefined) throw configError(`backendConfig.mockData.rates.${code}`, `expected a positive decimal, got ${JSON.stringify(rate)}`)
    parsed.set(code, fraction)
  }
  return { base, rates: parsed }
}

// ---- helpers ----------------------------------------------------------------------------------------

async function readJson (response: Response): Promise<unknown> {
  const text = await response.text()
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new FormatError(`not valid JSON: ${text.length > 60 ? text.slice(0, 57) + '...' : text}`)
  }
}

/** One line saying why a load failed: the HTTP status, the format problem, or the network error's cause. */
function reasonOf (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause as (Error & { code?: string }) | undefined
  // undici's fetch fails with TypeError('fetch failed') and the socket error as its cause.
  if (err.message === 'fetch failed' && cause instanceof Error) {
    return cause.message !== '' ? cause.message : (cause.code ?? cause.name)
  }
  return err.message
}
