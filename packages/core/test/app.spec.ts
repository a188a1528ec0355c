import { expect } from 'chai'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import { BadRequestError, PluginOptionsError,
  type AccountConfig, type Middleware, type MiddlewareApi, type MiddlewareManifest, type Plugin, TYPES_RANGE } from '@conn/types'
import { createApp, ConfigError, LoadError, type Connector } from '../src/index.ts'
import { MockPlugin } from './helpers/mock-plugin.ts'
import { captureLogger, silentLogger } from './helpers/logger.ts'
import { REQUIRED_STAND_INS, rejecting } from './helpers/stand-ins.ts'
import { PEER_PROTOCOL_CONDITION } from '@conn/codec'

const PLUGIN_APP = fileURLToPath(new URL('./fixtures/plugin-app/', import.meta.url))

function child (plugin: Plugin | string, extra: Partial<AccountConfig> = {}): AccountConfig {
  return { relation: 'child', plugin, assetCode: 'USD', assetScale: 9, ...extra }
}

function prepare (destination: string, amount = '10', condition = Buffer.alloc(32, 1)): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount, destination, executionCondition: condition, expiresAt: new Date(Date.now() + 5000), data: Buffer.alloc(0)
  })
}

function createTestApp (...[config, options = {}]: Parameters<typeof createApp>): Connector {
  return createApp(config, { ...options, modules: { ...REQUIRED_STAND_INS, ...options.modules } })
}

/** A middleware that records what it sees, by name. */
function recorder (name: string, log: string[]): MiddlewareManifest {
  return {
    kind: 'middleware',
    name,
    types: TYPES_RANGE,
    create: (): Middleware => ({
      name,
      incomingData: async (ctx, next) => { log.push(`in:${name}`); return await next(ctx) },
      outgoingData: async (ctx, next) => { log.push(`out:${name}`); return await next(ctx) },
      incomingMoney: async (ctx, next) => { log.push(`money-in:${name}:${ctx.amount}`); await next(ctx) },
      outgoingMoney: async (ctx, next) => { log.push(`money-out:${name}:${ctx.amount}`); await next(ctx) },
      addAccount: (account) => { log.push(`add:${name}:${account.id}`) },
      removeAccount: (account) => { log.push(`remove:${name}:${account.id}`) },
      start: () => { log.push(`start:${name}`) },
      stop: () => { log.push(`stop:${name}`) }
    })
  }
}

describe('Connector (createApp)', () => {
  let app: Connector | undefined
  afterEach(async () => { await app?.shutdown(); app = undefined })

  it('constructs a plugin named by package with its options and a store namespaced by account id', async () => {
    app = createTestApp({
      ilpAddress: 'test.conn',
      accounts: {
        a: child('conn-fixture-plugin', { options: { greeting: 'hi' } }),
        b: child('conn-fixture-plugin')
      }
    }, { logger: silentLogger, resolveFrom: [PLUGIN_APP] })
    await app.listen()
    const a = app.getPlugin('a') as any
    const b = app.getPlugin('b') as any
    expect(a.options.greeting).to.equal('hi')
    expect(a.options._store).to.equal(a.services.store)
    await a.services.store.put('token', 'secret-a')
    expect(await a.services.store.get('token')).to.equal('secret-a')
    expect(await b.services.store.get('token')).to.equal(undefined)
    expect(a.isConnected()).to.equal(true)
  })

  it('refuses a plugin package that is not installed, naming the account', async () => {
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { a: child('ilp-plugin-missing-xyz') } }, { logger: silentLogger, resolveFrom: [PLUGIN_APP] })
    let error: LoadError | undefined
    await app.listen().catch((err: LoadError) => { error = err })
    expect(error).to.be.instanceOf(LoadError)
    expect(error!.code).to.equal('ERR_PACKAGE_NOT_FOUND')
    expect(error!.message).to.match(/^accounts\.a\.plugin: package "ilp-plugin-missing-xyz" is not installed/)
  })

  it('refuses a plugin class of static version 1 whose instances have no sendTransfer (neither LPI2 nor LPI1)', async () => {
    class OldPlugin extends MockPlugin { static override readonly version = 1 as any }
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { a: child('old-plugin') } },
      { logger: silentLogger, modules: { 'old-plugin': { default: OldPlugin } } })
    await app.listen().then(() => expect.fail('listen should reject'), (err: Error) => {
      expect(err.message).to.equal('accounts.a.plugin: package "old-plugin" says it is an LPI1 plugin (static version 1) but its instances have no sendTransfer method')
    })
  })

  it('runs middlewares in order: built-ins, then custom ones placed by before/after', async () => {
    const log: string[] = []
    const alice = new MockPlugin()
    const bob = new MockPlugin()
    bob.onSendData = async () => IlpPacket.serializeIlpFulfill({ fulfillment: Buffer.alloc(32, 7), data: Buffer.alloc(0) })
    app = createTestApp({
      ilpAddress: 'test.conn',
      spread: 0,
      accounts: { alice: child(alice), bob: child(bob) },
      middlewares: {
        last: { type: 'mw-last' },
        first: { type: 'mw-first', before: 'last' },
        afterHandler: { type: 'mw-after', after: 'errorHandler' }
      }
    }, {
      logger: silentLogger,
      modules: {
        '@conn/middleware-error-handler': { default: rejecting },
        'mw-last': { default: recorder('last', log) },
        'mw-first': { default: recorder('first', log) },
        'mw-after': { default: recorder('afterHandler', log) }
      }
    })
    await app.listen()
    expect(log.filter((l) => l.startsWith('start:'))).to.deep.equal(['start:afterHandler', 'start:first', 'start:last'])
    log.length = 0
    const condition = createHash('sha256').update(Buffer.alloc(32, 7)).digest()
    const reply = await alice.receive(prepare('test.conn.bob', '10', condition))
    expect(reply[0], reply[0] === 14 ? IlpPacket.deserializeIlpReject(reply).message : '').to.equal(13)
    expect(log).to.deep.equal(['in:afterHandler', 'in:first', 'in:last', 'out:afterHandler', 'out:first', 'out:last'])
  })

  it('stops start-up when a custom middleware names an anchor that does not exist', async () => {
    app = createTestApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { x: { type: 'mw-x', before: 'nope' } } },
      { logger: silentLogger, modules: { 'mw-x': { default: recorder('x', []) } } })
    await app.listen().then(() => expect.fail('listen should reject'), (err: Error) => {
      expect(err.message).to.equal('could not insert before middleware; not found. name=nope (placing x)')
    })
  })

  it('stops start-up when a custom middleware package is not a middleware manifest', async () => {
    app = createTestApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { x: { type: 'not-a-mw' } } },
      { logger: silentLogger, modules: { 'not-a-mw': { default: { kind: 'backend', name: 'x', types: TYPES_RANGE, create: () => ({}) } } } })
    await app.listen().then(() => expect.fail('listen should reject'), (err: Error) => {
      expect(err.message).to.equal('middleware x: package "not-a-mw" is a backend, not a middleware')
    })
  })

  it('passes incoming money through the incoming money pipeline and settles through the outgoing one', async () => {
    const log: string[] = []
    const alice = new MockPlugin()
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { alice: child(alice) }, middlewares: { r: { type: 'r' } } },
      { logger: silentLogger, modules: { r: { default: recorder('r', log) } } })
    await app.listen()
    await alice.moneyHandler!('1234')
    await app.sendMoney('alice', 99n)
    expect(log.filter((l) => l.startsWith('money'))).to.deep.equal(['money-in:r:1234', 'money-out:r:99'])
    expect(alice.sentMoney).to.deep.equal(['99'])
    await alice.moneyHandler!('12x').then(() => expect.fail('a bad amount must throw'), (err: Error) => {
      expect(err.message).to.equal('invalid amount from plugin. account=alice amount=12x')
    })
  })

  it('rejects a malformed packet with F01 before any middleware sees it', async () => {
    const log: string[] = []
    const alice = new MockPlugin()
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { alice: child(alice) }, middlewares: { r: { type: 'r' } } },
      { logger: silentLogger, modules: { r: { default: recorder('r', log) } } })
    await app.listen()
    log.length = 0
    const reply = IlpPacket.deserializeIlpReject(await alice.receive(Buffer.concat([prepare('test.conn.alice'), Buffer.of(0)])))
    expect(reply).to.deep.include({ code: 'F01', triggeredBy: 'test.conn', message: 'packet has trailing bytes after its envelope.' })
    expect(log).to.deep.equal([])
  })

  it('goes on after initialConnectTimeout when a plugin is slow, with a warning', async () => {
    const slow = new MockPlugin()
    slow.connectDelay = 1500
    const { logger, warnings } = captureLogger('info')
    app = createTestApp({ ilpAddress: 'test.conn', initialConnectTimeout: 50, accounts: { slow: child(slow) } }, { logger })
    const started = Date.now()
    await app.listen()
    // Well before the plugin connects (a loaded machine still starts within the margin).
    expect(Date.now() - started).to.be.below(1200)
    expect(slow.isConnected()).to.equal(false)
    expect(warnings()).to.include('one or more accounts failed to connect within the time limit, continuing anyway.')
    // ...and it still connects, later.
    for (let i = 0; i < 250 && !slow.isConnected(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(slow.isConnected()).to.equal(true)
  })

  it('fails start-up when a plugin refuses to connect', async () => {
    const broken = new MockPlugin()
    broken.connect = async () => { throw new Error('bad secret') }
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { broken: child(broken) } }, { logger: silentLogger })
    await app.listen().then(() => expect.fail('listen should reject'), (err: Error) => {
      expect(err.message).to.equal('account broken failed to connect: bad secret')
    })
  })

  it('learns its address from the parent over ILDCP, and fails clearly when the parent rejects', async () => {
    const parent = new MockPlugin()
    parent.onSendData = async (data) => {
      expect(IlpPacket.deserializeIlpPrepare(data).destination).to.equal('peer.config')
      // ilp-protocol-ildcp serializes the whole Fulfill
      return Ildcp.serializeIldcpResponse({ clientAddress: 'test.up.me', assetScale: 9, assetCode: 'USD' })
    }
    const kid = new MockPlugin()
    app = createTestApp({ accounts: { up: { ...child(parent), relation: 'parent' }, kid: child(kid) } }, { logger: silentLogger })
    await app.listen()
    expect(app.getOwnAddress()).to.equal('test.up.me')
    expect(app.routingTable.resolve('test.up.me.kid.x')).to.equal('kid')
    expect(app.routingTable.resolve('test.elsewhere')).to.equal('up') // default route auto = first parent
    await app.shutdown()

    const rude = new MockPlugin()
    rude.onSendData = async () => IlpPacket.serializeIlpReject({ code: 'F00', triggeredBy: 'test.up', message: 'go away', data: Buffer.alloc(0) })
    app = createTestApp({ accounts: { up: { ...child(rude), relation: 'parent' } } }, { logger: silentLogger })
    await app.listen().then(() => expect.fail('listen should reject'), (err: Error) => {
      expect(err.message).to.match(/^IL-DCP failed: /)
      expect(err.message).to.include('go away')
    })
  })

  it('warns at start about options that are set but have no effect here', async () => {
    const { logger, warnings } = captureLogger('info')
    app = createTestApp({
      ilpAddress: 'test.conn',
      adminApiToken: 'secret-token',
      accounts: { up: { ...child(new MockPlugin()), relation: 'peer' }, kid: child(new MockPlugin(), { maxPacketAmount: '100' }) }
    }, { logger })
    await app.listen()
    const w = warnings()
    expect(w).to.include('adminApiToken is set, but adminApi is off; no HTTP server is started')
    expect(w.some((m) => m.startsWith('route exchange (CCP) with up is not available'))).to.equal(true)
    expect(w).to.include('not enforced: accounts.kid.maxPacketAmount, because the maxPacketAmount middleware (@conn/middleware-max-packet-amount) is not installed')
  })

  it('fails start-up when adminApi is on and the admin API package is not installed', async () => {
    app = createTestApp({ ilpAddress: 'test.conn', adminApi: true, accounts: {} }, { logger: silentLogger, resolveFrom: [PLUGIN_APP] })
    await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
      expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
      expect(err.message).to.match(/^admin API: package "@conn\/admin-api" is not installed/)
    })
  })

  it('adds and removes accounts at runtime: validated, routed, handlers and middleware state removed', async () => {
    const log: string[] = []
    app = createTestApp({ ilpAddress: 'test.conn', accounts: {}, middlewares: { r: { type: 'r' } } },
      { logger: silentLogger, modules: { r: { default: recorder('r', log) } } })
    const events: string[] = []
    app.on('account-added', (id) => events.push(`added:${id}`))
    app.on('account-removed', (id) => events.push(`removed:${id}`))
    await app.listen()
    const carol = new MockPlugin()
    await app.addPlugin('carol', child(carol))
    expect(carol.isConnected()).to.equal(true)
    expect(app.getPlugin('carol')).to.equal(carol)
    expect(app.routingTable.resolve('test.conn.carol.x')).to.equal('carol')
    await app.addPlugin('carol', child(new MockPlugin())).then(() => expect.fail('duplicate'), (err: Error) => {
      expect(err.message).to.equal('account already exists. accountId=carol')
    })
    await app.addPlugin('dave', { ...child(new MockPlugin()), assetScale: 300 }).then(() => expect.fail('invalid'), (err: ConfigError) => {
      expect(err).to.be.instanceOf(ConfigError)
      expect(err.issues).to.deep.equal([{ path: 'accounts.dave.assetScale', message: 'expected an integer 0..255, got 300' }])
    })
    await app.removePlugin('carol')
    expect(carol.dataHandler).to.equal(undefined)
    expect(carol.isConnected()).to.equal(false)
    expect(app.getPlugin('carol')).to.equal(undefined)
    // falls back to our own address, which the switch answers with F02
    expect(app.routingTable.resolve('test.conn.carol.x')).to.equal('')
    expect(log).to.include.members(['add:r:carol', 'remove:r:carol'])
    expect(events).to.deep.equal(['added:carol', 'removed:carol'])
  })

  it('shuts down: plugins disconnected, middlewares told, then stopped once', async () => {
    const log: string[] = []
    const alice = new MockPlugin()
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { alice: child(alice) }, middlewares: { r: { type: 'r' } } },
      { logger: silentLogger, modules: { r: { default: recorder('r', log) } } })
    await app.listen()
    await app.shutdown()
    await app.shutdown()
    expect(alice.isConnected()).to.equal(false)
    expect(alice.dataHandler).to.equal(undefined)
    expect(log.filter((l) => l.startsWith('remove') || l.startsWith('stop'))).to.deep.equal(['remove:r:alice', 'stop:r'])
    app = undefined
  })

  it('hands peer.* requests to a registered peer protocol', async () => {
    const alice = new MockPlugin()
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { alice: { ...child(alice), relation: 'peer' } } },
      { logger: silentLogger, modules: { '@conn/middleware-error-handler': { default: rejecting } } })
    const seen: string[] = []
    app.registerPeerProtocol('peer.route', async (ctx) => {
      seen.push(`${ctx.account.id}:${ctx.prepare.destination}`)
      return IlpPacket.serializeIlpFulfill({ fulfillment: Buffer.alloc(32), data: Buffer.alloc(0) })
    })
    await app.listen()
    const reply = await alice.receive(prepare('peer.route.control', '0', PEER_PROTOCOL_CONDITION))
    expect(reply[0]).to.equal(13)
    expect(seen).to.deep.equal(['alice:peer.route.control'])
    const other = IlpPacket.deserializeIlpReject(await alice.receive(prepare('peer.other', '0', PEER_PROTOCOL_CONDITION)))
    expect(other).to.deep.include({ code: 'F01', message: 'unknown peer protocol.' })
  })

  it('uses a backend and a store given by package name, checked against their manifests', async () => {
    const calls: string[] = []
    const backend = {
      kind: 'backend', name: 'fixed', types: TYPES_RANGE,
      create: (options: { spread: number, rate?: number }) => ({
        getRate: async (from: string, to: string) => { calls.push(`${from}->${to}@${options.spread}`); return options.rate! }
      })
    }
    const store = { kind: 'store', name: 'map', types: TYPES_RANGE, create: (options: { path?: string }) => { calls.push(`store:${options.path}`); return new Map() as any } }
    const alice = new MockPlugin()
    const bob = new MockPlugin()
    bob.onSendData = async (data) => {
      calls.push(`bob got ${IlpPacket.deserializeIlpPrepare(data).amount}`)
      return IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.bob', message: 'no', data: Buffer.alloc(0) })
    }
    app = createTestApp({
      ilpAddress: 'test.conn', backend: 'my-backend', backendConfig: { rate: 2.5 }, spread: 0.01, store: 'my-store', storePath: '/tmp/x',
      accounts: { alice: child(alice), bob: child(bob) }
    }, { logger: silentLogger, modules: { 'my-backend': { default: backend }, 'my-store': { default: store } } })
    await app.listen()
    await alice.receive(prepare('test.conn.bob', '100'))
    expect(calls).to.deep.equal(['store:/tmp/x', 'alice->bob@0.01', 'bob got 250'])
  })

  it('chooses ecb when accounts have different assets and no backend is set, and names the missing package', async () => {
    app = createTestApp({ ilpAddress: 'test.conn', accounts: { a: child(new MockPlugin()), b: { ...child(new MockPlugin()), assetCode: 'EUR' } } },
      { logger: silentLogger, resolveFrom: [PLUGIN_APP] })
    await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
      expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
      expect(err.message).to.match(/^backend "ecb": package "@conn\/backend-ecb" is not installed/)
    })
  })

  it('turns a backend failure into an error on the packet (F00 with its message)', async () => {
    const alice = new MockPlugin()
    const bob = new MockPlugin()
    await bob.connect()
    const backend = { kind: 'backend', name: 'b', types: TYPES_RANGE, create: () => ({ getRate: async () => { throw new BadRequestError('no rate available. currency=XYZ') } }) }
    app = createTestApp({ ilpAddress: 'test.conn', backend: 'b', accounts: { alice: child(alice), bob: child(bob) } },
      { logger: silentLogger, modules: { b: { default: backend }, '@conn/middleware-error-handler': { default: rejecting } } })
    await app.listen()
    const reject = IlpPacket.deserializeIlpReject(await alice.receive(prepare('test.conn.bob')))
    expect(reject).to.deep.include({ code: 'F00', message: 'no rate available. currency=XYZ', triggeredBy: 'test.conn' })
    expect(bob.sentData).to.have.length(0)
  })

  describe('the reference\'s BTP plugins', () => {
    /** A plugin class standing in for a package: records what it was constructed with. */
    function pluginClass (label: string, refuse?: Array<{ option: string, message: string }>): unknown {
      return class extends MockPlugin {
        readonly label = label
        constructor (readonly options: Record<string, unknown>) {
          super()
          if (refuse !== undefined) throw new PluginOptionsError(refuse)
        }
      }
    }
    const modules = {
      '@conn/plugin-btp': { default: pluginClass('conn transport') },
      '@conn/plugin-btp/mini-accounts': { default: pluginClass('conn mini-accounts') },
      'ilp-plugin-btp': { default: pluginClass('legacy btp') },
      'ilp-plugin-mini-accounts': { default: pluginClass('legacy mini-accounts') }
    }
    const label = (id: string): string => (app!.getPlugin(id) as unknown as { label: string }).label

    it('run on conn\'s transport with the same options, and one line at start names those accounts', async () => {
      const { logger, lines } = captureLogger('info')
      app = createTestApp({
        ilpAddress: 'test.conn',
        accounts: {
          alice: child('ilp-plugin-btp', { options: { listener: { port: 1, secret: 's' } } }),
          wallets: child('ilp-plugin-mini-accounts'),
          other: child(new MockPlugin())
        }
      }, { logger, modules })
      await app.listen()
      expect(label('alice')).to.equal('conn transport')
      expect(label('wallets')).to.equal('conn mini-accounts')
      expect((app.getPlugin('alice') as unknown as { options: unknown }).options).to.deep.include({ listener: { port: 1, secret: 's' } })
      expect(app.getAccount('alice')!.pluginName).to.equal('ilp-plugin-btp')
      const line = lines.filter((l) => Array.isArray(l.accounts) && l.transport === '@conn/plugin-btp')
      expect(line).to.have.length(1)
      expect(line[0]!.accounts).to.deep.equal(['alice', 'wallets'])
      expect(line[0]!.level).to.equal(30)
    })

    it('run the named package for accounts, or plugin names, listed in legacyPlugins, with a warning', async () => {
      const { logger, warnings } = captureLogger('info')
      app = createTestApp({
        ilpAddress: 'test.conn',
        legacyPlugins: ['bob', 'ilp-plugin-mini-accounts'],
        accounts: { alice: child('ilp-plugin-btp'), bob: child('ilp-plugin-btp'), wallets: child('ilp-plugin-mini-accounts') }
      }, { logger, modules })
      await app.listen()
      expect([label('alice'), label('bob'), label('wallets')]).to.deep.equal(['conn transport', 'legacy btp', 'legacy mini-accounts'])
      expect(warnings().filter((w) => w.startsWith('accounts bob, wallets run the legacy BTP plugin package'))).to.have.length(1)
    })

    it('name @conn/plugin-btp and legacyPlugins when conn\'s transport is not installed', async () => {
      app = createTestApp({ ilpAddress: 'test.conn', accounts: { a: child('ilp-plugin-btp') } }, { logger: silentLogger, resolveFrom: [PLUGIN_APP] })
      await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
        expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
        expect(err.message).to.equal('accounts.a.plugin: "ilp-plugin-btp" runs on conn\'s wire-compatible transport @conn/plugin-btp, which is not ' +
          'installed: npm i @conn/plugin-btp (or add "a" to legacyPlugins to run ilp-plugin-btp itself)')
      })
    })

    it('report the options a plugin refuses as configuration errors by path, before any plugin connects', async () => {
      const connected = new MockPlugin()
      app = createTestApp({
        ilpAddress: 'test.conn',
        accounts: { up: child(connected), a: child('ilp-plugin-btp') }
      }, {
        logger: silentLogger,
        modules: { '@conn/plugin-btp': { default: pluginClass('x', [{ option: 'listener.secret', message: 'an empty secret lets any client in' }]) } }
      })
      await app.listen().then(() => expect.fail('listen should reject'), (err: ConfigError) => {
        expect(err).to.be.instanceOf(ConfigError)
        expect(err.issues).to.deep.equal([{ path: 'accounts.a.options.listener.secret', message: 'an empty secret lets any client in' }])
      })
      expect(connected.connected).to.equal(false)
    })
  })

  describe('required middlewares', () => {
    it('refuse to start without error-handler, expire or validate-fulfillment, naming the package to install', async () => {
      app = createApp({ ilpAddress: 'test.conn', accounts: { a: child(new MockPlugin()) } },
        { logger: silentLogger, resolveFrom: [PLUGIN_APP], modules: { '@conn/middleware-error-handler': { default: rejecting } } })
      await app.listen().then(() => expect.fail('listen should reject'), (err: LoadError) => {
        expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
        expect(err.message).to.match(/^middleware expire: package "@conn\/middleware-expire" is not installed, and conn does not run without it/)
        expect(err.message).to.include('npm i @conn/middleware-expire')
        expect(err.message).to.include('list "expire" in disableMiddleware')
      })
      expect((app.getPlugin('a') as MockPlugin).connected).to.equal(false)
    })

    it('start without them when disableMiddleware names them, and warn that the default rate limit is not enforced', async () => {
      const { logger, warnings } = captureLogger('info')
      app = createApp({
        ilpAddress: 'test.conn',
        disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'],
        accounts: { a: child(new MockPlugin()) }
      }, { logger, resolveFrom: [PLUGIN_APP] })
      await app.listen()
      expect(app.state).to.equal('started')
      expect(warnings()).to.include('not enforced: the default rate limit (10000 packets per second per account), because the rateLimit ' +
        'middleware (@conn/middleware-rate-limit) is not installed')
    })
  })

  it('listens with the admin API before the backend and the plugins connect', async () => {
    const order: string[] = []
    const slow = new MockPlugin()
    slow.connectDelay = 30
    slow.on('connect', () => order.push('plugin connected'))
    const admin = {
      kind: 'extension', name: 'adminApi', types: TYPES_RANGE,
      create: (_options: unknown, connector: { state: string }) => ({
        start: () => { order.push(`admin listening (${connector.state})`) },
        stop: () => {}
      })
    }
    const backend = {
      kind: 'backend', name: 'b', types: TYPES_RANGE,
      create: () => ({ connect: async () => { order.push('backend connect') }, getRate: () => 1 })
    }
    app = createTestApp({ ilpAddress: 'test.conn', adminApi: true, backend: 'b', accounts: { slow: child(slow) } },
      { logger: silentLogger, modules: { '@conn/admin-api': { default: admin }, b: { default: backend } } })
    expect(app.state).to.equal('new')
    await app.listen()
    expect(order).to.deep.equal(['admin listening (starting)', 'backend connect', 'plugin connected'])
    expect(app.state).to.equal('started')
  })

  it('starts @conn/console, when installed, before the admin API and hands the admin API its mount; stops them in reverse', async () => {
    const order: string[] = []
    const mount = { prefix: '/console', handle: () => {} }
    const webConsole = {
      kind: 'extension', name: 'console', types: TYPES_RANGE,
      create: () => ({ http: mount, start: () => { order.push('console start') }, stop: () => { order.push('console stop') } })
    }
    let mounts: unknown
    const admin = {
      kind: 'extension', name: 'adminApi', types: TYPES_RANGE,
      create: (options: { mounts?: unknown }) => {
        mounts = options.mounts
        return { start: () => { order.push('admin start') }, stop: () => { order.push('admin stop') } }
      }
    }
    app = createTestApp({ ilpAddress: 'test.conn', adminApi: true, accounts: {} },
      { logger: silentLogger, modules: { '@conn/admin-api': { default: admin }, '@conn/console': { default: webConsole } } })
    await app.listen()
    expect(mounts).to.deep.equal([mount])
    await app.shutdown()
    expect(order).to.deep.equal(['console start', 'admin start', 'admin stop', 'console stop'])
  })

  it('starts the admin API without mounts when @conn/console is not installed', async () => {
    let mounts: unknown
    const admin = {
      kind: 'extension', name: 'adminApi', types: TYPES_RANGE,
      create: (options: { mounts?: unknown }) => { mounts = options.mounts; return { start: () => {}, stop: () => {} } }
    }
    app = createTestApp({ ilpAddress: 'test.conn', adminApi: true, accounts: {} },
      { logger: silentLogger, resolveFrom: [PLUGIN_APP], modules: { '@conn/admin-api': { default: admin } } })
    await app.listen()
    expect(mounts).to.deep.equal([])
  })

  it('takes a storePath without a store as the persistent level store at that path', async () => {
    const opened: string[] = []
    const level = { kind: 'store', name: 'level', types: TYPES_RANGE, create: (options: { path?: string }) => { opened.push(String(options.path)); return new Map() as any } }
    const { logger, lines } = captureLogger('info')
    app = createTestApp({ ilpAddress: 'test.conn', storePath: '/var/lib/conn', accounts: {} },
      { logger, modules: { '@conn/store-level': { default: level } } })
    expect(app.config.store).to.equal('level')
    await app.listen()
    expect(opened).to.deep.equal(['/var/lib/conn'])
    expect(lines.map((l) => l.msg)).to.include('using the level store (@conn/store-level) at /var/lib/conn')
  })
})

export type { MiddlewareApi }
