import { expect } from 'chai'
import { EventEmitter } from 'node:events'
import type { AccountConfig } from '@conn/types'
import { createApp, LoadError, type Connector } from '../../src/index.ts'
import { MockPlugin } from '../helpers/mock-plugin.ts'
import { silentLogger } from '../helpers/logger.ts'

function child (plugin: string): AccountConfig {
  return { relation: 'child', plugin, assetCode: 'USD', assetScale: 9 }
}

/** An LPI1 plugin as far as the connector looks at it: no static version 2, a sendTransfer method. */
class Lpi1Plugin extends EventEmitter {
  constructor (readonly options: Record<string, unknown>) { super() }
  async sendTransfer (): Promise<void> {}
}

/** Stands in for ilp-compat-plugin (the real one is exercised end to end in @conn/cli): wraps in an LPI2 mock. */
function fakeCompat (wrapped: unknown[]): (plugin: unknown) => MockPlugin {
  return (plugin) => {
    wrapped.push(plugin)
    return Object.assign(new MockPlugin(), { lpi1: plugin })
  }
}

describe('compat: LPI1 plugins', () => {
  let app: Connector | undefined
  afterEach(async () => { await app?.shutdown(); app = undefined })

  it('constructs an LPI1 plugin with its options and store, and runs it wrapped by ilp-compat-plugin loaded by name', async () => {
    const wrapped: unknown[] = []
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], accounts: { old: child('old-plugin') } },
      { logger: silentLogger, modules: { 'old-plugin': { default: Lpi1Plugin }, 'ilp-compat-plugin': { default: fakeCompat(wrapped) } } })
    await app.listen()
    const plugin = app.getPlugin('old') as MockPlugin & { lpi1: Lpi1Plugin }
    expect(wrapped).to.have.length(1)
    expect(plugin.lpi1).to.equal(wrapped[0])
    expect(plugin.lpi1).to.be.instanceOf(Lpi1Plugin)
    expect(plugin.lpi1.options).to.have.property('_store')
    expect(plugin.dataHandler).to.be.a('function')
    expect(plugin.isConnected()).to.equal(true)
  })

  it('accepts a class of static version 1 with sendTransfer as LPI1', async () => {
    class Versioned extends Lpi1Plugin { static readonly version = 1 }
    const wrapped: unknown[] = []
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], accounts: { old: child('v1') } },
      { logger: silentLogger, modules: { v1: { default: Versioned }, 'ilp-compat-plugin': { default: fakeCompat(wrapped) } } })
    await app.listen()
    expect(wrapped[0]).to.be.instanceOf(Versioned)
  })

  it('does not load ilp-compat-plugin for an LPI2 plugin', async () => {
    const wrapped: unknown[] = []
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], accounts: { a: child('new-plugin') } },
      { logger: silentLogger, modules: { 'new-plugin': { default: MockPlugin }, 'ilp-compat-plugin': { default: fakeCompat(wrapped) } } })
    await app.listen()
    expect(wrapped).to.deep.equal([])
    expect(app.getPlugin('a')).to.be.instanceOf(MockPlugin)
  })

  it('fails start-up naming the account and the package to install when ilp-compat-plugin is not installed', async () => {
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], accounts: { old: child('old-plugin') } },
      { logger: silentLogger, resolveFrom: ['/nonexistent-dir'], modules: { 'old-plugin': { default: Lpi1Plugin } } })
    const err = await app.listen().then(() => undefined, (e: LoadError) => e)
    expect(err).to.be.instanceOf(LoadError)
    expect(err?.code).to.equal('ERR_PACKAGE_NOT_FOUND')
    expect(err?.message).to.equal('accounts.old.plugin: package "old-plugin" is an LPI1 plugin; running it needs ilp-compat-plugin ' +
      '(npm i ilp-compat-plugin@2): package "ilp-compat-plugin" is not installed (looked from /nonexistent-dir)')
  })

  it('refuses a plugin class of another LPI version before constructing it', async () => {
    let constructed = false
    class Future extends MockPlugin {
      static override readonly version = 3 as any
      constructor () { super(); constructed = true }
    }
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], accounts: { f: child('future') } }, { logger: silentLogger, modules: { future: { default: Future } } })
    const err = await app.listen().then(() => undefined, (e: LoadError) => e)
    expect(err?.message).to.equal('accounts.f.plugin: package "future" is an LPI3 plugin; conn runs LPI2 plugins, and LPI1 plugins through ilp-compat-plugin')
    expect(constructed).to.equal(false)
  })
})
