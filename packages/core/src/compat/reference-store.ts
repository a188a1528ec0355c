/**
 * Stores written for ilp-connector v23: `new Store({ path, ...storeConfig }, {})` with `get`, `put` and `del`.
 * The adapter offers exactly those three, so balances use the connector's write-through book over `put`
 * (correct while one connector process uses the store, as with a level directory).
 */
import type { Store, StoreOptions } from '@conn/types'
import { checkReferenceInstance, type ReferenceConstructor } from './host.ts'

interface ReferenceStoreInstance {
  get (key: string): Promise<string | undefined> | string | undefined
  put (key: string, value: string): Promise<void> | void
  del (key: string): Promise<void> | void
}

export class ReferenceStore implements Store {
  constructor (private readonly store: ReferenceStoreInstance) {}

  async get (key: string): Promise<string | undefined> {
    const value = await this.store.get(key)
    // the reference's stores answer undefined for a missing key; some older ones answer null
    return value === null ? undefined : value
  }

  async put (key: string, value: string): Promise<void> { await this.store.put(key, value) }
  async del (key: string): Promise<void> { await this.store.del(key) }
}

/** The `create` of a store manifest for a store class written for ilp-connector. */
export function referenceStoreFactory (Reference: ReferenceConstructor, packageName: string) {
  return (options: StoreOptions): Store => {
    const instance = new Reference({ ...options }, {})
    checkReferenceInstance(instance, 'store', packageName, ['get', 'put', 'del'])
    return new ReferenceStore(instance as ReferenceStoreInstance)
  }
}
