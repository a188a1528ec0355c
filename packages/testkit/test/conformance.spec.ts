import { TYPES_RANGE, TYPES_VERSION } from '@conn/types'
import { expect } from 'chai'
import type { Account, DataHandler, Middleware, MiddlewareManifest, MoneyHandler } from '@conn/types'
import { middlewareConformance } from '../src/index.ts'
import { collect, failures } from './helpers.ts'

/** A well-behaved middleware: counts packets per account, passes everything on. */
class Counting implements Middleware {
  readonly name = 'counting'
  readonly counts = new Map<string, number>()
  incomingData: DataHandler = async (ctx, next) => {
    this.counts.set(ctx.account.id, (this.counts.get(ctx.account.id) ?? 0) + 1)
    return await next(ctx)
  }

  outgoingData: DataHandler = async (ctx, next) => await next(ctx)
  incomingMoney: MoneyHandler = async (ctx, next) => { await next(ctx) }
  addAccount (account: Account): void { this.counts.set(account.id, 0) }
  removeAccount (account: Account): void { this.counts.delete(account.id) }
}

const counting: MiddlewareManifest = { kind: 'middleware', name: 'counting', types: TYPES_RANGE, create: () => new Counting() }

/** The conformance tests of a manifest derived from `counting`, run by hand: failed titles and messages. */
async function failuresOf (manifest: Partial<MiddlewareManifest>): Promise<Record<string, string>> {
  return await failures(collect(() => { middlewareConformance({ ...counting, ...manifest } as MiddlewareManifest) }))
}

const TITLES = {
  manifest: `is a middleware manifest with a name and a types range that includes @conn/types ${TYPES_VERSION}`,
  create: 'create(options, api) returns a middleware with the manifest\'s name and only function handlers',
  data: 'each data handler calls a pass-through next exactly once and returns its reply unchanged (the same Buffer)',
  money: 'each money handler calls a pass-through next exactly once with the same account and amount',
  accounts: 'addAccount and removeAccount can each be called twice in a row for the same account',
  lifecycle: 'stop() after start() resolves, with no account and after an account was added and removed'
}

describe('conformance', () => {
  describe('middlewareConformance on a well-behaved middleware', () => {
    middlewareConformance(counting, { handlers: ['incomingData', 'outgoingData', 'incomingMoney'] })
  })

  describe('middlewareConformance catches broken middlewares', () => {
    it('registers the six tests, all passing for a well-behaved middleware', async () => {
      const tests = collect(() => { middlewareConformance(counting) })
      expect([...tests.keys()]).to.deep.equal(Object.values(TITLES))
      expect(await failures(tests)).to.deep.equal({})
    })

    it('fails the manifest test for another kind, an empty name, or a types range without this version', async () => {
      expect(await failuresOf({ kind: 'store' as 'middleware' })).to.have.property(TITLES.manifest, 'manifest.kind is store, not "middleware"')
      expect(await failuresOf({ name: '' })).to.have.property(TITLES.manifest, 'manifest.name is not a non-empty string')
      expect(await failuresOf({ types: '^99.0.0' })).to.have.property(TITLES.manifest, `manifest.types "^99.0.0" does not include ${TYPES_VERSION}`)
    })

    it('fails the create test when the middleware\'s name is not the manifest\'s, or a handler is not a function', async () => {
      expect(await failuresOf({ name: 'other' })).to.deep.equal({ [TITLES.create]: 'the middleware is named counting, the manifest other' })
      const broken = await failuresOf({ create: () => Object.assign(new Counting(), { outgoingMoney: 'yes' }) as unknown as Middleware })
      expect(broken[TITLES.create]).to.equal('outgoingMoney is neither undefined nor a function')
    })

    it('fails the data test for a handler that calls next twice, not at all, or returns another reply', async () => {
      const twice = await failuresOf({
        create: () => Object.assign(new Counting(), { outgoingData: (async (ctx, next) => { await next(ctx); return await next(ctx) }) satisfies DataHandler })
      })
      expect(twice[TITLES.data]).to.equal('outgoingData called next 2 times')
      const never = await failuresOf({ create: () => Object.assign(new Counting(), { incomingData: (async () => Buffer.alloc(0)) satisfies DataHandler }) })
      expect(never[TITLES.data]).to.equal('incomingData called next 0 times')
      const copy = await failuresOf({
        create: () => Object.assign(new Counting(), { incomingData: (async (ctx, next) => Buffer.from(await next(ctx))) satisfies DataHandler })
      })
      expect(copy[TITLES.data]).to.equal('incomingData did not return next\'s reply as is')
    })

    it('fails the money test for a handler that swallows the money or changes the amount', async () => {
      const swallow = await failuresOf({ create: () => Object.assign(new Counting(), { incomingMoney: (async () => {}) satisfies MoneyHandler }) })
      expect(swallow[TITLES.money]).to.equal('incomingMoney called next 0 times')
      const halve = await failuresOf({
        create: () => Object.assign(new Counting(), { outgoingMoney: (async (ctx, next) => { await next({ ...ctx, amount: ctx.amount / 2n }) }) satisfies MoneyHandler })
      })
      expect(halve[TITLES.money]).to.equal('outgoingMoney changed the amount')
    })

    it('fails the account test for a middleware that throws on an account it already has, or no longer has', async () => {
      class Strict extends Counting {
        addAccount (account: Account): void {
          if (this.counts.has(account.id)) throw new Error('already added')
          super.addAccount(account)
        }

        removeAccount (account: Account): void {
          if (!this.counts.has(account.id)) throw new Error('not added')
          super.removeAccount(account)
        }
      }
      expect(await failuresOf({ create: () => new Strict() })).to.deep.equal({ [TITLES.accounts]: 'already added' })
    })

    it('checks the exact set of handlers when told which to expect, in any order', async () => {
      const handlers = collect(() => { middlewareConformance(counting, { handlers: ['incomingMoney', 'incomingData', 'outgoingData'] }) })
      const title = 'has exactly the handlers incomingMoney, incomingData, outgoingData'
      expect(handlers.has(title)).to.equal(true)
      expect(await failures(handlers)).to.deep.equal({})
      const fewer = await failures(collect(() => { middlewareConformance(counting, { handlers: ['incomingData'] }) }))
      expect(fewer).to.deep.equal({ 'has exactly the handlers incomingData': 'it has incomingData, outgoingData, incomingMoney, expected incomingData' })
    })

    it('fails the lifecycle test for a stop() that throws', async () => {
      const failed = await failuresOf({ create: () => Object.assign(new Counting(), { stop: () => { throw new Error('cannot stop') } }) })
      expect(failed[TITLES.lifecycle]).to.equal('cannot stop')
    })

    it('says what to do when no test runner globals are there', () => {
      const globals = globalThis as Record<string, unknown>
      const it = globals.it
      globals.it = undefined
      try {
        expect(() => { middlewareConformance(counting) }).to.throw('registers tests with the global it() of mocha')
      } finally {
        globals.it = it
      }
    })
  })
})
