import { expect } from 'chai'
import { PrefixTree } from '../src/prefix-tree.ts'

function treeOf (...prefixes: string[]): PrefixTree<number> {
  const tree = new PrefixTree<number>()
  prefixes.forEach((prefix, i) => tree.set(prefix, i))
  return tree
}

describe('prefix-tree', () => {
  it('lists the members under a prefix on segment boundaries only, each before the ones under it', () => {
    const tree = treeOf('g.a.b.c', 'g.ab', 'g.a', 'g.a.b', 'g.b', 'g.a.x')
    expect(tree.under('g.a')).to.have.members(['g.a.b', 'g.a.b.c', 'g.a.x'])
    const order = tree.under('g')
    expect(order).to.have.members(['g.a', 'g.a.b', 'g.a.b.c', 'g.a.x', 'g.ab', 'g.b'])
    expect(order.indexOf('g.a')).to.be.lessThan(order.indexOf('g.a.b'))
    expect(order.indexOf('g.a.b')).to.be.lessThan(order.indexOf('g.a.b.c'))
    expect(tree.under('g.a.b.c')).to.deep.equal([])
    expect(tree.under('h')).to.deep.equal([])
  })

  it('lists every member under the empty prefix, and keeps the empty prefix itself as a member', () => {
    const tree = treeOf('', 'g', 'test.a')
    expect(tree.has('')).to.equal(true)
    expect(tree.under('')).to.have.members(['g', 'test.a'])
  })

  it('lists members under a prefix that is not itself a member', () => {
    const tree = treeOf('g.a.b', 'g.a.c')
    expect(tree.has('g.a')).to.equal(false)
    expect(tree.under('g.a')).to.have.members(['g.a.b', 'g.a.c'])
  })

  it('counts members, keeps values, and add() leaves a value as it is', () => {
    const tree = treeOf('g.a', 'g.a.b')
    tree.add('g.a')
    tree.add('g')
    expect(tree.size).to.equal(3)
    expect(tree.get('g.a')).to.equal(0)
    expect(tree.get('g')).to.equal(undefined)
    expect(tree.has('g')).to.equal(true)
    expect([...tree.entries()]).to.deep.equal([['g.a', 0], ['g.a.b', 1]])
  })

  it('forgets a deleted member and prunes the branch it leaves empty, keeping the ones still needed', () => {
    const tree = treeOf('g.a.b.c', 'g.a')
    expect(tree.delete('g.a.b.c')).to.equal(true)
    expect(tree.delete('g.a.b.c')).to.equal(false)
    expect(tree.delete('g.a.b')).to.equal(false)
    expect(tree.has('g.a.b.c')).to.equal(false)
    expect(tree.under('g')).to.deep.equal(['g.a'])
    expect(tree.size).to.equal(1)
    // A member with members under it stays a node when deleted, and its value goes.
    tree.set('g.a.z', 5)
    expect(tree.delete('g.a')).to.equal(true)
    expect(tree.get('g.a')).to.equal(undefined)
    expect(tree.under('g')).to.deep.equal(['g.a.z'])
    expect(tree.delete('g.a.z')).to.equal(true)
    expect(tree.under('')).to.deep.equal([])
    expect(tree.size).to.equal(0)
  })
})
