import { expect } from 'chai'
import { BalanceRangeError, type Store } from '@conn/types'
import { MemoryStore } from '../src/stores/memory.ts'
import { StoreBalances } from '../src/balances.ts'

/** A store with only get/put/del, to exercise the serialized fallback. */
class PlainStore implements Store {
  readonly map = new Map<string, string>()
  async get (key: string): Promise<string | undefined> { await new Promise((resolve) => setImmediate(resolve)); return this.map.get(key) }
  async put (key: string, value: string): Promise<void> { await new Promise((resolve) => setImmediate(resolve)); this.map.set(key, value) }
  async del (key: string): Promise<void> { this.map.delete(key) }
}

for (const [name, makeStore] of [['memory store (atomic methods)', () => new MemoryStore()], ['plain store (serialized get/put)', () => new PlainStore()]] as const) {
  describe(`StoreBalances on a ${name}`, () => {
    it('starts at 0 and adds and subtracts', async () => {
      const balances = new StoreBalances(makeStore())
      expect(await balances.get('alice')).to.equal(0n)
      expect(await balances.adjust('alice', 100n)).to.equal(100n)
      expect(await balances.adjust('alice', -30n)).to.equal(70n)
      expect(await balances.get('alice')).to.equal(70n)
      expect(await balances.get('bob')).to.equal(0n)
    })

    it('refuses a change past the maximum or minimum with BalanceRangeError and changes nothing', async () => {
      const balances = new StoreBalances(makeStore())
      await balances.adjust('alice', 90n, -50n, 100n)
      const over = await balances.adjust('alice', 11n, -50n, 100n).catch((err: unknown) => err)
      expect(over).to.be.instanceOf(BalanceRangeError)
      expect(over).to.deep.include({ balance: 90n, proposed: 101n, limit: 'maximum' })
      const under = await balances.adjust('alice', -141n, -50n, 100n).catch((err: unknown) => err)
      expect(under).to.deep.include({ balance: 90n, proposed: -51n, limit: 'minimum' })
      expect(await balances.get('alice')).to.equal(90n)
    })

    it('checks only the limit in the direction of the change (a refund may pass a maximum already exceeded)', async () => {
      const balances = new StoreBalances(makeStore())
      await balances.adjust('alice', 500n)
      expect(await balances.adjust('alice', -100n, undefined, 100n)).to.equal(400n)
    })

    it('applies concurrent changes exactly once each', async () => {
      const balances = new StoreBalances(makeStore())
      await Promise.all(Array.from({ length: 50 }, async (_, i) => await balances.adjust('alice', BigInt(i + 1), undefined, 1000n).catch(() => {})))
      // applied in order: 1 + ... + 44 = 990 fits, every later one would pass 1000 and is refused
      expect(await balances.get('alice')).to.equal(990n)
      const all = new StoreBalances(makeStore())
      await Promise.all(Array.from({ length: 50 }, async () => await all.adjust('bob', 2n)))
      expect(await all.get('bob')).to.equal(100n)
    })
  })
}

describe('StoreBalances over a store without balance methods', () => {
  it('writes committed changes through, and commits arriving during a write share the next one', async () => {
    const puts: string[] = []
    let slow = Promise.resolve()
    const store = new PlainStore()
    store.put = async (key: string, value: string): Promise<void> => {
      await slow
      puts.push(value)
      store.map.set(key, value)
    }
    const balances = new StoreBalances(store)
    let release: () => void = () => {}
    slow = new Promise<void>((resolve) => { release = resolve })
    const first = balances.adjust('alice', 1n)
    await new Promise((resolve) => setImmediate(resolve)) // the first write has started and waits on `slow`
    const rest = Array.from({ length: 9 }, async () => await balances.adjust('alice', 1n))
    release()
    await Promise.all([first, ...rest])
    expect(puts).to.deep.equal(['1', '10']) // one write for the first change, one for the nine after it
    expect(store.map.get('balance:alice')).to.equal('10')
    // a reservation is never written; its commit is
    await balances.reserve('alice', 5n)
    expect(store.map.get('balance:alice')).to.equal('10')
    await balances.commit('alice', 5n)
    expect(store.map.get('balance:alice')).to.equal('15')
    // a new StoreBalances over the same store starts from what was written
    expect(await new StoreBalances(store).get('alice')).to.equal(15n)
  })
})
