import { expect } from 'chai'
import { STANDARD_MIDDLEWARE_NAMES } from '../src/standard.ts'
import { ConfigError, OPTIONS, validateAccount, validateConfig, type ConfigIssue } from '../src/config.ts'

const ALICE = { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9 }
const UP = { relation: 'parent', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9 }

/** A config that is valid apart from `overrides`. */
function config (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ilpAddress: 'test.conn', accounts: { alice: { ...ALICE } }, ...overrides }
}

/** A config with one account `a` made of ALICE plus `fields`. */
function withAccount (fields: Record<string, unknown>): Record<string, unknown> {
  return config({ accounts: { a: { ...ALICE, ...fields } } })
}

function configError (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError)
    return err as ConfigError
  }
  expect.fail('expected a ConfigError')
}

function issuesOf (input: unknown, options?: { programmatic?: boolean }): ConfigIssue[] {
  return configError(() => validateConfig(input, options)).issues
}

function pathsOf (input: unknown, options?: { programmatic?: boolean }): string[] {
  return issuesOf(input, options).map((issue) => issue.path)
}

/** A stand-in plugin instance: an object with connect and sendData. */
const pluginInstance = {
  connect: async () => {},
  disconnect: async () => {},
  isConnected: () => true,
  sendData: async (data: Buffer) => data,
  sendMoney: async () => {},
  registerDataHandler: () => {},
  deregisterDataHandler: () => {},
  registerMoneyHandler: () => {},
  deregisterMoneyHandler: () => {},
  on: () => undefined,
  removeListener: () => undefined
}

describe('config', () => {
  describe('validateConfig defaults', () => {
    it('fills in every default of the reference (except backend, chosen at start)', () => {
      const result = validateConfig({ ilpAddress: 'test.conn', accounts: {} })
      expect(result).to.deep.equal({
        env: 'test',
        ilpAddress: 'test.conn',
        ilpAddressInheritFrom: '',
        accounts: {},
        defaultRoute: 'auto',
        routes: [],
        spread: 0.002,
        minMessageWindow: 1000,
        maxHoldTime: 30000,
        routeBroadcastEnabled: true,
        routeBroadcastInterval: 30000,
        routeCleanupInterval: 1000,
        routeExpiry: 45000,
        routingSecret: '',
        backend: '',
        backendConfig: {},
        store: 'memory',
        storePath: '',
        storeConfig: {},
        middlewares: {},
        disableMiddleware: [],
        reflectPayments: true,
        initialConnectTimeout: 10000,
        adminApi: false,
        adminApiPort: 7780,
        adminApiHost: '127.0.0.1',
        adminApiToken: '',
        collectDefaultMetrics: false,
        legacyPlugins: [],
        maxPacketsInFlight: 10000,
        shutdownTimeout: 30000
      })
    })

    it('takes a storePath without a store as the level store (the reference\'s README sets only the path)', () => {
      expect(validateConfig(config({ storePath: '/data/conn' })).store).to.equal('level')
      expect(validateConfig(config({ storePath: '/data/conn', store: 'memory' })).store).to.equal('memory')
      expect(validateConfig(config({ storePath: '' })).store).to.equal('memory')
    })

    it('accepts account ids and the reference\'s BTP plugin names in legacyPlugins, nothing else', () => {
      expect(validateConfig(config({ legacyPlugins: ['alice', 'ilp-plugin-btp', 'ilp-plugin-mini-accounts'] })).legacyPlugins)
        .to.deep.equal(['alice', 'ilp-plugin-btp', 'ilp-plugin-mini-accounts'])
      expect(issuesOf(config({ legacyPlugins: ['carol', 7] }))).to.deep.equal([
        { path: 'legacyPlugins[0]', message: 'expected an account id or one of "ilp-plugin-btp", "ilp-plugin-mini-accounts", got "carol"' },
        { path: 'legacyPlugins[1]', message: 'expected a string, got 7' }
      ])
    })

    it('keeps the given values over the defaults', () => {
      const result = validateConfig(config({ spread: 0, minMessageWindow: 500, store: 'level', env: 'production', reflectPayments: false }))
      expect(result.spread).to.equal(0)
      expect(result.minMessageWindow).to.equal(500)
      expect(result.store).to.equal('level')
      expect(result.env).to.equal('production')
      expect(result.reflectPayments).to.equal(false)
      expect(result.maxHoldTime).to.equal(30000)
    })

    it('gives each config its own copy of object and array defaults', () => {
      const first = validateConfig(config())
      first.routes.push({ targetPrefix: 'test.x', peerId: 'alice' })
      first.backendConfig.foo = 1
      const second = validateConfig(config())
      expect(second.routes).to.deep.equal([])
      expect(second.backendConfig).to.deep.equal({})
      expect(OPTIONS.routes.default).to.deep.equal([])
    })

    it('accepts a full account configuration', () => {
      const account = {
        ...ALICE,
        options: { listener: { port: 7768, secret: 's' } },
        ilpAddressSegment: 'al',
        balance: { minimum: '-1000', maximum: 'Infinity', settleThreshold: '-500', settleTo: '0' },
        maxPacketAmount: '18446744073709551615',
        throughput: { refillPeriod: 100, incomingAmount: '1000', outgoingAmount: '2000' },
        rateLimit: { refillPeriod: 1000, refillCount: 1, capacity: 0 },
        deduplicate: { cleanupInterval: 1, packetLifetime: 1 },
        sendRoutes: true,
        receiveRoutes: false
      }
      const result = validateConfig(config({ accounts: { 'A-z_0~9.x': account } }))
      expect(result.accounts['A-z_0~9.x']).to.deep.equal(account)
    })

    it('accepts static routes, a named default route, a parent to inherit from and custom middleware', () => {
      const result = validateConfig({
        ilpAddress: 'unknown',
        ilpAddressInheritFrom: 'up',
        defaultRoute: 'up',
        accounts: { alice: ALICE, up: UP },
        routes: [{ targetPrefix: 'test.other', peerId: 'alice' }],
        middlewares: { logger: { type: 'conn-logger', options: { level: 'info' }, after: 'balance' } },
        disableMiddleware: ['alert', 'echo'],
        routingSecret: 'c2VjcmV0IGtleSBmb3Igcm91dGVz'
      })
      expect(result.routes).to.deep.equal([{ targetPrefix: 'test.other', peerId: 'alice' }])
      expect(result.middlewares).to.deep.equal({ logger: { type: 'conn-logger', options: { level: 'info' }, after: 'balance' } })
    })

    it('accepts ilpAddress "unknown" when some account is a parent', () => {
      expect(validateConfig({ accounts: { up: UP } }).ilpAddress).to.equal('unknown')
    })

    it('accepts an empty defaultRoute (no default route)', () => {
      expect(validateConfig(config({ defaultRoute: '' })).defaultRoute).to.equal('')
    })
  })

  describe('validateConfig errors', () => {
    it('throws a ConfigError with code ERR_CONFIG whose message has one "path: reason" line per issue', () => {
      const err = configError(() => validateConfig(config({ foo: 1, spread: 2 })))
      expect(err.code).to.equal('ERR_CONFIG')
      expect(err.name).to.equal('ConfigError')
      expect(err.message).to.equal('foo: unknown option\nspread: expected a fraction 0 <= spread < 1, got 2')
    })

    it('rejects a config that is not an object', () => {
      expect(issuesOf('accounts')).to.deep.equal([{ path: '(config)', message: 'expected an object, got "accounts"' }])
      expect(issuesOf(null)).to.deep.equal([{ path: '(config)', message: 'expected an object, got null' }])
      expect(issuesOf([])).to.deep.equal([{ path: '(config)', message: 'expected an object, got an array' }])
    })

    it('reports an unknown top-level option by its name', () => {
      expect(issuesOf(config({ fooBar: true }))).to.deep.equal([{ path: 'fooBar', message: 'unknown option' }])
    })

    it('requires accounts', () => {
      expect(issuesOf({ ilpAddress: 'test.conn' })).to.deep.equal([
        { path: 'accounts', message: 'required (use {} for a connector without accounts)' }
      ])
    })

    it('reports options of the wrong type with what was expected and what was given', () => {
      expect(issuesOf(config({
        accounts: [],
        routes: {},
        minMessageWindow: '1000',
        reflectPayments: 'true',
        ilpAddressInheritFrom: 5,
        backendConfig: 'x',
        maxHoldTime: -1,
        initialConnectTimeout: 1.5
      }))).to.deep.include.members([
        { path: 'accounts', message: 'expected an object, got an array' },
        { path: 'routes', message: 'expected an array, got an object' },
        { path: 'minMessageWindow', message: 'expected an integer >= 0, got "1000"' },
        { path: 'reflectPayments', message: 'expected true or false, got "true"' },
        { path: 'ilpAddressInheritFrom', message: 'expected a string, got 5' },
        { path: 'backendConfig', message: 'expected an object, got "x"' },
        { path: 'maxHoldTime', message: 'expected an integer >= 0, got -1' },
        { path: 'initialConnectTimeout', message: 'expected an integer >= 0, got 1.5' }
      ])
    })

    it('rejects an env other than production or test', () => {
      expect(issuesOf(config({ env: 'dev' }))).to.deep.equal([
        { path: 'env', message: 'expected one of "production", "test", got "dev"' }
      ])
    })

    it('rejects an ilpAddress with characters outside [a-zA-Z0-9._~-]', () => {
      expect(pathsOf(config({ ilpAddress: 'test conn' }))).to.deep.equal(['ilpAddress'])
    })

    it('rejects a spread below 0, at 1 or above, and one that is not a number (NaN)', () => {
      expect(issuesOf(config({ spread: -0.1 }))).to.deep.equal([{ path: 'spread', message: 'expected a fraction 0 <= spread < 1, got -0.1' }])
      expect(issuesOf(config({ spread: 1 }))).to.deep.equal([{ path: 'spread', message: 'expected a fraction 0 <= spread < 1, got 1' }])
      expect(issuesOf(config({ spread: NaN }))).to.deep.equal([{ path: 'spread', message: 'expected a number, got NaN' }])
      expect(issuesOf(config({ spread: '0.1' }))).to.deep.equal([{ path: 'spread', message: 'expected a number, got "0.1"' }])
    })

    it('accepts spreads 0 and 0.999', () => {
      expect(validateConfig(config({ spread: 0.999 })).spread).to.equal(0.999)
      expect(validateConfig(config({ spread: 0 })).spread).to.equal(0)
    })

    it('rejects an adminApiPort above 65535', () => {
      expect(issuesOf(config({ adminApiPort: 65536 }))).to.deep.equal([{ path: 'adminApiPort', message: 'expected an integer 0..65535, got 65536' }])
    })

    it('rejects a routingSecret that is not base64', () => {
      expect(issuesOf(config({ routingSecret: 'not base64!' }))).to.deep.equal([{ path: 'routingSecret', message: 'expected a base64 string' }])
    })

    describe('accounts', () => {
      it('leaves account keys other than its own to the middlewares that declare them (checked at start)', () => {
        expect(validateConfig(withAccount({ bogus: 1, balance: 'anything' })).accounts.a).to.include({ bogus: 1, balance: 'anything' })
      })

      it('reports each missing required field at its path', () => {
        expect(issuesOf(config({ accounts: { a: {} } }))).to.deep.equal([
          { path: 'accounts.a.relation', message: 'required' },
          { path: 'accounts.a.plugin', message: 'required' },
          { path: 'accounts.a.assetCode', message: 'required' },
          { path: 'accounts.a.assetScale', message: 'required' }
        ])
      })

      it('rejects an account that is not an object', () => {
        expect(issuesOf(config({ accounts: { a: 'btp' } }))).to.deep.equal([{ path: 'accounts.a', message: 'expected an object, got "btp"' }])
      })

      it('rejects a relation other than parent, peer or child', () => {
        expect(issuesOf(withAccount({ relation: 'friend' }))).to.deep.equal([
          { path: 'accounts.a.relation', message: 'expected one of "parent", "peer", "child", got "friend"' }
        ])
      })

      it('rejects an assetScale that is not an integer 0..255', () => {
        for (const [assetScale, shown] of [[1.5, '1.5'], [-1, '-1'], [256, '256'], ['9x', '"9x"'], ['9', '"9"']] as const) {
          expect(issuesOf(withAccount({ assetScale }))).to.deep.equal([
            { path: 'accounts.a.assetScale', message: `expected an integer 0..255, got ${shown}` }
          ])
        }
      })

      it('accepts assetScale 0 and 255', () => {
        expect(() => validateConfig(withAccount({ assetScale: 0 }))).to.not.throw()
        expect(() => validateConfig(withAccount({ assetScale: 255 }))).to.not.throw()
      })

      it('rejects an empty assetCode and an empty plugin name', () => {
        expect(issuesOf(withAccount({ assetCode: '', plugin: '' }))).to.deep.equal([
          { path: 'accounts.a.plugin', message: 'expected a non-empty string' },
          { path: 'accounts.a.assetCode', message: 'expected a non-empty string' }
        ])
      })

      it('rejects account ids with characters outside [A-Za-z0-9_-~.]', () => {
        for (const id of ['a b', 'a/b', 'ä', '']) {
          expect(issuesOf(config({ accounts: { [id]: { ...ALICE } } })), id).to.deep.equal([
            { path: `accounts.${id}`, message: 'account id may only contain letters, digits and _ - ~ .' }
          ])
        }
      })

      it('rejects non-boolean sendRoutes/receiveRoutes, a bad ilpAddressSegment and non-object options', () => {
        expect(pathsOf(withAccount({ sendRoutes: 'yes', receiveRoutes: 1, ilpAddressSegment: '', options: 'x' }))).to.deep.equal([
          'accounts.a.options',
          'accounts.a.ilpAddressSegment',
          'accounts.a.sendRoutes',
          'accounts.a.receiveRoutes'
        ])
        expect(pathsOf(withAccount({ ilpAddressSegment: 'a b' }))).to.deep.equal(['accounts.a.ilpAddressSegment'])
      })

      it('accepts a plugin instance only when the config is programmatic', () => {
        expect(validateConfig(withAccount({ plugin: pluginInstance })).accounts.a!.plugin).to.equal(pluginInstance)
        expect(issuesOf(withAccount({ plugin: pluginInstance }), { programmatic: false })).to.deep.equal([
          { path: 'accounts.a.plugin', message: 'expected a package name, got an object' }
        ])
      })

      it('rejects an object that is not a plugin instance, naming what a plugin needs', () => {
        expect(issuesOf(withAccount({ plugin: { connect: () => {} } }))).to.deep.equal([
          { path: 'accounts.a.plugin', message: 'expected a package name or a plugin instance (an object with connect and sendData), got an object' }
        ])
        expect(pathsOf(withAccount({ plugin: 42 }))).to.deep.equal(['accounts.a.plugin'])
      })
    })

    describe('routes', () => {
      it('reports a route missing targetPrefix or peerId by index', () => {
        expect(issuesOf(config({ routes: [{ peerId: 'alice' }, { targetPrefix: 'test.x' }] }))).to.deep.equal([
          { path: 'routes[0].targetPrefix', message: 'required' },
          { path: 'routes[1].peerId', message: 'required' }
        ])
      })

      it('reports a route to an account that does not exist', () => {
        expect(issuesOf(config({ routes: [{ targetPrefix: 'test.x', peerId: 'alice' }, { targetPrefix: 'test.y', peerId: 'bob' }] }))).to.deep.equal([
          { path: 'routes[1].peerId', message: 'no account "bob" in accounts' }
        ])
      })

      it('reports extra keys, non-object entries and bad prefixes in routes', () => {
        expect(pathsOf(config({
          routes: [{ targetPrefix: 'test.x', peerId: 'alice', weight: 1 }, 'test.y', { targetPrefix: 'test y', peerId: 'alice' }]
        }))).to.deep.equal(['routes[0].weight', 'routes[1]', 'routes[2].targetPrefix'])
      })
    })

    describe('routing and addresses', () => {
      it('reports a defaultRoute naming an unknown account', () => {
        expect(issuesOf(config({ defaultRoute: 'bob' }))).to.deep.equal([
          { path: 'defaultRoute', message: 'expected "auto", "" or an account id, got "bob" (no such account)' }
        ])
      })

      it('reports an ilpAddressInheritFrom naming an unknown account', () => {
        expect(issuesOf({ accounts: { up: UP }, ilpAddressInheritFrom: 'bob' })).to.deep.equal([
          { path: 'ilpAddressInheritFrom', message: 'no account "bob" in accounts' }
        ])
      })

      it('reports an ilpAddressInheritFrom naming an account that is not a parent', () => {
        expect(issuesOf({ accounts: { up: UP, alice: ALICE }, ilpAddressInheritFrom: 'alice' })).to.deep.equal([
          { path: 'ilpAddressInheritFrom', message: 'account "alice" is not a parent; only a parent can give us an address' }
        ])
      })

      it('requires an ilpAddress when it is "unknown" and no account is a parent', () => {
        expect(issuesOf({ accounts: { alice: ALICE } })).to.deep.equal([
          { path: 'ilpAddress', message: 'required when no account has relation "parent" (there is nobody to learn it from)' }
        ])
        expect(pathsOf({ accounts: {} })).to.deep.equal(['ilpAddress'])
      })
    })

    describe('middlewares', () => {
      it('rejects a custom middleware with the name of a built-in, with the reference message', () => {
        expect(issuesOf(config({ middlewares: { balance: { type: 'my-balance' } } }))).to.deep.equal([
          { path: 'middlewares.balance', message: 'custom middleware has same name as built-in middleware. name=balance' }
        ])
      })

      it('rejects every built-in name as a custom middleware name', () => {
        for (const name of STANDARD_MIDDLEWARE_NAMES) {
          expect(pathsOf(config({ middlewares: { [name]: { type: 'x' } } }))).to.deep.equal([`middlewares.${name}`])
        }
      })

      it('requires a type on a custom middleware', () => {
        expect(issuesOf(config({ middlewares: { logger: { options: {} } } }))).to.deep.equal([
          { path: 'middlewares.logger.type', message: 'required (the package name of the middleware)' }
        ])
      })

      it('reports bad custom middleware entries at their paths', () => {
        expect(pathsOf(config({
          middlewares: {
            one: 'pkg',
            two: { type: '', options: 'x', extra: 1 },
            three: { type: 'pkg', before: 'balance', after: 'expire' }
          }
        }))).to.deep.equal(['middlewares.one', 'middlewares.two.extra', 'middlewares.two.type', 'middlewares.two.options', 'middlewares.three'])
      })

      it('rejects an unknown name in disableMiddleware by index', () => {
        expect(issuesOf(config({ disableMiddleware: ['alert', 'balanse'] }))).to.deep.equal([{
          path: 'disableMiddleware[1]',
          message: 'expected one of "errorHandler", "rateLimit", "maxPacketAmount", "throughput", "balance", "deduplicate", "echo", "expire", "validateFulfillment", "stats", "alert", got "balanse"'
        }])
      })
    })

    it('lists every issue at once, each with its own path', () => {
      const issues = issuesOf({
        env: 'staging',
        spread: 1.5,
        accounts: {
          a: { relation: 'friend', plugin: 'p', assetCode: 'XRP', assetScale: 300 },
          b: { relation: 'peer', plugin: 'p', assetCode: 'XRP' }
        },
        routes: [{ targetPrefix: 'test.x', peerId: 'nobody' }],
        defaultRoute: 'nobody',
        middlewares: { expire: { type: 'x' } },
        disableMiddleware: ['nothing'],
        unknownThing: 1
      })
      expect(issues.map((issue) => issue.path)).to.deep.equal([
        'unknownThing',
        'env',
        'spread',
        'accounts.a.relation',
        'accounts.a.assetScale',
        'accounts.b.assetScale',
        'routes[0].peerId',
        'defaultRoute',
        'ilpAddress',
        'middlewares.expire',
        'disableMiddleware[0]'
      ])
    })
  })

  describe('validateAccount', () => {
    it('returns a valid account unchanged', () => {
      const account = { ...ALICE, maxPacketAmount: '100' }
      expect(validateAccount('alice', account)).to.equal(account)
    })

    it('throws a ConfigError listing every issue under accounts.<id>', () => {
      const err = configError(() => validateAccount('bob', { relation: 'peer', plugin: 'p', assetScale: -1, sendRoutes: 'yes' }))
      expect(err.issues).to.deep.equal([
        { path: 'accounts.bob.assetCode', message: 'required' },
        { path: 'accounts.bob.assetScale', message: 'expected an integer 0..255, got -1' },
        { path: 'accounts.bob.sendRoutes', message: 'expected true or false, got "yes"' }
      ])
      expect(err.message).to.equal([
        'accounts.bob.assetCode: required',
        'accounts.bob.assetScale: expected an integer 0..255, got -1',
        'accounts.bob.sendRoutes: expected true or false, got "yes"'
      ].join('\n'))
    })

    it('accepts a plugin instance by default and refuses it when not programmatic', () => {
      expect(validateAccount('a', { ...ALICE, plugin: pluginInstance }).plugin).to.equal(pluginInstance)
      expect(configError(() => validateAccount('a', { ...ALICE, plugin: pluginInstance }, false)).issues).to.deep.equal([
        { path: 'accounts.a.plugin', message: 'expected a package name, got an object' }
      ])
    })

    it('rejects a bad account id', () => {
      expect(configError(() => validateAccount('a:b', ALICE)).issues.map((issue) => issue.path)).to.deep.equal(['accounts.a:b'])
    })
  })
})
