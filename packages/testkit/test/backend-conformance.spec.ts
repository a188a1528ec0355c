import { expect } from 'chai'
import { BadRequestError, OperatorError, type Backend, type BackendApi, type BackendManifest, type BackendOptions, type Rate, TYPES_RANGE, TYPES_VERSION } from '@conn/types'
import { backendConformance } from '../src/index.ts'
import { collect, failures } from './helpers.ts'

/** Units per 1 EUR, as decimal fractions. */
const TABLE: Record<string, [bigint, bigint]> = { EUR: [1n, 1n], USD: [10345n, 10000n], JPY: [16234n, 100n] }

function gcd (a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/**
 * A well-behaved backend: (dst per EUR / src per EUR) x 10^(dstScale - srcScale) x (1 - spread), as an exact
 * fraction, or (with `numbers`) as a float. Options: `numbers`, `fail` (connect rejects with an OperatorError).
 */
class TableBackend implements Backend {
  readonly spread: number
  connected = false
  constructor (readonly options: BackendOptions, readonly api: BackendApi) { this.spread = options.spread }

  async connect (): Promise<void> {
    if (this.options.fail === true) throw new OperatorError('ERR_RATES_UNAVAILABLE', 'table backend: the table is not there')
    this.connected = true
  }

  async disconnect (): Promise<void> { this.connected = false }

  async submitPayment (): Promise<void> {}

  /** The asset's rate per EUR, or a throw. */
  protected per (id: string): { rate: [bigint, bigint], scale: number } {
    const account = this.api.getInfo(id)
    if (account === undefined) throw new BadRequestError('unknown account ' + id)
    const rate = TABLE[account.assetCode]
    if (rate === undefined) throw new BadRequestError('no rate for ' + account.assetCode)
    return { rate, scale: account.assetScale }
  }

  protected shift (source: number, destination: number): number { return destination - source }

  protected keep (): [bigint, bigint] {
    const scaled = BigInt(Math.round(this.spread * 1e6))
    return [1_000_000n - scaled, 1_000_000n]
  }

  getRate (sourceAccount: string, destinationAccount: string): Rate {
    const source = this.per(sourceAccount)
    const destination = this.per(destinationAccount)
    const shift = this.shift(source.scale, destination.scale)
    const [keepN, keepD] = this.keep()
    let numerator = destination.rate[0] * source.rate[1] * keepN
    let denominator = destination.rate[1] * source.rate[0] * keepD
    if (shift >= 0) numerator *= 10n ** BigInt(shift)
    else denominator *= 10n ** BigInt(-shift)
    if (this.options.numbers === true) return Number(numerator) / Number(denominator)
    const divisor = gcd(numerator, denominator)
    return { numerator: numerator / divisor, denominator: denominator / divisor }
  }
}

function manifestOf (Backend: new (options: BackendOptions, api: BackendApi) => Backend, extra: Partial<BackendManifest> = {}): BackendManifest {
  return { kind: 'backend', name: 'table', types: TYPES_RANGE, create: (options, api) => new Backend(options, api), ...extra }
}

const TITLES = {
  manifest: 'is a backend manifest with a name, a types range that includes this @conn/types, and create',
  create: 'create({ spread, ...options }, { getInfo, logger }) gives a backend with getRate, and connect, disconnect and submitPayment functions if any',
  rates: 'connect() resolves (within 300 ms) and the backend gives a finite positive rate or a positive BigInt fraction, both ways',
  failing: 'with options it cannot start with, create() throws or connect() rejects (within 300 ms) with an OperatorError',
  spread: 'applies the spread: the rate with spread 0.01 is 0.99 times the rate with spread 0',
  scales: 'applies the asset scales: to scale 6 the rate is 1/1000 of the rate to scale 9, from scale 6 it is 1000 times',
  unknown: 'refuses a rate from or to an account getInfo does not know with an Error (not a rate)',
  missing: 'refuses a rate from or to an asset it has no rate for (XAU) with an Error (not a rate)',
  repeat: 'gives the same rate when asked again, also after other pairs and refusals',
  submit: 'submitPayment(payment), if it has one, resolves',
  disconnect: 'disconnect(), if it has one, resolves twice in a row, after connect() and without it'
}

const ALL = { timeout: 300, missingAsset: 'XAU', failingOptions: { fail: true } }

/** The failed tests (title: message) of the suite with all its tests, run by hand on a backend class. */
async function failuresOf (Backend: new (options: BackendOptions, api: BackendApi) => Backend, extra: Partial<BackendManifest> = {}): Promise<Record<string, string>> {
  return await failures(collect(() => { backendConformance(manifestOf(Backend, extra), ALL) }))
}

describe('backendConformance', () => {
  describe('on a well-behaved backend with exact fractions', () => {
    backendConformance(manifestOf(TableBackend), { assets: ['USD', 'JPY'], missingAsset: 'XAU', failingOptions: { fail: true } })
  })

  describe('on a well-behaved backend with number rates, with the connector\'s own options', () => {
    backendConformance(manifestOf(TableBackend), { options: () => ({ numbers: true, name: 'table' }), precision: 1e-14 })
  })

  describe('on a backend with only getRate', () => {
    backendConformance({
      kind: 'backend',
      name: 'bare',
      types: TYPES_RANGE,
      create: (options, api) => {
        const table = new TableBackend(options, api)
        return { getRate: (a: string, b: string) => table.getRate(a, b) }
      }
    })
  })

  describe('catches broken backends', () => {
    it('registers its tests in order; all pass on the well-behaved backend', async () => {
      const tests = collect(() => { backendConformance(manifestOf(TableBackend), ALL) })
      expect([...tests.keys()]).to.deep.equal(Object.values(TITLES))
      expect(await failures(tests)).to.deep.equal({})
    })

    it('fails the manifest test for another kind or a types range without this version', async () => {
      expect((await failuresOf(TableBackend, { kind: 'store' as 'backend' }))[TITLES.manifest]).to.equal('manifest.kind is store, not "backend"')
      expect((await failuresOf(TableBackend, { types: '^99.0.0' }))[TITLES.manifest]).to.equal(`manifest.types "^99.0.0" does not include ${TYPES_VERSION}`)
    })

    it('fails the spread test for a backend that ignores the spread, or takes it twice', async () => {
      class NoSpread extends TableBackend { protected keep (): [bigint, bigint] { return [1n, 1n] } }
      class Twice extends TableBackend {
        protected keep (): [bigint, bigint] { const [n, d] = super.keep(); return [n * n, d * d] }
      }
      const none = await failuresOf(NoSpread)
      expect(Object.keys(none)).to.deep.equal([TITLES.spread])
      expect(none[TITLES.spread]).to.match(/^getRate\(conformance-source, conformance-destination\): \d+\/\d+ is not 99\/100 x \d+\/\d+ \(off by a factor of 1\.01010,/)
      expect(Object.keys(await failuresOf(Twice))).to.deep.equal([TITLES.spread])
    })

    it('fails the scale test for a backend that ignores the scales, or shifts them the wrong way', async () => {
      class NoScale extends TableBackend { protected shift (): number { return 0 } }
      class Backwards extends TableBackend { protected shift (source: number, destination: number): number { return source - destination } }
      const none = await failuresOf(NoScale)
      expect(Object.keys(none)).to.deep.equal([TITLES.scales])
      expect(none[TITLES.scales]).to.match(/^getRate\(conformance-source, conformance-destination-6\): .* is not 1\/1000 x .*off by a factor of 1000\.00/)
      expect(Object.keys(await failuresOf(Backwards))).to.deep.equal([TITLES.scales])
    })

    it('fails the refusal tests for a backend that gives a rate for an unknown account or an asset it has no rate for', async () => {
      class Lenient extends TableBackend {
        getRate (source: string, destination: string): Rate {
          if (this.api.getInfo(source) === undefined || this.api.getInfo(destination) === undefined) return 1
          return super.getRate(source, destination)
        }
      }
      class Guessing extends TableBackend {
        protected per (id: string): { rate: [bigint, bigint], scale: number } {
          const account = this.api.getInfo(id)
          if (account !== undefined && TABLE[account.assetCode] === undefined) return { rate: [1n, 1n], scale: account.assetScale }
          return super.per(id)
        }
      }
      const lenient = await failuresOf(Lenient)
      expect(lenient).to.deep.equal({
        [TITLES.unknown]: 'getRate(conformance-unknown, conformance-destination) gave the rate 1 instead of rejecting',
        [TITLES.repeat]: 'getRate(conformance-unknown, conformance-destination) gave the rate 1 instead of rejecting'
      })
      expect(await failuresOf(Guessing)).to.deep.equal({
        [TITLES.missing]: 'getRate(conformance-missing-asset, conformance-destination) gave the rate 1/1 instead of rejecting'
      })
    })

    it('fails the rate test for NaN, Infinity, 0, a negative rate, and a fraction of numbers or with a zero denominator', async () => {
      const broken: Array<[unknown, string]> = [
        [Number.NaN, 'getRate(conformance-source, conformance-destination) is NaN, not a finite positive number'],
        [Infinity, 'getRate(conformance-source, conformance-destination) is Infinity, not a finite positive number'],
        [0, 'getRate(conformance-source, conformance-destination) is 0, not a finite positive number'],
        [-1.5, 'getRate(conformance-source, conformance-destination) is -1.5, not a finite positive number'],
        [{ numerator: 1, denominator: 2 }, 'getRate(conformance-source, conformance-destination) is a fraction of number and number, not of two BigInts'],
        [{ numerator: 1n, denominator: 0n }, 'getRate(conformance-source, conformance-destination) is 1/0, not a positive fraction'],
        ['0.5', 'getRate(conformance-source, conformance-destination) is 0.5, neither a number nor a { numerator, denominator } fraction']
      ]
      for (const [rate, message] of broken) {
        class Constant extends TableBackend { getRate (): Rate { return rate as Rate } }
        expect((await failuresOf(Constant))[TITLES.rates]).to.equal(message)
      }
    })

    it('fails for a connect() that never settles, instead of hanging', async () => {
      class Hanging extends TableBackend { async connect (): Promise<void> { await new Promise(() => {}) } }
      const failed = await failures(collect(() => { backendConformance(manifestOf(Hanging), { ...ALL, timeout: 50 }) }))
      expect(failed[TITLES.rates.replace('300', '50')]).to.equal('connect() did not settle within 50 ms')
      expect(failed[TITLES.failing.replace('300', '50')]).to.equal('connect() did not settle within 50 ms')
    })

    it('fails the start-up failure test for a plain Error, a connect() that succeeds anyway, or one without connect()', async () => {
      class Plain extends TableBackend {
        async connect (): Promise<void> { if (this.options.fail === true) throw new Error('ECONNREFUSED'); await super.connect() }
      }
      class Careless extends TableBackend { async connect (): Promise<void> {} }
      expect((await failuresOf(Plain))[TITLES.failing]).to.equal('it failed with Error: ECONNREFUSED, not an OperatorError (an Error with operatorError and a string code)')
      expect((await failuresOf(Careless))[TITLES.failing]).to.equal('connect() resolved with the failing options')
      const bare = await failures(collect(() => {
        backendConformance({ ...manifestOf(TableBackend), create: (options, api) => ({ getRate: (a: string, b: string) => new TableBackend(options, api).getRate(a, b) }) }, ALL)
      }))
      expect(bare).to.deep.equal({ [TITLES.failing]: 'create() succeeded with the failing options and the backend has no connect() to fail' })
    })

    it('passes the start-up failure test when create() throws the OperatorError', async () => {
      const failed = await failures(collect(() => {
        backendConformance({
          ...manifestOf(TableBackend),
          create: (options, api) => {
            if (options.fail === true) throw new OperatorError('ERR_BACKEND_CONFIG', 'backendConfig.fail: not today')
            return new TableBackend(options, api)
          }
        }, ALL)
      }))
      expect(failed).to.deep.equal({})
    })

    it('fails the repeat test for a rate that drifts from call to call', async () => {
      class Drifting extends TableBackend {
        readonly asked = new Map<string, number>()
        getRate (source: string, destination: string): Rate {
          const rate = super.getRate(source, destination) as { numerator: bigint, denominator: bigint }
          const times = (this.asked.get(source + destination) ?? 0) + 1
          this.asked.set(source + destination, times)
          // from the third time on, a little more
          return { numerator: rate.numerator * 1000n + BigInt(times > 2 ? 1 : 0), denominator: rate.denominator * 1000n }
        }
      }
      expect(Object.keys(await failuresOf(Drifting))).to.deep.equal([TITLES.repeat])
    })

    it('fails the submitPayment and disconnect tests when they throw', async () => {
      class Unpaid extends TableBackend { async submitPayment (): Promise<void> { throw new Error('cannot record the payment') } }
      class Once extends TableBackend {
        stopped = false
        async disconnect (): Promise<void> {
          if (this.stopped) throw new Error('already disconnected')
          this.stopped = true
        }
      }
      expect(await failuresOf(Unpaid)).to.deep.equal({ [TITLES.submit]: 'cannot record the payment' })
      expect(await failuresOf(Once)).to.deep.equal({ [TITLES.disconnect]: 'already disconnected' })
    })

    it('refuses options that set spread', async () => {
      const failed = await failures(collect(() => { backendConformance(manifestOf(TableBackend), { options: { spread: 0.5 } }) }))
      expect(failed[TITLES.spread]).to.equal('backendConformance: options must not set spread (the suite sets it)')
    })
  })
})
