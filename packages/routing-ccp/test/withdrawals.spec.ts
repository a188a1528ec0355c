import { expect } from 'chai'
import { PendingWithdrawals } from '../src/withdrawals.ts'

/** A table that records which learned routes are left. */
function tableOf (routes: Array<[string, string]>): { removeLearnedRoute: (id: string, prefix: string) => void, left: Set<string> } {
  const left = new Set(routes.map(([id, prefix]) => `${id} ${prefix}`))
  return { left, removeLearnedRoute: (id, prefix) => { left.delete(`${id} ${prefix}`) } }
}

const nextMacrotask = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

describe('pending withdrawals', () => {
  const prefixes = Array.from({ length: 5000 }, (_, i) => `test.r.${i}`)

  it('removes nothing at once, then one chunk per macrotask until all are gone', async () => {
    const table = tableOf(prefixes.map((prefix) => ['bob', prefix]))
    const withdrawals = new PendingWithdrawals(table, 2000)
    withdrawals.add('bob', prefixes)
    expect(table.left.size).to.equal(5000)
    await nextMacrotask()
    expect(table.left.size).to.equal(3000)
    await nextMacrotask()
    expect(table.left.size).to.equal(1000)
    await nextMacrotask()
    expect(table.left.size).to.equal(0)
    expect(withdrawals.size).to.equal(0)
  })

  it('keeps a route the account teaches again by its turn, and removes only the account\'s own', async () => {
    const table = tableOf([...prefixes.map((prefix): [string, string] => ['bob', prefix]), ['carl', 'test.r.7']])
    const withdrawals = new PendingWithdrawals(table, 2000)
    withdrawals.add('bob', prefixes)
    await nextMacrotask()
    withdrawals.cancel('bob', 'test.r.4999') // taught again after the first chunk went
    withdrawals.cancel('carl', 'test.r.10') // not queued for carl: nothing happens
    for (let i = 0; i < 4; i++) await nextMacrotask()
    expect([...table.left]).to.deep.equal(['bob test.r.4999', 'carl test.r.7'])
  })

  it('flush removes everything still queued at once', () => {
    const table = tableOf(prefixes.map((prefix) => ['bob', prefix]))
    const withdrawals = new PendingWithdrawals(table, 10)
    withdrawals.add('bob', prefixes)
    withdrawals.flush()
    expect(table.left.size).to.equal(0)
    expect(withdrawals.size).to.equal(0)
  })
})
