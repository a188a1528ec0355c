import { expect } from 'chai'
import { BalanceRangeError, checkedBalance, type Store } from '@conn/types'
import { MapBalances, MapStore, rejectionOf, storeConformance } from '../src/index.ts'
import { collect, failures } from './helpers.ts'

/** A tiny store whose balances are the fake MapBalances. */
class BalanceMapStore extends MapStore {
  readonly balances = new MapBalances()
  getBalance = async (key: string): Promise<bigint> => await this.balances.get(key)
  adjustBalance = async (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> =>
    await this.balances.adjust(key, delta, minimum, maximum)

  reserveBalance = async (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> =>
    await this.balances.reserve(key, delta, minimum, maximum)

  commitBalance = async (key: string, delta: bigint): Promise<bigint> => await this.balances.commit(key, delta)
  releaseBalance = async (key: string, delta: bigint): Promise<bigint> => await this.balances.release(key, delta)
  getSettleableBalance = async (key: string): Promise<bigint> => await this.balances.getSettleable(key)
}

describe('balances', () => {
  it('starts every account at 0 and adds deltas, resolving the new balance', async () => {
    const balances = new MapBalances()
    expect(await balances.get('alice')).to.equal(0n)
    expect(await balances.adjust('alice', 10n)).to.equal(10n)
    expect(await balances.adjust('alice', -25n)).to.equal(-15n)
    expect(await balances.get('alice')).to.equal(-15n)
    expect(balances.map.get('alice')).to.equal(-15n)
  })

  it('refuses to cross the maximum or the minimum with a BalanceRangeError { balance, proposed, limit } and changes nothing', async () => {
    const balances = new MapBalances()
    balances.map.set('alice', 90n)
    const over = await rejectionOf(balances.adjust('alice', 11n, -100n, 100n))
    expect(over).to.be.instanceOf(BalanceRangeError)
    expect(over).to.include({ balance: 90n, proposed: 101n, limit: 'maximum' })
    const under = await rejectionOf(balances.adjust('alice', -191n, -100n, 100n))
    expect(under).to.include({ balance: 90n, proposed: -101n, limit: 'minimum' })
    expect(await balances.get('alice')).to.equal(90n)
    expect(await balances.adjust('alice', 10n, -100n, 100n)).to.equal(100n)
  })

  it('lets a change move away from a limit the balance is already beyond (a refund)', async () => {
    const balances = new MapBalances()
    balances.map.set('bob', -500n)
    expect(await balances.adjust('bob', 100n, 0n, 1000n)).to.equal(-400n)
    balances.map.set('carl', 500n)
    expect(await balances.adjust('carl', -100n, 0n, 100n)).to.equal(400n)
  })

  describe('store conformance on a Map store with the fake balances', () => {
    storeConformance(() => new BalanceMapStore())
  })

  describe('store conformance on MapStore (no balance methods)', () => {
    storeConformance(() => new MapStore())
  })

  describe('store conformance catches broken stores', () => {
    it('fails the balance tests of a store that implements only one balance method', async () => {
      const half = (): Store => Object.assign(new MapStore(), { getBalance: async () => 0n })
      const failed = await failures(collect(() => { storeConformance(half) }))
      expect(Object.keys(failed)).to.have.length(6)
      expect(Object.values(failed).every((m) => m.includes('a store implements all of getBalance, adjustBalance, reserveBalance, commitBalance, releaseBalance or none'))).to.equal(true)
    })

    it('fails a store that changes the balance before refusing, and one that reads and writes with an await between', async () => {
      class Leaky extends BalanceMapStore {
        adjustBalance = async (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> => {
          const balance = this.balances.map.get(key) ?? 0n
          this.balances.map.set(key, balance + delta) // written before the check
          return checkedBalance(balance, delta, minimum, maximum)
        }
      }
      class Racy extends BalanceMapStore {
        adjustBalance = async (key: string, delta: bigint): Promise<bigint> => {
          const balance = await this.getBalance(key)
          await new Promise((resolve) => setImmediate(resolve))
          this.balances.map.set(key, balance + delta)
          return balance + delta
        }
      }
      const leaky = await failures(collect(() => { storeConformance(() => new Leaky()) }))
      expect(Object.keys(leaky)).to.deep.equal([
        'balances (if implemented): allow reaching a limit exactly, refuse crossing it with a BalanceRangeError and change nothing',
        'balances (if implemented): concurrent adjustments are each applied once, and limits hold under concurrency',
        // its refused committed change past a reservation also moved the balance
        'balances (if implemented): a reservation counts against the limits at once; commit makes it final, release drops it'
      ])
      const racy = await failures(collect(() => { storeConformance(() => new Racy()) }))
      expect(Object.keys(racy)).to.include('balances (if implemented): concurrent adjustments are each applied once, and limits hold under concurrency')
    })

    it('fails a store that loses a value or keeps a deleted key', async () => {
      class Forgetful extends MapStore {
        async get (key: string): Promise<string | undefined> { return key.endsWith(':b') ? undefined : await super.get(key) }
        async del (): Promise<void> {}
      }
      const failed = await failures(collect(() => { storeConformance(() => new Forgetful()) }))
      expect(Object.keys(failed)).to.deep.equal([
        'keeps keys apart, including one that is a prefix of another',
        'del removes a key (get resolves undefined), leaves the others, and resolves for a missing key'
      ])
    })

    it('fails a store whose settleable balance counts the debits in flight (it would pay for packets later rejected)', async () => {
      class Counting extends BalanceMapStore {
        override getSettleableBalance = async (key: string): Promise<bigint> => await this.balances.get(key)
      }
      const failed = await failures(collect(() => { storeConformance(() => new Counting()) }))
      expect(Object.keys(failed)).to.deep.equal(['settleable balance (if implemented): leaves out the debits in flight of an account that settles, counts its credits'])
    })

    it('opens the store before each test and closes it after', async () => {
      const events: string[] = []
      const tests = collect(() => {
        storeConformance(() => Object.assign(new MapStore(), {
          open: async () => { events.push('open') },
          close: async () => { events.push('close') }
        }))
      })
      await tests.get('get of a key never written resolves undefined')!()
      expect(events).to.deep.equal(['open', 'close'])
    })
  })
})
