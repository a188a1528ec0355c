import { expect } from 'chai'
import { FormatError, parseCoinMarketCapJson, parseEcbXml, parseXrpJson } from '../src/parse.ts'
import { fixture } from './helpers/server.ts'

function thrown (fn: () => unknown): Error {
  try { fn() } catch (err) { return err as Error }
  throw new Error('did not throw')
}

describe('parse', () => {
  describe('parseEcbXml', () => {
    it('reads the date and the 30 currencies of the recorded daily file as exact fractions', () => {
      const { date, rates, skipped } = parseEcbXml(fixture('eurofxref-daily.xml'))
      expect(date).to.equal('2025-01-10')
      expect(rates.size).to.equal(30)
      expect(skipped).to.deep.equal([])
      expect(rates.get('USD')).to.deep.equal({ numerator: 644n, denominator: 625n }) // 1.0304
      expect(rates.get('CZK')).to.deep.equal({ numerator: 126n, denominator: 5n }) // 25.200
      expect(rates.get('IDR')).to.deep.equal({ numerator: 836903n, denominator: 50n }) // 16738.06
      expect(rates.has('EUR')).to.equal(false)
    })

    it('takes the newest day of a multi-day document (the -hist-90d files)', () => {
      const xml = `<Envelope><Cube>
        <Cube time="2025-01-10"><Cube currency="USD" rate="1.0304"/></Cube>
        <Cube time="2025-01-09"><Cube currency="USD" rate="1.0305"/><Cube currency="GBP" rate="0.83"/></Cube>
      </Cube></Envelope>`
      const { date, rates } = parseEcbXml(xml)
      expect(date).to.equal('2025-01-10')
      expect([...rates.keys()]).to.deep.equal(['USD'])
    })

    it('skips a rate that is not a positive decimal and names it in skipped', () => {
      const { rates, skipped } = parseEcbXml('<Cube time="2025-01-10"><Cube currency="USD" rate="1.0304"/><Cube currency="XXX" rate="n/a"/><Cube currency="ZZZ" rate="0"/></Cube>')
      expect([...rates.keys()]).to.deep.equal(['USD'])
      expect(skipped).to.deep.equal(['XXX="n/a"', 'ZZZ="0"'])
    })

    it('throws "not valid XML" with the line for a broken document', () => {
      const err = thrown(() => parseEcbXml('<?xml version="1.0"?>\n<Cube>\n<Cube currency="USD" rate="1.0304">\n</Envelope>'))
      expect(err).to.be.instanceOf(FormatError)
      expect(err.message).to.match(/^not valid XML \(line \d+: .+\)$/)
    })

    it('throws "no rates in the document" for well-formed XML without Cube rates', () => {
      const err = thrown(() => parseEcbXml('<html><body><p>Service temporarily unavailable</p></body></html>'))
      expect(err.message).to.equal('no rates in the document (expected the ECB eurofxref XML: <Cube currency="USD" rate="1.0304"/> elements)')
    })
  })

  describe('parseXrpJson', () => {
    it('reads {"rate"} as XRP per EUR rounded to 5 decimals, from a string or a number', () => {
      expect(parseXrpJson(JSON.parse(fixture('xrp-rate.json')))).to.deep.equal({ numerator: 8247n, denominator: 20000n }) // 0.41235
      expect(parseXrpJson({ rate: 2 })).to.deep.equal({ numerator: 2n, denominator: 1n })
    })

    it('throws naming the expected format for anything else', () => {
      for (const body of [{}, { rate: 'abc' }, { rate: '0.000001' }, [], null, 'text']) {
        expect(thrown(() => parseXrpJson(body)).message).to.match(/^expected \{"rate": "<positive decimal>"\} \(XRP per 1 EUR\), got /)
      }
    })
  })

  describe('parseCoinMarketCapJson', () => {
    it('gives 1 / price_eur per symbol, exactly, and skips entries without a price', () => {
      const { rates, skipped } = parseCoinMarketCapJson(JSON.parse(fixture('coinmarketcap-ticker.json')))
      expect([...rates.keys()]).to.deep.equal(['BTC', 'ETH', 'XRP', 'LTC'])
      expect(rates.get('BTC')).to.deep.equal({ numerator: 2n, denominator: 182475n }) // 1 / 91237.5
      expect(rates.get('XRP')).to.deep.equal({ numerator: 10000n, denominator: 24251n }) // 1 / 2.4251
      expect(skipped).to.deep.equal(['DLC=null'])
    })

    it('throws for a body that is not an array, and for an array with no usable entry', () => {
      expect(thrown(() => parseCoinMarketCapJson({ data: [] })).message).to.match(/^expected the CoinMarketCap v1 ticker format, an array of \{"symbol", "price_eur"\}, got \{"data":\[\]\}$/)
      expect(thrown(() => parseCoinMarketCapJson([{ symbol: 'BTC' }])).message).to.equal('no usable {"symbol", "price_eur"} entries in the CoinMarketCap v1 ticker array (1 entries)')
    })
  })
})
