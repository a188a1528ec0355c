import { expect } from 'chai'
import { storeConformance } from '@conn/testkit'
import { createApp, type Connector } from '../../src/index.ts'
import { StoreBalances } from '../../src/balances.ts'
import { ReferenceStore } from '../../src/compat/reference-store.ts'
import { MockPlugin } from '../helpers/mock-plugin.ts'
import { silentLogger } from '../helpers/logger.ts'

/** A store as written for ilp-connector: a class over a Map, recording how it was constructed. */
class MapStore {
  static made: Array<{ options: unknown, api: unknown, store: MapStore }> = []
  readonly map = new Map<string, string>()
  constructor (options: unknown, api: unknown) { MapStore.made.push({ options, api, store: this }) }
  async get (key: string): Promise<string | undefined> { return this.map.get(key) }
  async put (key: string, value: string): Promise<void> { this.map.set(key, value) }
  async del (key: string): Promise<void> { this.map.delete(key) }
}

describe('compat: reference store', () => {
  describe('conformance of the adapter over a get/put/del store', () => {
    storeConformance(() => new ReferenceStore(new MapStore({}, {})))
  })

  it('reads a null from an older store as a missing key', async () => {
    const store = new ReferenceStore({ get: () => null as never, put: () => {}, del: () => {} })
    expect(await store.get('x')).to.equal(undefined)
  })

  it('keeps balances with put (the serialized book), so they are in the store as decimal strings', async () => {
    const inner = new MapStore({}, {})
    const balances = new StoreBalances(new ReferenceStore(inner))
    await balances.adjust('alice', 250n)
    await balances.adjust('alice', -100n)
    expect(inner.map.get('balance:alice')).to.equal('150')
    expect(await new StoreBalances(new ReferenceStore(inner)).get('alice')).to.equal(150n)
  })

  describe('in a connector', () => {
    let app: Connector | undefined
    afterEach(async () => { await app?.shutdown(); app = undefined })

    it('constructs the store class with { path, ...storeConfig } and {}, and gives plugins their namespace in it', async () => {
      MapStore.made = []
      class Plugin extends MockPlugin {
        constructor (readonly options: Record<string, any>) { super() }
      }
      app = createApp({
        ilpAddress: 'test.conn', store: 'ref-store', storePath: '/data/conn', storeConfig: { compact: true },
        disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'],
        accounts: { alice: { relation: 'child', plugin: 'p', assetCode: 'USD', assetScale: 9 } }
      }, { logger: silentLogger, modules: { 'ref-store': { default: MapStore }, p: { default: Plugin } } })
      await app.listen()
      expect(MapStore.made.map(({ options, api }) => ({ options, api }))).to.deep.equal([{ options: { path: '/data/conn', compact: true }, api: {} }])
      const plugin = app.getPlugin('alice') as unknown as Plugin
      await plugin.options._store.put('token', 'abc')
      expect([...MapStore.made[0]!.store.map]).to.deep.equal([['plugin:alice:token', 'abc']])
    })
  })
})
