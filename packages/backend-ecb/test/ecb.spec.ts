import { TYPES_RANGE } from '@conn/types'
import { expect } from 'chai'
import sinon from 'sinon'
import type { Account, BackendApi } from '@conn/types'
import { RecordingLogger, fakeAccount, rejectionOf } from '@conn/testkit'
import manifest, { EcbBackend, EcbBackendError, type EcbOptions, type Fraction } from '../src/index.ts'
import { FixtureServer, closedPort, fixture } from './helpers/server.ts'
import { decimal, floorTimes, referenceRate } from './helpers/reference.ts'

const DAILY = '/stats/eurofxref/eurofxref-daily.xml'
const XRP = '/v2/exchange_rates/EUR/XRP'
const CMC = '/v1/ticker/?convert=EUR'
const XML = fixture('eurofxref-daily.xml')

/** The fixture's rates (units per EUR), read with a regular expression, independently of the parser. */
const FIXTURE_RATES: Record<string, string> = Object.fromEntries(
  [...XML.matchAll(/currency='(\w+)' rate='([\d.]+)'/g)].map((m) => [m[1]!, m[2]!]))

/** The daily fixture with one rate changed. */
function withRate (currency: string, rate: string): string {
  return XML.replace(new RegExp(`currency='${currency}' rate='[\\d.]+'`), `currency='${currency}' rate='${rate}'`)
}

/** a/b equals numerator/denominator (cross-multiplied, so the test needs no reduction). */
function sameRate (rate: Fraction, numerator: bigint, denominator: bigint): boolean {
  return rate.numerator * denominator === rate.denominator * numerator
}

function floorAmount (amount: bigint, rate: Fraction): bigint {
  return amount * rate.numerator / rate.denominator
}

let server: FixtureServer
let logger: RecordingLogger
let accounts: Map<string, Account>
let backends: EcbBackend[]

function api (): BackendApi {
  return { getInfo: (id) => accounts.get(id), logger }
}

function account (id: string, assetCode: string, assetScale: number): Account {
  const created = fakeAccount({ id, assetCode, assetScale })
  accounts.set(id, created)
  return created
}

function create (options: EcbOptions = {}): EcbBackend {
  const backend = new EcbBackend({ spread: 0, ratesApiUrl: server.url(DAILY), ...options }, api())
  backends.push(backend)
  return backend
}

async function connected (options: EcbOptions = {}): Promise<EcbBackend> {
  const backend = create(options)
  await backend.connect()
  return backend
}

function infos (): Array<{ msg: string | undefined, obj: Record<string, any>, bindings: Readonly<Record<string, unknown>> }> {
  return logger.at('info')
}

describe('ecb backend', () => {
  beforeEach(async () => {
    server = await FixtureServer.start()
    server.answer(DAILY, { body: XML, contentType: 'text/xml' })
    logger = new RecordingLogger()
    accounts = new Map()
    backends = []
    account('alice', 'EUR', 9)
    account('bob', 'USD', 6)
  })

  afterEach(async () => {
    sinon.restore()
    for (const backend of backends) await backend.disconnect()
    await server.close()
  })

  describe('loading', () => {
    it('loads the daily XML from ratesApiUrl and logs the source and the rate date at info', async () => {
      const backend = await connected()
      expect(server.requests).to.deep.equal([DAILY])
      expect(backend.date).to.equal('2025-01-10')
      expect(backend.currencies).to.have.length(31)
      expect(backend.currencies).to.include.members(['EUR', 'USD', 'JPY', 'ZAR'])
      expect(backend.rateOf('EUR')).to.deep.equal({ numerator: 1n, denominator: 1n })
      expect(infos().map((r) => ({ msg: r.msg, obj: r.obj, bindings: r.bindings }))).to.deep.equal([{
        msg: 'exchange rates loaded',
        obj: { source: 'ecb', url: server.url(DAILY), currencies: 30, date: '2025-01-10' },
        bindings: { backend: 'ecb' }
      }])
    })

    it('uses mockData { base, rates } without any request, numbers and strings alike', async () => {
      const backend = await connected({ mockData: { base: 'EUR', rates: { USD: 1.25, GBP: '0.8' } } })
      expect(server.requests).to.deep.equal([])
      expect(backend.currencies).to.deep.equal(['EUR', 'GBP', 'USD'])
      expect(backend.getRate('alice', 'bob')).to.deep.equal({ numerator: 1n, denominator: 800n }) // 1.25 x 10^-3
      expect(infos()[0]?.obj).to.deep.equal({ source: 'mockData', base: 'EUR', currencies: 2 })
    })

    it('takes mockData.base as the currency with rate 1 (EUR when omitted)', async () => {
      const backend = await connected({ mockData: { base: 'USD', rates: { EUR: '0.8' } } })
      expect(backend.rateOf('USD')).to.deep.equal({ numerator: 1n, denominator: 1n })
      expect(backend.getRate('bob', 'alice')).to.deep.equal({ numerator: 800n, denominator: 1n }) // 0.8 x 10^3
    })

    describe('a failed first load is a start-up error naming the URL and the reason', () => {
      async function startupError (options: EcbOptions): Promise<EcbBackendError> {
        const err = await rejectionOf(create(options).connect())
        expect(err).to.be.instanceOf(EcbBackendError)
        expect((err as EcbBackendError).code).to.equal('ERR_RATES_UNAVAILABLE')
        return err as EcbBackendError
      }

      it('404', async () => {
        const err = await startupError({ ratesApiUrl: server.url('/missing.xml') })
        expect(err.message).to.equal(`ecb backend: cannot load the exchange rates from ${server.url('/missing.xml')}: unexpected HTTP status 404 Not Found`)
      })

      it('500', async () => {
        server.answer(DAILY, { status: 500, body: 'oops' })
        const err = await startupError({})
        expect(err.message).to.equal(`ecb backend: cannot load the exchange rates from ${server.url(DAILY)}: unexpected HTTP status 500 Internal Server Error`)
      })

      it('bad XML', async () => {
        server.answer(DAILY, { body: XML.slice(0, 600) })
        const err = await startupError({})
        expect(err.message).to.match(new RegExp(`^ecb backend: cannot load the exchange rates from ${escape(server.url(DAILY))}: not valid XML \\(line \\d+: .+\\)$`))
      })

      it('an answer without rates (an HTML error page)', async () => {
        server.answer(DAILY, { body: '<html><body>maintenance</body></html>', contentType: 'text/html' })
        const err = await startupError({})
        expect(err.message).to.include(': no rates in the document (expected the ECB eurofxref XML')
      })

      it('connection refused', async () => {
        const url = `http://127.0.0.1:${await closedPort()}/eurofxref-daily.xml`
        const err = await startupError({ ratesApiUrl: url })
        expect(err.message).to.match(new RegExp(`^ecb backend: cannot load the exchange rates from ${escape(url)}: .*ECONNREFUSED`))
      })

      it('no answer within requestTimeout (100 ms here)', async () => {
        server.answer(DAILY, 'hang')
        const started = Date.now()
        const err = await startupError({ requestTimeout: 100 })
        expect(err.message).to.equal(`ecb backend: cannot load the exchange rates from ${server.url(DAILY)}: no complete answer within 100 ms (requestTimeout)`)
        expect(Date.now() - started).to.be.below(2000)
      })
    })

    describe('options', () => {
      function configError (options: Record<string, unknown>): string {
        try {
          create(options as EcbOptions)
        } catch (err) {
          expect((err as EcbBackendError).code).to.equal('ERR_BACKEND_CONFIG')
          return (err as Error).message
        }
        throw new Error('no error')
      }

      it('rejects bad values with the option path and what was expected', () => {
        expect(configError({ ratesApiUrl: 'ftp://example.com/x.xml' })).to.equal('backendConfig.ratesApiUrl: expected an http(s) URL, got "ftp://example.com/x.xml"')
        expect(configError({ xrpRateUrl: 42 })).to.equal('backendConfig.xrpRateUrl: expected an http(s) URL, got 42')
        expect(configError({ refreshInterval: 10 })).to.equal('backendConfig.refreshInterval: expected ms, an integer >= 1000 (or 0: never refresh), got 10')
        expect(configError({ requestTimeout: '5s' })).to.equal('backendConfig.requestTimeout: expected ms, an integer >= 1, got "5s"')
        expect(configError({ mockData: { rates: { USD: 'x' } } })).to.equal('backendConfig.mockData.rates.USD: expected a positive decimal, got "x"')
        expect(configError({ mockData: { base: 'EUR' } })).to.match(/^backendConfig\.mockData: expected \{ "base"/)
        expect(configError({ spread: 1 })).to.equal('spread: expected a fraction 0 <= spread < 1, got 1')
        expect(configError({ name: 'ecb-plus-gold' })).to.equal('backend: @conn/backend-ecb provides ecb, ecb-plus-xrp, ecb-plus-coinmarketcap, got "ecb-plus-gold"')
      })

      it('warns about options it does not know (a typo would silently use the default URL)', () => {
        create({ ratesApiURL: 'http://127.0.0.1:1/x.xml' } as EcbOptions)
        expect(logger.at('warn').map((r) => r.msg)).to.deep.equal(['backendConfig: ratesApiURL is not an option of the ecb backend (ignored)'])
      })
    })
  })

  describe('rates', () => {
    it('EUR (scale 9) to USD (scale 6) with spread 0.01 is exactly 1.0304 x 10^-3 x 0.99, reduced', async () => {
      const backend = await connected({ spread: 0.01 })
      const rate = backend.getRate('alice', 'bob')
      expect(sameRate(rate, 1_020_096n, 1_000_000_000n)).to.equal(true)
      expect(rate).to.deep.equal({ numerator: 15939n, denominator: 15625000n })
      expect(floorAmount(123_456_789n, rate)).to.equal(125_937n) // 123456789 x 0.001020096 = 125937.9...
    })

    it('USD (scale 6) to EUR (scale 9) divides by the USD rate exactly: 1 USD buys floor(10^9 x 0.99 / 1.0304)', async () => {
      const backend = await connected({ spread: 0.01 })
      const rate = backend.getRate('bob', 'alice')
      expect(sameRate(rate, 9_900_000n, 10_304n)).to.equal(true)
      expect(floorAmount(1_000_000n, rate)).to.equal(960_791_925n)
    })

    it('crosses two non-euro currencies with their scales: GBP (2) to JPY (0)', async () => {
      account('gbp', 'GBP', 2)
      account('jpy', 'JPY', 0)
      const backend = await connected()
      const rate = backend.getRate('gbp', 'jpy')
      expect(sameRate(rate, 16286n * 100000n, 83713n * 100n * 100n)).to.equal(true) // 162.86 / 0.83713 / 100
      expect(floorAmount(10000n, rate)).to.equal(19454n) // GBP 100.00 -> JPY 19454
    })

    it('same currency: only the scale shift and the spread', async () => {
      account('eur6', 'EUR', 6)
      const backend = await connected({ spread: 0.002 })
      expect(backend.getRate('alice', 'eur6')).to.deep.equal({ numerator: 499n, denominator: 500000n })
    })

    it('returns the rate synchronously and the same object for the same pair until the rates change', async () => {
      const backend = await connected()
      const first = backend.getRate('alice', 'bob')
      expect(first).to.not.be.instanceOf(Promise)
      expect(backend.getRate('alice', 'bob')).to.equal(first)
    })

    it('rejects an unknown currency with F00 "no rate available. currency=<code>", source checked first', async () => {
      account('xyz', 'XYZ', 9)
      account('abc', 'ABC', 9)
      const backend = await connected()
      expect(() => backend.getRate('alice', 'xyz')).to.throw('no rate available. currency=XYZ').with.property('ilpErrorCode', 'F00')
      expect(() => backend.getRate('xyz', 'alice')).to.throw('no rate available. currency=XYZ').with.property('ilpErrorCode', 'F00')
      expect(() => backend.getRate('abc', 'xyz')).to.throw('no rate available. currency=ABC')
    })

    it('rejects an unknown account naming it, with the reference\'s messages', async () => {
      const backend = await connected()
      expect(() => backend.getRate('nobody', 'bob')).to.throw('unable to fetch account info for source account. accountId=nobody').with.property('ilpErrorCode', 'F00')
      expect(() => backend.getRate('alice', 'nobody')).to.throw('unable to fetch account info for destination account. accountId=nobody')
    })

    it('delivers what the reference delivers for ordinary amounts, except that it is exact where the reference is one unit short', async () => {
      // The reference rounds the rate to 15 significant digits (helpers/reference.ts, checked against
      // ilp-connector's own ECB backend in packages/cli/test/e2e/rates.spec.ts). For every pair of the 31
      // currencies, several scale pairs and spreads, and amounts whose result stays under 10^12, conn
      // delivers the same amount; the only differences are where amount x rate is a whole number, which
      // conn delivers and the reference misses by one.
      const codes = ['EUR', ...Object.keys(FIXTURE_RATES)]
      const rateText = (code: string): string => code === 'EUR' ? '1' : FIXTURE_RATES[code]!
      const scales: Array<[number, number]> = [[9, 6], [6, 9], [2, 2], [9, 9], [6, 2], [2, 9]]
      const amounts = [1n, 7n, 99n, 12_345n, 1_000_000n, 123_456_789n, 5_000_000_000n]
      let same = 0
      const differences: string[] = []
      for (const spread of [0, 0.01, 0.002]) {
        for (const code of codes) for (const scale of [0, 2, 6, 9]) account(`${code}${scale}`, code, scale)
        const backend = await connected({ spread })
        for (const src of codes) {
          for (const dst of codes) {
            for (const [srcScale, dstScale] of scales) {
              const rate = backend.getRate(`${src}${srcScale}`, `${dst}${dstScale}`)
              const reference = referenceRate(rateText(src), srcScale, rateText(dst), dstScale, String(spread))
              for (const amount of amounts) {
                const conn = floorAmount(amount, rate)
                if (conn >= 10n ** 12n) continue
                const theirs = floorTimes(amount, reference)
                if (conn === theirs) { same++; continue }
                expect((amount * rate.numerator) % rate.denominator, `${src}->${dst} x ${amount}`).to.equal(0n)
                expect(theirs).to.equal(conn - 1n)
                differences.push(`${src}${srcScale}->${dst}${dstScale} spread ${spread} amount ${amount}`)
              }
            }
          }
        }
      }
      expect(same).to.be.above(50_000)
      expect(differences.length).to.be.below(same / 1000)
      expect(differences).to.include('CZK2->BGN9 spread 0 amount 99') // exact 76835000, reference 76834999
    })

    it('example: CZK 0.99 (scale 2) to BGN (scale 9) is 76835000 exactly; the reference\'s rounded rate gives 76834999', async () => {
      account('czk', 'CZK', 2)
      account('bgn', 'BGN', 9)
      const backend = await connected()
      expect(floorAmount(99n, backend.getRate('czk', 'bgn'))).to.equal(76_835_000n)
      const reference = referenceRate('25.200', 2, '1.9558', 9, '0')
      expect(reference).to.deep.equal(decimal('776111.111111111'))
      expect(floorTimes(99n, reference)).to.equal(76_834_999n)
    })
  })

  describe('refresh', () => {
    let clock: sinon.SinonFakeTimers

    beforeEach(() => {
      clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    })

    async function tick (backend: EcbBackend, ms: number): Promise<void> {
      clock.tick(ms)
      await backend.settled()
    }

    it('reloads every refreshInterval (default 1 h) and uses the new rates', async () => {
      const backend = await connected()
      const before = backend.getRate('alice', 'bob')
      server.answer(DAILY, { body: withRate('USD', '1.1').replace("time='2025-01-10'", "time='2025-01-13'") })
      await tick(backend, 3_599_999)
      expect(server.count(DAILY)).to.equal(1)
      await tick(backend, 1)
      expect(server.count(DAILY)).to.equal(2)
      expect(backend.date).to.equal('2025-01-13')
      const after = backend.getRate('alice', 'bob')
      expect(after).to.not.deep.equal(before)
      expect(after).to.deep.equal({ numerator: 11n, denominator: 10000n })
      expect(infos().filter((r) => r.msg === 'exchange rates loaded').map((r) => r.obj.date)).to.deep.equal(['2025-01-10', '2025-01-13'])
    })

    it('a failed refresh keeps the last good rates and warns once per run of failures', async () => {
      const backend = await connected({ refreshInterval: 60_000 })
      const good = backend.getRate('alice', 'bob')
      server.answer(DAILY, { status: 503, body: 'maintenance' })
      await tick(backend, 60_000)
      await tick(backend, 60_000)
      await tick(backend, 60_000)
      expect(server.count(DAILY)).to.equal(4)
      expect(backend.getRate('alice', 'bob')).to.deep.equal(good)
      expect(backend.date).to.equal('2025-01-10')
      const warnings = logger.at('warn')
      expect(warnings).to.have.length(1)
      expect(warnings[0]!.msg).to.equal('exchange rate refresh failed; keeping the last rates of ecb (repeated failures at debug until it answers again)')
      expect(warnings[0]!.obj).to.deep.equal({ source: 'ecb', url: server.url(DAILY), reason: 'unexpected HTTP status 503 Service Unavailable', failures: 1, ratesFrom: '2025-01-10' })
      expect(logger.at('debug').map((r) => r.obj.failures)).to.deep.equal([2, 3])

      server.answer(DAILY, { body: withRate('USD', '1.2') })
      await tick(backend, 60_000)
      expect(backend.getRate('alice', 'bob')).to.deep.equal({ numerator: 3n, denominator: 2500n })
      expect(infos().some((r) => r.msg === 'exchange rate source answers again' && r.obj.failures === 3)).to.equal(true)

      server.answer(DAILY, { body: 'garbage' })
      await tick(backend, 60_000)
      expect(logger.at('warn')).to.have.length(2) // a new run of failures warns again
      expect(logger.at('warn')[1]!.obj.reason).to.match(/^not valid XML/)
    })

    it('answers getRate from memory while a refresh is still waiting for the source', async () => {
      const backend = await connected({ refreshInterval: 60_000 })
      server.answer(DAILY, 'hang')
      clock.tick(60_000)
      await until(() => server.count(DAILY) === 2) // the refresh request is out, unanswered
      expect(backend.getRate('alice', 'bob')).to.deep.equal({ numerator: 161n, denominator: 156250n }) // 1.0304 x 10^-3
      clock.tick(60_000) // the next tick does not start a second request while one is running
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(server.count(DAILY)).to.equal(2)
      await backend.disconnect() // cancels the waiting request
      expect(logger.at('warn')).to.have.length(0)
    })

    it('disconnect stops the timer: no request afterwards', async () => {
      const backend = await connected({ refreshInterval: 60_000 })
      expect(clock.countTimers()).to.equal(1)
      await backend.disconnect()
      expect(clock.countTimers()).to.equal(0)
      await tick(backend, 600_000)
      expect(server.count(DAILY)).to.equal(1)
    })

    it('refreshInterval 0 loads once, as the reference', async () => {
      const backend = await connected({ refreshInterval: 0 })
      expect(clock.countTimers()).to.equal(0)
      await tick(backend, 86_400_000)
      expect(server.count(DAILY)).to.equal(1)
    })

    it('mockData alone sets no timer (nothing to reload)', async () => {
      await connected({ mockData: { rates: { USD: '1.1' } } })
      expect(clock.countTimers()).to.equal(0)
    })

    it('a source that fails keeps its rates while the others update (ecb-plus-xrp)', async () => {
      server.answer(XRP, { body: fixture('xrp-rate.json'), contentType: 'application/json' })
      const backend = await connected({ name: 'ecb-plus-xrp', xrpRateUrl: server.url(XRP), refreshInterval: 60_000 })
      server.answer(XRP, { status: 502, body: '' })
      server.answer(DAILY, { body: withRate('USD', '1.2') })
      await tick(backend, 60_000)
      expect(backend.rateOf('XRP')).to.deep.equal({ numerator: 8247n, denominator: 20000n })
      expect(backend.rateOf('USD')).to.deep.equal({ numerator: 6n, denominator: 5n })
      expect(logger.at('warn').map((r) => [r.obj.source, r.obj.reason])).to.deep.equal([['xrp', 'unexpected HTTP status 502 Bad Gateway']])
    })
  })

  describe('variants', () => {
    it('the manifest creates ecb, ecb-plus-xrp and ecb-plus-coinmarketcap from the configured name', async () => {
      const options = { spread: 0, mockData: { rates: { USD: '1.1', XRP: '0.5' } } }
      for (const name of ['ecb', 'ecb-plus-xrp', 'ecb-plus-coinmarketcap']) {
        const backend = await manifest.create({ ...options, name }, api()) as EcbBackend
        backends.push(backend)
        expect(backend).to.be.instanceOf(EcbBackend)
        expect(backend.variant).to.equal(name)
      }
      expect(manifest).to.include({ kind: 'backend', name: 'ecb', types: TYPES_RANGE })
      const byPackageName = await manifest.create({ spread: 0, name: '@conn/backend-ecb' }, api()) as EcbBackend
      expect(byPackageName.variant).to.equal('ecb')
    })

    it('ecb-plus-xrp adds XRP per EUR from xrpRateUrl, rounded to 5 decimals', async () => {
      server.answer(XRP, { body: fixture('xrp-rate.json'), contentType: 'application/json' })
      account('xrp', 'XRP', 6)
      const backend = await connected({ name: 'ecb-plus-xrp', xrpRateUrl: server.url(XRP) })
      expect(server.requests).to.have.members([DAILY, XRP])
      expect(backend.rateOf('XRP')).to.deep.equal({ numerator: 8247n, denominator: 20000n }) // 0.4123456789 -> 0.41235
      expect(floorAmount(1_000_000_000n, backend.getRate('alice', 'xrp'))).to.equal(412_350n) // EUR 1 -> XRP 0.41235
      expect(sameRate(backend.getRate('xrp', 'bob'), 644n * 20000n, 625n * 8247n)).to.equal(true) // 1.0304 / 0.41235
      expect(infos().find((r) => r.obj.source === 'xrp')?.obj).to.deep.equal({ source: 'xrp', url: server.url(XRP), currencies: 1, rate: '0.41235' })
    })

    it('ecb-plus-xrp asks for no XRP rate when mockData has one', async () => {
      const backend = await connected({ name: 'ecb-plus-xrp', xrpRateUrl: server.url(XRP), mockData: { rates: { XRP: '0.5' } } })
      expect(server.requests).to.deep.equal([])
      expect(backend.rateOf('XRP')).to.deep.equal({ numerator: 1n, denominator: 2n })
    })

    it('ecb-plus-xrp: a non-200 answer or another format is a start-up error naming the XRP URL', async () => {
      server.answer(XRP, { status: 503, body: '' })
      const err = await rejectionOf(create({ name: 'ecb-plus-xrp', xrpRateUrl: server.url(XRP) }).connect())
      expect(err).to.have.property('message', `ecb-plus-xrp backend: cannot load the exchange rates from ${server.url(XRP)}: unexpected HTTP status 503 Service Unavailable`)
      server.answer(XRP, { body: '{"result":"error"}' })
      const format = await rejectionOf(create({ name: 'ecb-plus-xrp', xrpRateUrl: server.url(XRP) }).connect())
      expect(format).to.have.property('message').that.matches(/: expected \{"rate": "<positive decimal>"\} \(XRP per 1 EUR\), got \{"result":"error"\}$/)
    })

    it('ecb-plus-coinmarketcap adds 1 / price_eur per symbol from coinmarketcapUrl', async () => {
      server.answer(CMC, { body: fixture('coinmarketcap-ticker.json'), contentType: 'application/json' })
      account('btc', 'BTC', 8)
      account('eur2', 'EUR', 2)
      account('dlc', 'DLC', 8)
      const backend = await connected({ name: 'ecb-plus-coinmarketcap', coinmarketcapUrl: server.url(CMC) })
      expect(backend.currencies).to.include.members(['BTC', 'ETH', 'XRP', 'LTC', 'USD'])
      expect(floorAmount(100_000_000n, backend.getRate('btc', 'eur2'))).to.equal(9_123_750n) // 1 BTC = EUR 91237.50
      expect(() => backend.getRate('dlc', 'eur2')).to.throw('no rate available. currency=DLC')
      expect(infos().find((r) => r.obj.source === 'coinmarketcap')?.obj).to.deep.equal({ source: 'coinmarketcap', url: server.url(CMC), currencies: 4, skipped: ['DLC=null'] })
    })

    it('ecb-plus-coinmarketcap: a body that is not the v1 ticker array is a start-up error', async () => {
      server.answer(CMC, { body: '{"status":{"error_code":1002,"error_message":"API key missing."}}' })
      const err = await rejectionOf(create({ name: 'ecb-plus-coinmarketcap', coinmarketcapUrl: server.url(CMC) }).connect())
      expect(err).to.have.property('message').that.matches(/^ecb-plus-coinmarketcap backend: cannot load the exchange rates from .*: expected the CoinMarketCap v1 ticker format/)
    })
  })
})

/** Polls (real setTimeout: only setInterval is faked) until `condition` holds, at most 2 s. */
async function until (condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 2000
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met within 2 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
