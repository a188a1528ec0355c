import { TYPES_RANGE } from '@conn/types'
/**
 * Middleware options as the manifests declare them: core checks account options, custom middleware options,
 * backendConfig and storeConfig against the schemas, knows none itself, and refuses an option nobody declares;
 * and services (what a middleware offers the admin API) as the manifests declare them.
 */
import { expect } from 'chai'
import type { AccountConfig, ExtensionManifest, MiddlewareManifest, OptionSchema } from '@conn/types'
import { createApp, ConfigError, LoadError, checkOption, type Connector } from '../src/index.ts'
import { checkAccountOptions, type LoadedMiddlewares } from '../src/middlewares.ts'
import { STANDARD_MIDDLEWARES } from '../src/standard.ts'
import { MockPlugin } from './helpers/mock-plugin.ts'
import { captureLogger, silentLogger } from './helpers/logger.ts'
import { REQUIRED_STAND_INS, passThrough } from './helpers/stand-ins.ts'

const BLOCKLIST: OptionSchema = { type: 'array', items: { type: 'string', nonEmpty: true } }

function account (extra: Record<string, unknown> = {}): AccountConfig {
  return { relation: 'child', plugin: new MockPlugin(), assetCode: 'USD', assetScale: 9, ...extra }
}

function loaded (manifests: Record<string, MiddlewareManifest>, absent: LoadedMiddlewares['absent'] = []): LoadedMiddlewares {
  return { middlewares: [], manifests: new Map(Object.entries(manifests)), absent }
}

const standard = (name: string): typeof STANDARD_MIDDLEWARES[number] => STANDARD_MIDDLEWARES.find((m) => m.name === name)!

describe('middleware options and services', () => {
  describe('checkOption (the schema vocabulary)', () => {
    it('checks each kind of schema with the messages of core\'s own options, at the right path', () => {
      expect(checkOption(['a', ''], BLOCKLIST, 'x')).to.deep.equal([{ path: 'x[1]', message: 'expected a non-empty string' }])
      expect(checkOption(7, { type: 'integer', minimum: 100 }, 'p')).to.deep.equal([{ path: 'p', message: 'expected an integer >= 100, got 7' }])
      expect(checkOption('18446744073709551616', { type: 'amount', pattern: /^[1-9][0-9]*$/, patternText: 'a positive integer string' }, 'a'))
        .to.deep.equal([{ path: 'a', message: 'expected a positive integer string within 64 bits, got "18446744073709551616"' }])
      const object: OptionSchema = {
        type: 'object',
        properties: { low: { type: 'integer' }, high: { type: 'integer' } },
        required: ['high'],
        check: (v) => (v.low as number) > (v.high as number) ? [{ path: 'low', message: 'above high' }] : []
      }
      expect(checkOption({ low: 1, extra: true }, object, 'o')).to.deep.equal([
        { path: 'o.high', message: 'required' },
        { path: 'o.extra', message: 'unknown option' }
      ])
      expect(checkOption({ low: 5, high: 1 }, object, 'o')).to.deep.equal([{ path: 'o.low', message: 'above high' }])
      expect(checkOption('nope', { type: 'boolean' }, 'b')).to.deep.equal([{ path: 'b', message: 'expected true or false, got "nope"' }])
    })
  })

  describe('checkAccountOptions', () => {
    it('checks each account option against the schema of the middleware that declares it', () => {
      const { issues } = checkAccountOptions(
        { alice: account({ blocklist: ['test.x', 7] }), bob: account({ blocklist: ['test.y'] }) },
        loaded({ blocker: passThrough('blocker', { accountOptions: { blocklist: BLOCKLIST } }) }))
      expect(issues).to.deep.equal([{ path: 'accounts.alice.blocklist[1]', message: 'expected a string, got 7' }])
    })

    it('refuses an option no running middleware declares, naming the field (a misspelt one)', () => {
      const { issues } = checkAccountOptions({ alice: account({ blocklsit: ['test.x'] }) },
        loaded({ blocker: passThrough('blocker', { accountOptions: { blocklist: BLOCKLIST } }) }))
      expect(issues).to.deep.equal([{ path: 'accounts.alice.blocklsit', message: 'unknown option (no middleware that runs declares it)' }])
    })

    it('reports the options of a standard middleware that does not run as not enforced, not as unknown', () => {
      const { issues, unenforced } = checkAccountOptions(
        { alice: account({ balance: { maximum: '10' } }), bob: account({ maxPacketAmount: '5' }) },
        loaded({}, [{ standard: standard('balance'), why: 'disabled' }, { standard: standard('maxPacketAmount'), why: 'not installed' },
          { standard: standard('rateLimit'), why: 'not installed' }]))
      expect(issues).to.deep.equal([])
      expect(unenforced).to.deep.equal([
        { middleware: 'balance', package: '@conn/middleware-balance', why: 'disabled', options: ['accounts.alice.balance'] },
        { middleware: 'maxPacketAmount', package: '@conn/middleware-max-packet-amount', why: 'not installed', options: ['accounts.bob.maxPacketAmount'] },
        { middleware: 'rateLimit', package: '@conn/middleware-rate-limit', why: 'not installed', options: ['the default rate limit (10000 packets per second per account)'] }
      ])
    })

    it('leaves core\'s own account options alone', () => {
      expect(checkAccountOptions({ alice: account({ sendRoutes: true, ilpAddressSegment: 'al', options: {} }) }, loaded({})).issues).to.deep.equal([])
    })
  })

  describe('at start', () => {
    let app: Connector | undefined
    afterEach(async () => { await app?.shutdown(); app = undefined })

    it('starts with a third-party middleware\'s account option, and refuses a misspelt one before any plugin connects', async () => {
      const blocker = passThrough('blocker', { accountOptions: { blocklist: BLOCKLIST } })
      app = createApp({ ilpAddress: 'test.conn', accounts: { alice: account({ blocklist: ['test.x'] }) }, middlewares: { blocker: { type: 'blocker' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, blocker: { default: blocker } } })
      await app.listen()
      await app.shutdown()

      const plugin = new MockPlugin()
      app = createApp({ ilpAddress: 'test.conn', accounts: { alice: { ...account({ blocklsit: ['test.x'] }), plugin } }, middlewares: { blocker: { type: 'blocker' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, blocker: { default: blocker } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: ConfigError) => {
        expect(err).to.be.instanceOf(ConfigError)
        expect(err.issues).to.deep.equal([{ path: 'accounts.alice.blocklsit', message: 'unknown option (no middleware that runs declares it)' }])
      })
      expect(plugin.connected).to.equal(false)
    })

    it('checks an account added at run time the same way', async () => {
      const blocker = passThrough('blocker', { accountOptions: { blocklist: BLOCKLIST } })
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { blocker: { type: 'blocker' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, blocker: { default: blocker } } })
      await app.listen()
      await app.addPlugin('carol', account({ blocklist: 'test.x' })).then(() => expect.fail('addPlugin should reject'), (err: ConfigError) => {
        expect(err.issues).to.deep.equal([{ path: 'accounts.carol.blocklist', message: 'expected an array, got "test.x"' }])
      })
      expect(app.getAccount('carol')).to.equal(undefined)
    })

    it('checks a custom middleware\'s options, backendConfig and storeConfig against their manifests', async () => {
      const configurable = passThrough('x', { options: { type: 'object', properties: { level: { type: 'integer', minimum: 1 } } } })
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { x: { type: 'x', options: { level: 0 } } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, x: { default: configurable } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: ConfigError) => {
        expect(err.issues).to.deep.equal([{ path: 'middlewares.x.options.level', message: 'expected an integer >= 1, got 0' }])
      })
      const backend = { kind: 'backend', name: 'b', types: TYPES_RANGE, options: { type: 'object', properties: { url: { type: 'string' } } }, create: () => ({ getRate: () => 1 }) }
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, backend: 'b', backendConfig: { ulr: 'x' } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, b: { default: backend } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: ConfigError) => {
        expect(err.issues).to.deep.equal([{ path: 'backendConfig.ulr', message: 'unknown option' }])
      })
      const store = { kind: 'store', name: 's', types: TYPES_RANGE, options: { type: 'object', properties: { sync: { type: 'boolean' } } }, create: () => new Map() }
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, store: 's', storeConfig: { sync: 'yes' } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, s: { default: store } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: ConfigError) => {
        expect(err.issues).to.deep.equal([{ path: 'storeConfig.sync', message: 'expected true or false, got "yes"' }])
      })
    })

    it('warns at start about the options of a disabled standard middleware', async () => {
      const { logger, warnings } = captureLogger('info')
      app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['balance'], accounts: { alice: account({ balance: { maximum: '10' } }) } },
        { logger, modules: REQUIRED_STAND_INS })
      await app.listen()
      expect(warnings()).to.include('not enforced: accounts.alice.balance, because the balance middleware is in disableMiddleware')
    })
  })

  describe('services', () => {
    let app: Connector | undefined
    afterEach(async () => { await app?.shutdown(); app = undefined })

    const provider = (name: string, service: object | undefined): MiddlewareManifest =>
      passThrough(name, { provides: ['balanceAdmin'], create: () => ({ name, ...(service === undefined ? {} : { services: { balanceAdmin: service } }) }) as never })
    const balanceAdmin = { getBalances: async () => ({}), adjustBalance: async () => 0n }

    it('hands out what a middleware provides, by name', async () => {
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { p: { type: 'p' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, p: { default: provider('p', balanceAdmin) } } })
      await app.listen()
      expect(app.getService('balanceAdmin')).to.equal(balanceAdmin)
      expect(app.getService('alertAdmin')).to.equal(undefined)
    })

    it('refuses a middleware whose manifest promises a service its instance does not offer, and two providers of one', async () => {
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { p: { type: 'p' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, p: { default: provider('p', undefined) } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
        expect(err.message).to.equal('middleware p: its manifest says it provides balanceAdmin, but the middleware it creates has no services.balanceAdmin')
      })
      app = createApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { p: { type: 'p' }, q: { type: 'q' } } },
        { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, p: { default: provider('p', balanceAdmin) }, q: { default: provider('q', balanceAdmin) } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
        expect(err.message).to.equal('middlewares p and q both provide balanceAdmin; disable one of them')
      })
    })

    it('refuses to start an extension whose required service nobody provides', async () => {
      const admin: ExtensionManifest = { kind: 'extension', name: 'a', types: TYPES_RANGE, requires: ['alertAdmin'], create: () => ({ start: () => {}, stop: () => {} }) }
      app = createApp({ ilpAddress: 'test.conn', adminApi: true, accounts: {} }, { logger: silentLogger, modules: { ...REQUIRED_STAND_INS, '@conn/admin-api': { default: admin } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
        expect(err.message).to.equal('admin API (@conn/admin-api) requires alertAdmin, which no middleware that runs provides')
      })
    })
  })
})
