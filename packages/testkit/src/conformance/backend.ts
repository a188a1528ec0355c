/**
 * What every rate backend must do for the connector: be made from its manifest with `{ spread, ...options }`
 * and `{ getInfo, logger }`, connect or fail with an operator error (never hang), and give rates the switch
 * can use as they are: positive, with the spread and both asset scales in them, refused for an account it
 * does not know, the same when asked again.
 */
import assert from 'node:assert/strict'
import { isOperatorError, type Account, type Backend, type BackendApi, type BackendManifest, type Rate } from '@conn/types'
import { fakeAccount } from '../account.ts'
import { RecordingLogger } from '../logger.ts'
import { runner } from '../runner.ts'
import { assertManifest } from './manifest.ts'
import { DEFAULT_LIMIT, call, within } from './settle.ts'

type Options = Record<string, unknown>

export interface BackendConformanceOptions {
  /** Title of the describe block (default `conformance: backend <name>`). */
  title?: string
  /**
   * Options passed to `create()` after `spread` (the connector passes `{ spread, ...backendConfig, name }`),
   * e.g. `name` and the URL of a local rate source. A function is called for every backend made, so it can
   * read a port known only once the tests run. Must not set `spread`: the suite sets it.
   */
  options?: Options | (() => Options)
  /** Two asset codes the backend has a rate between, source then destination (default `['USD', 'EUR']`). */
  assets?: readonly [string, string]
  /** If given, an asset code the backend has no rate for: a rate to or from it must be refused. */
  missingAsset?: string
  /**
   * Options (after `spread: 0`) with which the backend cannot start, e.g. a rate source that answers 404 or
   * never answers: `create()` must throw, or `connect()` reject, with an OperatorError of `@conn/types`.
   */
  failingOptions?: Options | (() => Options)
  /** Relative difference allowed where two rates must agree in ratio, for backends that round (default 1e-12). */
  precision?: number
  /** ms that `create()`, `connect()`, `getRate()`, `submitPayment()` and `disconnect()` may each take (default 2000). */
  timeout?: number
}

/** The accounts the suite gives the backend through `getInfo`. */
const SOURCE = 'conformance-source'
const DESTINATION = 'conformance-destination'
const SOURCE_6 = 'conformance-source-6'
const DESTINATION_6 = 'conformance-destination-6'
const UNKNOWN = 'conformance-unknown'
const MISSING = 'conformance-missing-asset'

interface Fraction { numerator: bigint, denominator: bigint }

/** A rate as an exact fraction: a number read through its shortest decimal form, as the connector reads it. */
function fractionOf (rate: Rate): Fraction {
  if (typeof rate !== 'number') return rate
  const match = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/.exec(String(rate))!
  const [, whole = '', fraction = '', exponentText = '0'] = match
  const exponent = Number(exponentText) - fraction.length
  const digits = BigInt((whole + fraction) || '0')
  return exponent >= 0
    ? { numerator: digits * 10n ** BigInt(exponent), denominator: 1n }
    : { numerator: digits, denominator: 10n ** BigInt(-exponent) }
}

function show (rate: unknown): string {
  if (typeof rate === 'object' && rate !== null && 'numerator' in rate && 'denominator' in rate) {
    const { numerator, denominator } = rate as { numerator: unknown, denominator: unknown }
    return `${String(numerator)}/${String(denominator)}`
  }
  return typeof rate === 'bigint' ? `${rate}n` : String(rate)
}

/** Throws unless `rate` is a finite positive number or a fraction of two positive BigInts. */
function assertRate (rate: unknown, what: string): asserts rate is Rate {
  if (typeof rate === 'number') {
    assert.ok(Number.isFinite(rate) && rate > 0, `${what} is ${rate}, not a finite positive number`)
    return
  }
  assert.ok(typeof rate === 'object' && rate !== null, `${what} is ${show(rate)}, neither a number nor a { numerator, denominator } fraction`)
  const { numerator, denominator } = rate as { numerator: unknown, denominator: unknown }
  assert.ok(typeof numerator === 'bigint' && typeof denominator === 'bigint',
    `${what} is a fraction of ${typeof numerator} and ${typeof denominator}, not of two BigInts`)
  assert.ok(numerator > 0n && denominator > 0n, `${what} is ${show(rate)}, not a positive fraction`)
}

/**
 * Throws unless `rate / base` equals `ratio` (a fraction) within the relative `precision`, computed exactly
 * on the fractions so that no floating-point step hides or makes a difference.
 */
function assertRatio (rate: Rate, base: Rate, ratio: Fraction, precision: number, what: string): void {
  const a = fractionOf(rate)
  const b = fractionOf(base)
  // rate / base / ratio - 1 = (a.n b.d r.d - r.n a.d b.n) / (r.n a.d b.n)
  const wanted = ratio.numerator * a.denominator * b.numerator
  const difference = a.numerator * b.denominator * ratio.denominator - wanted
  const SCALE = 10n ** 18n
  const relative = Number((difference < 0n ? -difference : difference) * SCALE / wanted) / 1e18
  assert.ok(relative <= precision,
    `${what}: ${show(rate)} is not ${show(ratio)} x ${show(base)} (off by a factor of ${(1 + Number(difference * SCALE / wanted) / 1e18).toPrecision(6)}, ` +
    `more than the precision ${precision})`)
}

/**
 * Registers the conformance tests of a backend package's manifest (call it in a spec file, inside a
 * `describe()` or at the top level; it adds a `describe('conformance: backend <name>')`). Each test makes
 * its own backends, connects them, and disconnects them at the end.
 */
export function backendConformance (manifest: BackendManifest, conformance: BackendConformanceOptions = {}): void {
  const { describe, it } = runner('backendConformance')
  const limit = conformance.timeout ?? DEFAULT_LIMIT
  const precision = conformance.precision ?? 1e-12
  const [sourceAsset, destinationAsset] = conformance.assets ?? ['USD', 'EUR']

  function optionsOf (options: BackendConformanceOptions['options']): Options {
    const value = typeof options === 'function' ? options() : options ?? {}
    assert.ok(!('spread' in value), 'backendConformance: options must not set spread (the suite sets it)')
    return value
  }

  function api (): BackendApi & { accounts: Map<string, Account> } {
    const accounts = new Map<string, Account>()
    const add = (id: string, assetCode: string, assetScale: number): void => { accounts.set(id, fakeAccount({ id, assetCode, assetScale })) }
    add(SOURCE, sourceAsset, 9)
    add(DESTINATION, destinationAsset, 9)
    add(SOURCE_6, sourceAsset, 6)
    add(DESTINATION_6, destinationAsset, 6)
    if (conformance.missingAsset !== undefined) add(MISSING, conformance.missingAsset, 9)
    return { getInfo: (id) => accounts.get(id), logger: new RecordingLogger(), accounts }
  }

  async function create (spread: number, options: Options): Promise<Backend> {
    return await within(call(() => manifest.create({ spread, ...options }, api())), limit, 'create()')
  }

  /** Makes a connected backend with `spread`, runs `use`, disconnects it. */
  async function withBackend (spread: number, use: (backend: Backend) => Promise<void>): Promise<void> {
    const backend = await create(spread, optionsOf(conformance.options))
    try {
      if (backend.connect !== undefined) await within(call(() => backend.connect!()), limit, 'connect()')
      await use(backend)
    } finally {
      if (backend.disconnect !== undefined) await within(call(() => backend.disconnect!()), limit, 'disconnect()')
    }
  }

  async function rate (backend: Backend, source: string, destination: string): Promise<Rate> {
    const result: unknown = await within(call(() => backend.getRate(source, destination)), limit, `getRate(${source}, ${destination})`)
    assertRate(result, `getRate(${source}, ${destination})`)
    return result
  }

  /** What getRate does for a pair it must refuse: the error, or a message saying what it gave instead. */
  async function refusal (backend: Backend, source: string, destination: string): Promise<void> {
    let result: unknown
    try {
      result = await within(call(() => backend.getRate(source, destination)), limit, `getRate(${source}, ${destination})`)
    } catch (err) {
      assert.ok(!(err instanceof Error && / did not settle within /.test(err.message)), (err as Error).message)
      assert.ok(err instanceof Error, `getRate(${source}, ${destination}) rejected with ${String(err)}, not an Error`)
      return
    }
    assert.fail(`getRate(${source}, ${destination}) gave the rate ${show(result)} instead of rejecting`)
  }

  describe(conformance.title ?? `conformance: backend ${String(manifest?.name)}`, () => {
    it('is a backend manifest with a name, a types range that includes this @conn/types, and create', () => {
      assertManifest(manifest, 'backend')
    })

    it('create({ spread, ...options }, { getInfo, logger }) gives a backend with getRate, and connect, disconnect and submitPayment functions if any', async () => {
      const backend = await create(0, optionsOf(conformance.options))
      assert.ok(typeof backend === 'object' && backend !== null, `create() gave ${String(backend)}, not a backend`)
      assert.ok(typeof backend.getRate === 'function', 'getRate is not a function')
      for (const key of ['connect', 'disconnect', 'submitPayment'] as const) {
        assert.ok(backend[key] === undefined || typeof backend[key] === 'function', `${key} is neither undefined nor a function`)
      }
    })

    it(`connect() resolves (within ${limit} ms) and the backend gives a finite positive rate or a positive BigInt fraction, both ways`, async () => {
      await withBackend(0, async (backend) => {
        await rate(backend, SOURCE, DESTINATION)
        await rate(backend, DESTINATION, SOURCE)
        await rate(backend, SOURCE, SOURCE)
      })
    })

    if (conformance.failingOptions !== undefined) {
      const failing = conformance.failingOptions
      it(`with options it cannot start with, create() throws or connect() rejects (within ${limit} ms) with an OperatorError`, async () => {
        let err: unknown
        let backend: Backend | undefined
        try {
          backend = await create(0, optionsOf(failing))
        } catch (caught) {
          err = caught
        }
        if (backend !== undefined) {
          assert.ok(backend.connect !== undefined, 'create() succeeded with the failing options and the backend has no connect() to fail')
          try {
            await within(call(() => backend.connect!()), limit, 'connect()')
          } catch (caught) {
            err = caught
          } finally {
            await within(call(() => backend.disconnect?.()), limit, 'disconnect() after the failed connect()')
          }
        }
        assert.ok(err !== undefined, 'connect() resolved with the failing options')
        assert.ok(!(err instanceof Error && / did not settle within /.test(err.message)), (err as Error).message)
        assert.ok(isOperatorError(err), `it failed with ${String(err)}, not an OperatorError (an Error with operatorError and a string code)`)
        assert.ok(err.message !== '', 'the OperatorError has no message')
      })
    }

    it('applies the spread: the rate with spread 0.01 is 0.99 times the rate with spread 0', async () => {
      await withBackend(0, async (plain) => {
        await withBackend(0.01, async (spread) => {
          const ratio = { numerator: 99n, denominator: 100n }
          assertRatio(await rate(spread, SOURCE, DESTINATION), await rate(plain, SOURCE, DESTINATION), ratio, precision, `getRate(${SOURCE}, ${DESTINATION})`)
          assertRatio(await rate(spread, DESTINATION, SOURCE), await rate(plain, DESTINATION, SOURCE), ratio, precision, `getRate(${DESTINATION}, ${SOURCE})`)
        })
      })
    })

    it('applies the asset scales: to scale 6 the rate is 1/1000 of the rate to scale 9, from scale 6 it is 1000 times', async () => {
      await withBackend(0.01, async (backend) => {
        const base = await rate(backend, SOURCE, DESTINATION)
        assertRatio(await rate(backend, SOURCE, DESTINATION_6), base, { numerator: 1n, denominator: 1000n }, precision, `getRate(${SOURCE}, ${DESTINATION_6})`)
        assertRatio(await rate(backend, SOURCE_6, DESTINATION), base, { numerator: 1000n, denominator: 1n }, precision, `getRate(${SOURCE_6}, ${DESTINATION})`)
        assertRatio(await rate(backend, SOURCE_6, DESTINATION_6), base, { numerator: 1n, denominator: 1n }, precision, `getRate(${SOURCE_6}, ${DESTINATION_6})`)
      })
    })

    it('refuses a rate from or to an account getInfo does not know with an Error (not a rate)', async () => {
      await withBackend(0, async (backend) => {
        await refusal(backend, UNKNOWN, DESTINATION)
        await refusal(backend, SOURCE, UNKNOWN)
      })
    })

    if (conformance.missingAsset !== undefined) {
      it(`refuses a rate from or to an asset it has no rate for (${conformance.missingAsset}) with an Error (not a rate)`, async () => {
        await withBackend(0, async (backend) => {
          await refusal(backend, MISSING, DESTINATION)
          await refusal(backend, SOURCE, MISSING)
        })
      })
    }

    it('gives the same rate when asked again, also after other pairs and refusals', async () => {
      await withBackend(0.01, async (backend) => {
        const first = await rate(backend, SOURCE, DESTINATION)
        await rate(backend, DESTINATION, SOURCE)
        await rate(backend, SOURCE_6, DESTINATION_6)
        await refusal(backend, UNKNOWN, DESTINATION)
        const again = await Promise.all([1, 2, 3].map(async () => await rate(backend, SOURCE, DESTINATION)))
        for (const later of again) {
          assertRatio(later, first, { numerator: 1n, denominator: 1n }, 0, `getRate(${SOURCE}, ${DESTINATION}) asked again`)
        }
      })
    })

    it('submitPayment(payment), if it has one, resolves', async () => {
      await withBackend(0, async (backend) => {
        if (backend.submitPayment === undefined) return
        await within(call(() => backend.submitPayment!({
          sourceAccount: SOURCE, sourceAmount: '1000', destinationAccount: DESTINATION, destinationAmount: '990'
        })), limit, 'submitPayment()')
      })
    })

    it('disconnect(), if it has one, resolves twice in a row, after connect() and without it', async () => {
      const bare = await create(0, optionsOf(conformance.options))
      if (bare.disconnect === undefined) return
      await within(call(() => bare.disconnect!()), limit, 'disconnect() without connect()')
      await within(call(() => bare.disconnect!()), limit, 'disconnect() again without connect()')
      await withBackend(0, async (backend) => {
        await within(call(() => backend.disconnect!()), limit, 'disconnect()')
      })
    })
  })
}
