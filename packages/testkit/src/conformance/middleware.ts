/**
 * What every middleware must do for the connector to compose it with others: a manifest the cli accepts,
 * handlers that hand a packet on exactly once and give its reply back, and account and lifecycle hooks
 * that tolerate the order in which the connector calls them.
 */
import assert from 'node:assert/strict'
import {
  TYPES_VERSION,
  type Account, type AccountConfig, type DataHandler, type Middleware, type MiddlewareManifest, type MoneyHandler,
  type PacketContext
} from '@conn/types'
import { fakeAccount } from '../account.ts'
import { fakeApi, type FakeApiOptions } from '../api.ts'
import { fulfillFor, packetContext } from '../packet.ts'
import { runner } from '../runner.ts'
import { assertManifest } from './manifest.ts'

export interface MiddlewareConformanceOptions {
  /** The options passed to `create()` (default `{}`). */
  options?: Record<string, unknown>
  /** Options of the test account (default none: the middleware must pass a packet of an unconfigured account). */
  accountConfig?: Partial<AccountConfig>
  /** Parts of the fake MiddlewareApi to replace (see `fakeApi`). */
  api?: FakeApiOptions
  /** If given, a test checks that the middleware has exactly these packet and money handlers. */
  handlers?: readonly HandlerName[]
}

export type HandlerName = typeof DATA_HANDLERS[number] | typeof MONEY_HANDLERS[number]

const DATA_HANDLERS = ['incomingData', 'outgoingData'] as const
const MONEY_HANDLERS = ['incomingMoney', 'outgoingMoney'] as const

/**
 * Registers the conformance tests of a middleware package's manifest (call it in a spec file, inside a
 * `describe()` or at the top level; it adds a `describe('conformance: middleware <name>')`).
 */
export function middlewareConformance (manifest: MiddlewareManifest<any>, conformance: MiddlewareConformanceOptions = {}): void {
  const { describe, it } = runner('middlewareConformance')

  /** Creates the middleware, starts it and adds the account; `use` runs; then it is taken down again. */
  async function withMiddleware (use: (middleware: Middleware, account: Account) => Promise<void>): Promise<void> {
    const account = fakeAccount({ id: 'conformance', config: conformance.accountConfig })
    const api = fakeApi({ accounts: [account], ...conformance.api })
    const middleware = await manifest.create(conformance.options ?? {}, api)
    await middleware.start?.()
    await middleware.addAccount?.(account)
    try {
      await use(middleware, account)
    } finally {
      await middleware.removeAccount?.(account)
      await middleware.stop?.()
    }
  }

  describe(`conformance: middleware ${String(manifest?.name)}`, () => {
    it(`is a middleware manifest with a name and a types range that includes @conn/types ${TYPES_VERSION}`, () => {
      assertManifest(manifest, 'middleware')
    })

    it('create(options, api) returns a middleware with the manifest\'s name and only function handlers', async () => {
      const middleware = await manifest.create(conformance.options ?? {}, fakeApi(conformance.api))
      assert.ok(middleware.name === manifest.name, `the middleware is named ${String(middleware.name)}, the manifest ${manifest.name}`)
      for (const key of [...DATA_HANDLERS, ...MONEY_HANDLERS, 'start', 'stop', 'addAccount', 'removeAccount'] as const) {
        const value = middleware[key]
        assert.ok(value === undefined || typeof value === 'function', `${key} is neither undefined nor a function`)
      }
    })

    const expected = conformance.handlers
    if (expected !== undefined) {
      it(`has exactly the handlers ${expected.join(', ') || '(none)'}`, async () => {
        const middleware = await manifest.create(conformance.options ?? {}, fakeApi(conformance.api))
        const present = [...DATA_HANDLERS, ...MONEY_HANDLERS].filter((kind) => middleware[kind] !== undefined)
        const wanted = [...DATA_HANDLERS, ...MONEY_HANDLERS].filter((kind) => expected.includes(kind))
        assert.ok(present.join() === wanted.join(), `it has ${present.join(', ') || 'no handlers'}, expected ${wanted.join(', ') || 'none'}`)
      })
    }

    it('each data handler calls a pass-through next exactly once and returns its reply unchanged (the same Buffer)', async () => {
      await withMiddleware(async (middleware, account) => {
        for (const kind of DATA_HANDLERS) {
          const handler: DataHandler | undefined = middleware[kind]?.bind(middleware)
          if (handler === undefined) continue
          const ctx = kind === 'incomingData'
            ? packetContext({ account })
            : packetContext({ account, incoming: packetContext({ account }) })
          const reply = fulfillFor(ctx.prepare)
          const calls: PacketContext[] = []
          const result = await handler(ctx, async (next) => { calls.push(next); return reply })
          assert.ok(calls.length === 1, `${kind} called next ${calls.length} times`)
          assert.ok(calls[0]?.account === account, `${kind} passed next a context of another account`)
          assert.ok(result === reply, `${kind} did not return next's reply as is`)
        }
      })
    })

    it('each money handler calls a pass-through next exactly once with the same account and amount', async () => {
      await withMiddleware(async (middleware, account) => {
        for (const kind of MONEY_HANDLERS) {
          const handler: MoneyHandler | undefined = middleware[kind]?.bind(middleware)
          if (handler === undefined) continue
          const calls: Array<{ account: Account, amount: bigint }> = []
          await handler({ account, amount: 100n }, async (next) => { calls.push(next) })
          assert.ok(calls.length === 1, `${kind} called next ${calls.length} times`)
          assert.ok(calls[0]?.account === account, `${kind} passed next a context of another account`)
          assert.ok(calls[0]?.amount === 100n, `${kind} changed the amount`)
        }
      })
    })

    it('addAccount and removeAccount can each be called twice in a row for the same account', async () => {
      await withMiddleware(async (middleware, account) => {
        await middleware.addAccount?.(account)
        await middleware.removeAccount?.(account)
        await middleware.removeAccount?.(account)
        await middleware.addAccount?.(account)
      })
    })

    it('stop() after start() resolves, with no account and after an account was added and removed', async () => {
      const bare = await manifest.create(conformance.options ?? {}, fakeApi(conformance.api))
      await bare.start?.()
      await bare.stop?.()
      await withMiddleware(async () => {})
    })
  })
}
