import { backendConformance } from '@conn/testkit'
import manifest from '../src/index.ts'
import { FixtureServer, fixture } from './helpers/server.ts'

const DAILY = '/stats/eurofxref/eurofxref-daily.xml'
const XRP = '/v2/exchange_rates/EUR/XRP'
const CMC = '/v1/ticker/?convert=EUR'
const HANG = '/hang'

/**
 * The backend conformance suite of @conn/testkit on every name this package answers to, each with its sources
 * served from the recorded fixtures by a local server (no network), and a way each one cannot start.
 */
describe('conformance', () => {
  let server: FixtureServer

  before(async () => {
    server = await FixtureServer.start()
    server.answer(DAILY, { body: fixture('eurofxref-daily.xml'), contentType: 'text/xml' })
    server.answer(XRP, { body: fixture('xrp-rate.json'), contentType: 'application/json' })
    server.answer(CMC, { body: fixture('coinmarketcap-ticker.json'), contentType: 'application/json' })
    server.answer(HANG, 'hang')
  })

  after(async () => { await server.close() })

  const url = (path: string): string => server.url(path)

  backendConformance(manifest, {
    title: 'conformance: backend ecb (the daily ECB XML); an answer of 404 cannot start it',
    options: () => ({ name: 'ecb', ratesApiUrl: url(DAILY) }),
    assets: ['USD', 'JPY'],
    missingAsset: 'XAU',
    failingOptions: () => ({ name: 'ecb', ratesApiUrl: url('/missing.xml') })
  })

  backendConformance(manifest, {
    title: 'conformance: backend ecb-plus-xrp (ECB and the XRP rate); an XRP source that never answers cannot start it',
    options: () => ({ name: 'ecb-plus-xrp', ratesApiUrl: url(DAILY), xrpRateUrl: url(XRP) }),
    assets: ['XRP', 'USD'],
    missingAsset: 'XAU',
    failingOptions: () => ({ name: 'ecb-plus-xrp', ratesApiUrl: url(DAILY), xrpRateUrl: url(HANG), requestTimeout: 200 })
  })

  backendConformance(manifest, {
    title: 'conformance: backend ecb-plus-coinmarketcap (ECB and the v1 ticker); a ticker that is not JSON cannot start it',
    options: () => ({ name: 'ecb-plus-coinmarketcap', ratesApiUrl: url(DAILY), coinmarketcapUrl: url(CMC) }),
    assets: ['BTC', 'EUR'],
    missingAsset: 'XAU',
    failingOptions: () => ({ name: 'ecb-plus-coinmarketcap', ratesApiUrl: url(DAILY), coinmarketcapUrl: url(DAILY) })
  })

  backendConformance(manifest, {
    title: 'conformance: backend @conn/backend-ecb with mockData (no request); a mockData rate that is not a number cannot start it',
    options: { name: '@conn/backend-ecb', mockData: { base: 'EUR', rates: { USD: '1.0345', JPY: 162.34 } } },
    assets: ['USD', 'JPY'],
    missingAsset: 'XAU',
    failingOptions: { name: '@conn/backend-ecb', mockData: { rates: { USD: 'one' } } }
  })
})
