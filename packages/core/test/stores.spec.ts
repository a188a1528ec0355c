import type { Store } from '@conn/types'
import { MapStore, storeConformance } from '@conn/testkit'
import { StoreBalances } from '../src/balances.ts'
import { MemoryStore, PrefixedStore } from '../src/stores/memory.ts'

/** A get/put/del store whose balance methods are StoreBalances' serialized fallback over it. */
function fallbackStore (): Store {
  const store = new MapStore()
  const balances = new StoreBalances(store)
  return {
    get: async (key) => await store.get(key),
    put: async (key, value) => { await store.put(key, value) },
    del: async (key) => { await store.del(key) },
    getBalance: async (key) => await balances.get(key),
    adjustBalance: async (key, delta, minimum, maximum) => await balances.adjust(key, delta, minimum, maximum),
    reserveBalance: async (key, delta, minimum, maximum) => await balances.reserve(key, delta, minimum, maximum),
    commitBalance: async (key, delta) => await balances.commit(key, delta),
    releaseBalance: async (key, delta) => await balances.release(key, delta)
  }
}

describe('stores', () => {
  describe('MemoryStore', () => {
    storeConformance(() => new MemoryStore())
  })

  describe('PrefixedStore over a MemoryStore', () => {
    storeConformance(() => new PrefixedStore(new MemoryStore(), 'plugin:alice:'))
  })

  describe('StoreBalances serialized over a store without balance methods', () => {
    storeConformance(fallbackStore)
  })
})
