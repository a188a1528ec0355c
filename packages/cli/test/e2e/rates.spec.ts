/**
 * Rate backends end to end: in-process conn connectors with real BTP accounts, rates from a local HTTP server
 * serving @conn/backend-ecb's recorded ECB fixture (never the outside network), and a third-party backend
 * loaded by package name. Amounts are checked against values computed in the test from the fixture's text
 * and against ilp-connector v23's own ECB backend. Reference: spec/reference.md section 5, spec/deviations.md
 * "Rates".
 */
import { expect } from 'chai'
import { CLI_DIR, FIXTURES_APP_DIR, Harness } from '../helpers/harness.ts'
import { RatesServer, fixtureRates, rateFixture, referenceAmount, referenceEcb } from '../helpers/rates.ts'

const DAILY = '/stats/eurofxref/eurofxref-daily.xml'
const XRP = '/xrp'
/** Packets need 2 x 200 ms of life to be forwarded. */
const FAST = { minMessageWindow: 200 }
const RATES = fixtureRates()
const FIXTURE_BACKEND_CALLS = Symbol.for('conn-fixture-backend.calls')

/** A decimal string as digits and a power of ten: '1.0304' -> [10304n, 10000n]. */
function ratio (text: string): [bigint, bigint] {
  const [whole = '', fraction = ''] = text.split('.')
  return [BigInt(whole + fraction), 10n ** BigInt(fraction.length)]
}

let h: Harness
let server: RatesServer

describe('e2e: rates', function () {
  this.timeout(10000)

  beforeEach(async () => {
    h = new Harness()
    server = await RatesServer.start({
      [DAILY]: { body: rateFixture('eurofxref-daily.xml') },
      '/broken.xml': { status: 500, body: 'Internal Server Error' },
      [XRP]: { body: rateFixture('xrp-rate.json'), contentType: 'application/json' }
    })
  })

  afterEach(async () => {
    await h.close()
    await server.close()
  })

  describe('ecb', () => {
    async function euroAndDollar (extra: Record<string, { assetCode: string, assetScale: number }> = {}): Promise<Awaited<ReturnType<Harness['network']>>> {
      return await h.network({
        ...FAST,
        spread: 0.01,
        backend: 'ecb',
        backendConfig: { ratesApiUrl: server.url(DAILY) },
        accounts: {
          alice: { relation: 'child', assetCode: 'EUR', assetScale: 9 },
          bob: { relation: 'child', assetCode: 'USD', assetScale: 6 },
          ...Object.fromEntries(Object.entries(extra).map(([id, asset]) => [id, { relation: 'child' as const, ...asset }]))
        }
      })
    }

    it('converts EUR (scale 9) to USD (scale 6) at the fixture\'s rate less the spread, exactly, both ways', async () => {
      const { nodes } = await euroAndDollar()
      const alice = nodes.alice!
      const bob = nodes.bob!
      expect(server.requests).to.deep.equal([DAILY])
      const [usd, usdUnit] = ratio(RATES.USD!) // 1.0304 USD per EUR
      const keep = 99n // 1 - 0.01, per 100

      const euros = 123_456_789n // EUR 0.123456789
      expect((await alice.pay({ amount: euros, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      const dollars = euros * usd * keep * 10n ** 6n / (usdUnit * 100n * 10n ** 9n)
      expect(dollars).to.equal(125_937n)
      expect(bob.received.map((p) => p.amount)).to.deep.equal([dollars])

      const sent = 1_000_000n // USD 1
      expect((await bob.pay({ amount: sent, destination: 'test.conn.alice', ...h.condition() })).type).to.equal('fulfill')
      const received = sent * usdUnit * keep * 10n ** 9n / (usd * 100n * 10n ** 6n)
      expect(received).to.equal(960_791_925n)
      expect(alice.received.map((p) => p.amount)).to.deep.equal([received])
    })

    it('delivers what ilp-connector v23\'s ecb backend would for the same rates and amounts', async () => {
      const { nodes } = await euroAndDollar({ gbp: { assetCode: 'GBP', assetScale: 2 }, jpy: { assetCode: 'JPY', assetScale: 0 } })
      const assets = { alice: { assetCode: 'EUR', assetScale: 9 }, bob: { assetCode: 'USD', assetScale: 6 }, gbp: { assetCode: 'GBP', assetScale: 2 }, jpy: { assetCode: 'JPY', assetScale: 0 } }
      const reference = await referenceEcb(RATES, 0.01, assets)
      const cases: Array<[keyof typeof assets, keyof typeof assets, bigint]> = [
        ['alice', 'bob', 987_654_321n], ['bob', 'gbp', 5_000_000n], ['gbp', 'jpy', 12_345n], ['jpy', 'alice', 1_000n], ['gbp', 'bob', 99n]
      ]
      for (const [from, to, amount] of cases) {
        const before = nodes[to]!.received.length
        expect((await nodes[from]!.pay({ amount, destination: `test.conn.${to}`, ...h.condition() })).type).to.equal('fulfill')
        const expected = referenceAmount(amount, await reference.getRate(from, to))
        expect(nodes[to]!.received[before]!.amount, `${from} -> ${to}`).to.equal(expected)
      }
    })

    it('rejects with F00 "no rate available. currency=XYZ" for an asset the ECB does not list', async () => {
      const { nodes } = await euroAndDollar({ carol: { assetCode: 'XYZ', assetScale: 9 } })
      const reply = await nodes.alice!.pay({ amount: 1000, destination: 'test.conn.carol', ...h.condition() })
      expect(reply).to.deep.equal({ type: 'reject', code: 'F00', triggeredBy: 'test.conn', message: 'no rate available. currency=XYZ', data: Buffer.alloc(0) })
      expect(nodes.carol!.received).to.have.length(0)
    })

    it('fails listen() with a clear error naming the URL and the status when ratesApiUrl answers 500', async () => {
      const url = server.url('/broken.xml')
      let error: (Error & { code?: string }) | undefined
      try {
        await h.network({
          ...FAST,
          backend: 'ecb',
          backendConfig: { ratesApiUrl: url },
          accounts: { alice: { relation: 'child', assetCode: 'EUR' }, bob: { relation: 'child', assetCode: 'USD' } }
        })
      } catch (err) {
        error = err as Error
      }
      expect(error?.message).to.equal(`ecb backend: cannot load the exchange rates from ${url}: unexpected HTTP status 500 Internal Server Error`)
      expect(error?.code).to.equal('ERR_RATES_UNAVAILABLE')
    })

    it('resolves ecb-plus-xrp by name and converts EUR to XRP at the xrpRateUrl rate (0.41235 per EUR)', async () => {
      const { nodes } = await h.network({
        ...FAST,
        spread: 0,
        backend: 'ecb-plus-xrp',
        backendConfig: { ratesApiUrl: server.url(DAILY), xrpRateUrl: server.url(XRP) },
        accounts: { alice: { relation: 'child', assetCode: 'EUR', assetScale: 9 }, xrp: { relation: 'child', assetCode: 'XRP', assetScale: 6 } }
      })
      expect(server.requests).to.have.members([DAILY, XRP])
      expect((await nodes.alice!.pay({ amount: 2_000_000_000n, destination: 'test.conn.xrp', ...h.condition() })).type).to.equal('fulfill')
      expect(nodes.xrp!.received[0]!.amount).to.equal(824_700n) // EUR 2 -> XRP 0.8247
    })
  })

  describe('third-party backend', () => {
    beforeEach(() => { (globalThis as Record<symbol, unknown>)[FIXTURE_BACKEND_CALLS] = [] })

    it('loads conn-fixture-backend by package name, with { spread, ...backendConfig, name }, and converts at its rate', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        spread: 0.01,
        backend: 'conn-fixture-backend',
        backendConfig: { rate: 0.5 },
        accounts: { alice: { relation: 'child', assetCode: 'EUR' }, bob: { relation: 'child', assetCode: 'USD' } }
      }, { resolveFrom: [FIXTURES_APP_DIR, CLI_DIR] })
      expect((await nodes.alice!.pay({ amount: 1001, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      expect(nodes.bob!.received[0]!.amount).to.equal(500n) // floor(1001 x 0.5): the backend's rate, as it says
      await app.shutdown()
      const calls = (globalThis as Record<symbol, unknown>)[FIXTURE_BACKEND_CALLS] as Array<Record<string, unknown>>
      expect(calls).to.deep.equal([
        { call: 'create', options: { spread: 0.01, rate: 0.5, name: 'conn-fixture-backend' } },
        { call: 'connect' },
        { call: 'getRate', sourceAccount: 'alice', destinationAccount: 'bob' },
        { call: 'disconnect' }
      ])
    })
  })
})
