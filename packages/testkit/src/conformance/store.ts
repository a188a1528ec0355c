/**
 * What every store must do for the connector and the plugins that use it: string values that read back as
 * written, and, if it keeps balances itself, adjustments that are atomic and refused at the limits exactly
 * as @conn/types describes (BalanceRangeError, nothing changed).
 */
import assert from 'node:assert/strict'
import { isBalanceRangeError, type AtomicBalanceStore, type Reservation, type Store } from '@conn/types'

const BALANCE_METHODS = ['getBalance', 'adjustBalance', 'reserveBalance', 'commitBalance', 'releaseBalance'] as const
import { rejectionOf } from '../async.ts'
import { runner } from '../runner.ts'

export interface StoreConformanceOptions {
  /** Title of the describe block (default `conformance: store`). */
  title?: string
}

/**
 * Registers the conformance tests of a store. `createStore` is called once per test and must give an empty
 * store; `open()` is awaited before the test and `close()` after it, when the store has them.
 */
export function storeConformance (createStore: () => Store | Promise<Store>, options: StoreConformanceOptions = {}): void {
  const { describe, it } = runner('storeConformance')

  async function withStore (use: (store: Store) => Promise<void>): Promise<void> {
    const store = await createStore()
    await store.open?.()
    try {
      await use(store)
    } finally {
      await store.close?.()
    }
  }

  /** Runs `use` only with a store that has the balance methods (and fails on one that has only some). */
  function withBalances (use: (store: Store & AtomicBalanceStore) => Promise<void>): () => Promise<void> {
    return async () => {
      await withStore(async (store) => {
        const methods = BALANCE_METHODS.filter((name) => typeof store[name] === 'function')
        assert.ok(methods.length === 0 || methods.length === BALANCE_METHODS.length,
          `a store implements all of ${BALANCE_METHODS.join(', ')} or none; this one has only ${methods.join(', ')}`)
        if (methods.length === 0) return
        await use(store as Store & AtomicBalanceStore)
      })
    }
  }

  describe(options.title ?? 'conformance: store', () => {
    it('get of a key never written resolves undefined', async () => {
      await withStore(async (store) => {
        assert.equal(await store.get('conformance:missing'), undefined)
      })
    })

    it('put then get round-trips any string (empty, unicode, 100 kB); put again overwrites', async () => {
      await withStore(async (store) => {
        for (const value of ['', 'plain', 'ünïcødé ✓ \u0000 end', 'x'.repeat(100_000)]) {
          await store.put('conformance:value', value)
          assert.equal(await store.get('conformance:value'), value)
        }
        await store.put('conformance:value', 'last')
        assert.equal(await store.get('conformance:value'), 'last')
      })
    })

    it('keeps keys apart, including one that is a prefix of another', async () => {
      await withStore(async (store) => {
        await store.put('conformance:a', '1')
        await store.put('conformance:a:b', '2')
        await store.put('conformance:b', '3')
        assert.deepEqual(
          [await store.get('conformance:a'), await store.get('conformance:a:b'), await store.get('conformance:b')],
          ['1', '2', '3'])
      })
    })

    it('del removes a key (get resolves undefined), leaves the others, and resolves for a missing key', async () => {
      await withStore(async (store) => {
        await store.put('conformance:gone', 'x')
        await store.put('conformance:kept', 'y')
        await store.del('conformance:gone')
        assert.equal(await store.get('conformance:gone'), undefined)
        assert.equal(await store.get('conformance:kept'), 'y')
        await store.del('conformance:never-written')
      })
    })

    it('balances (if implemented): start at 0 and add exact BigInt deltas, past 2^64', withBalances(async (store) => {
      assert.equal(await store.getBalance('conformance:balance'), 0n)
      assert.equal(await store.adjustBalance('conformance:balance', 5n), 5n)
      assert.equal(await store.adjustBalance('conformance:balance', -8n), -3n)
      assert.equal(await store.adjustBalance('conformance:balance', 2n ** 64n), 2n ** 64n - 3n)
      assert.equal(await store.getBalance('conformance:balance'), 2n ** 64n - 3n)
      assert.equal(await store.getBalance('conformance:other'), 0n)
    }))

    it('balances (if implemented): allow reaching a limit exactly, refuse crossing it with a BalanceRangeError and change nothing', withBalances(async (store) => {
      const key = 'conformance:limits'
      assert.equal(await store.adjustBalance(key, 100n, -50n, 100n), 100n)
      const over = await rejectionOf(store.adjustBalance(key, 1n, -50n, 100n))
      assert.ok(isBalanceRangeError(over), `expected a BalanceRangeError, got ${String(over)}`)
      assert.deepEqual([over.balance, over.proposed, over.limit], [100n, 101n, 'maximum'])
      assert.equal(await store.getBalance(key), 100n)

      assert.equal(await store.adjustBalance(key, -150n, -50n, 100n), -50n)
      const under = await rejectionOf(store.adjustBalance(key, -1n, -50n, 100n))
      assert.ok(isBalanceRangeError(under), `expected a BalanceRangeError, got ${String(under)}`)
      assert.deepEqual([under.balance, under.proposed, under.limit], [-50n, -51n, 'minimum'])
      assert.equal(await store.getBalance(key), -50n)
    }))

    it('balances (if implemented): a change away from a limit is allowed even beyond it (a refund)', withBalances(async (store) => {
      const key = 'conformance:refund'
      assert.equal(await store.adjustBalance(key, -100n), -100n)
      // Below the minimum of -50 already: adding moves towards the range, only the maximum applies.
      assert.equal(await store.adjustBalance(key, 30n, -50n, 1000n), -70n)
      assert.equal(await store.adjustBalance(key, 2000n), 1930n)
      assert.equal(await store.adjustBalance(key, -10n, -50n, 1000n), 1920n)
    }))

    it('balances (if implemented): concurrent adjustments are each applied once, and limits hold under concurrency', withBalances(async (store) => {
      const key = 'conformance:concurrent'
      const results = await Promise.all(Array.from({ length: 50 }, async () => await store.adjustBalance(key, 1n)))
      assert.deepEqual([...results].sort((a, b) => Number(a - b)), Array.from({ length: 50 }, (_, i) => BigInt(i + 1)))
      assert.equal(await store.getBalance(key), 50n)

      const limited = await Promise.allSettled(Array.from({ length: 20 }, async () => await store.adjustBalance(key, 1n, undefined, 60n)))
      const refused = limited.filter((outcome) => outcome.status === 'rejected')
      assert.equal(limited.length - refused.length, 10)
      assert.ok(refused.every((outcome) => isBalanceRangeError(outcome.reason)), 'every refusal is a BalanceRangeError')
      assert.equal(await store.getBalance(key), 60n)
    }))

    it('balances (if implemented): a reservation counts against the limits at once; commit makes it final, release drops it', withBalances(async (store) => {
      const key = 'conformance:reserve'
      assert.equal(await store.reserveBalance(key, 70n, undefined, 100n), 70n)
      assert.equal(await store.getBalance(key), 70n)
      const over = await rejectionOf(store.reserveBalance(key, 40n, undefined, 100n))
      assert.ok(isBalanceRangeError(over), `expected a BalanceRangeError, got ${String(over)}`)
      const overByAdjust = await rejectionOf(store.adjustBalance(key, 40n, undefined, 100n))
      assert.ok(isBalanceRangeError(overByAdjust), 'a committed change also counts the reservation')
      assert.equal(await store.commitBalance(key, 70n), 70n)
      assert.equal(await store.reserveBalance(key, -30n, 0n), 40n)
      assert.equal(await store.releaseBalance(key, -30n), 70n)
      assert.equal(await store.getBalance(key), 70n)
    }))

    it('settleable balance (if implemented): leaves out the debits in flight of an account that settles, counts its credits', withBalances(async (store) => {
      if (typeof store.getSettleableBalance !== 'function') return
      const key = 'conformance:settleable'
      const reservation = (name: string): Reservation => ({ id: `conformance-${name}`, expiresAt: Date.now() + 30_000, settles: true })
      const [debit, rejected, credit] = [reservation('debit'), reservation('rejected'), reservation('credit')]
      await store.adjustBalance(key, -100n)
      await store.reserveBalance(key, -50n, -1000n, undefined, debit)
      await store.reserveBalance(key, -40n, -1000n, undefined, rejected)
      await store.reserveBalance(key, 20n, undefined, 1000n, credit)
      assert.equal(await store.getBalance(key), -170n)
      assert.equal(await store.getSettleableBalance(key), -80n, 'committed -100 and the credit in flight +20')
      await store.releaseBalance(key, -40n, rejected)
      await store.commitBalance(key, -50n, debit)
      assert.equal(await store.getSettleableBalance(key), -130n)
      await store.releaseBalance(key, 20n, credit)
      assert.equal(await store.getSettleableBalance(key), -150n)
      assert.equal(await store.getBalance(key), -150n)
    }))
  })
}
