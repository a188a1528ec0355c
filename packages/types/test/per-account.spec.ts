import { expect } from 'chai'
import { PerAccount, type Account } from '../src/index.ts'

const account = (id: string, limit: number): Account => ({ id, relation: 'child', assetCode: 'USD', assetScale: 9, config: { relation: 'child', plugin: 'x', assetCode: 'USD', assetScale: 9, limit }, plugin: undefined as never })

describe('PerAccount', () => {
  it('makes an account\'s state on add, or on first get of an account never added, once', () => {
    let made = 0
    const state = new PerAccount((a) => { made++; return { limit: a.config.limit as number } })
    const alice = account('alice', 5)
    expect(state.add(alice)).to.deep.equal({ limit: 5 })
    expect(state.get(alice)).to.equal(state.get(alice))
    expect(made).to.equal(1)
    const bob = account('bob', 7)
    expect(state.peek('bob')).to.equal(undefined)
    expect(state.get(bob)).to.deep.equal({ limit: 7 })
    expect(made).to.equal(2)
    expect([...state.entries()].map(([id]) => id)).to.deep.equal(['alice', 'bob'])
  })

  it('forgets a deleted account, and add remakes the state from the configuration', () => {
    const state = new PerAccount((a) => ({ limit: a.config.limit as number }))
    state.add(account('alice', 5))
    expect(state.delete('alice')).to.equal(true)
    expect(state.peek('alice')).to.equal(undefined)
    expect(state.add(account('alice', 9))).to.deep.equal({ limit: 9 })
  })
})
