import { expect } from 'chai'
import { PrefixMap } from '../src/prefix-map.ts'

function mapOf (...prefixes: string[]): PrefixMap<string> {
  const map = new PrefixMap<string>()
  for (const prefix of prefixes) map.set(prefix, 'value of ' + JSON.stringify(prefix))
  return map
}

describe('prefix-map', () => {
  it('counts its keys in size', () => {
    const map = mapOf('test.a', 'test.b', '')
    expect(map.size).to.equal(3)
  })

  it('resolves an exact key to its value', () => {
    const map = mapOf('test.a', 'test.a.b')
    expect(map.resolve('test.a')).to.equal('value of "test.a"')
    expect(map.resolvePrefix('test.a')).to.equal('test.a')
  })

  it('resolves an address to the value of a prefix ending on a segment boundary', () => {
    const map = mapOf('test.a')
    expect(map.resolve('test.a.b')).to.equal('value of "test.a"')
    expect(map.resolve('test.a.b.c.d')).to.equal('value of "test.a"')
    expect(map.resolvePrefix('test.a.b')).to.equal('test.a')
  })

  it('does not match a prefix in the middle of a segment (test.a does not match test.ab)', () => {
    const map = mapOf('test.a')
    expect(map.resolve('test.ab')).to.equal(undefined)
    expect(map.resolve('test.ab.c')).to.equal(undefined)
    expect(map.resolvePrefix('test.ab')).to.equal(undefined)
  })

  it('returns undefined when no key matches', () => {
    const map = mapOf('test.a', 'g.b')
    expect(map.resolve('example.a')).to.equal(undefined)
    expect(map.resolve('test')).to.equal(undefined)
    expect(map.resolvePrefix('example.a')).to.equal(undefined)
  })

  it('resolves any address to the catch-all empty key when nothing longer matches', () => {
    const map = mapOf('', 'test.a')
    expect(map.resolve('example.x.y')).to.equal('value of ""')
    expect(map.resolve('test.ab')).to.equal('value of ""')
    expect(map.resolve('test.a.b')).to.equal('value of "test.a"')
    expect(map.resolvePrefix('example.x')).to.equal('')
  })

  it('lets the longest matching prefix win', () => {
    const map = mapOf('', 'test', 'test.a', 'test.a.b')
    expect(map.resolve('test.a.b.c')).to.equal('value of "test.a.b"')
    expect(map.resolve('test.a.c')).to.equal('value of "test.a"')
    expect(map.resolve('test.z')).to.equal('value of "test"')
    expect(map.resolve('g.z')).to.equal('value of ""')
    expect(map.resolvePrefix('test.a.b.c')).to.equal('test.a.b')
  })

  it('skips shorter segments that are not keys on the way to a longer one', () => {
    const map = mapOf('test')
    expect(map.resolve('test.a.b.c.d.e')).to.equal('value of "test"')
  })

  it('gets only exact keys', () => {
    const map = mapOf('test.a')
    expect(map.get('test.a')).to.equal('value of "test.a"')
    expect(map.get('test.a.b')).to.equal(undefined)
    expect(map.get('test')).to.equal(undefined)
    expect(map.has('test.a')).to.equal(true)
    expect(map.has('test.a.b')).to.equal(false)
  })

  it('overwrites the value on a second set of the same key without growing', () => {
    const map = new PrefixMap<number>()
    map.set('test.a', 1)
    map.set('test.a', 2)
    expect(map.size).to.equal(1)
    expect(map.get('test.a')).to.equal(2)
    expect(map.resolve('test.a.b')).to.equal(2)
  })

  it('stores a falsy value and resolves it', () => {
    const map = new PrefixMap<number>()
    map.set('test.a', 0)
    expect(map.resolve('test.a.b')).to.equal(0)
  })

  it('deletes a key so that addresses fall back to a shorter prefix', () => {
    const map = mapOf('test', 'test.a')
    expect(map.delete('test.a')).to.equal(true)
    expect(map.size).to.equal(1)
    expect(map.get('test.a')).to.equal(undefined)
    expect(map.resolve('test.a.b')).to.equal('value of "test"')
    expect(map.delete('test.a')).to.equal(false)
  })

  it('deletes the catch-all key', () => {
    const map = mapOf('')
    expect(map.delete('')).to.equal(true)
    expect(map.resolve('test.a')).to.equal(undefined)
  })

  it('iterates its keys and entries', () => {
    const map = mapOf('test.a', 'g')
    expect([...map.keys()].sort()).to.deep.equal(['g', 'test.a'])
    expect([...map.entries()].sort()).to.deep.equal([['g', 'value of "g"'], ['test.a', 'value of "test.a"']])
  })

  it('sorts keys by length descending, then alphabetically', () => {
    const map = mapOf('b', '', 'test.b', 'a', 'test.a', 'test.a.b', 'g.zz', 'test')
    expect(map.sortedKeys()).to.deep.equal(['test.a.b', 'test.a', 'test.b', 'g.zz', 'test', 'a', 'b', ''])
  })
  it('passes over holes: lookups fall back to a shorter prefix, listings leave them out', () => {
    const map = new PrefixMap<{ value: string | undefined }>((entry) => entry.value === undefined)
    map.set('', { value: 'root' })
    map.set('test.a', { value: 'a' })
    map.set('test.a.b', { value: undefined })
    expect(map.resolve('test.a.b.c')?.value).to.equal('a')
    expect(map.resolvePrefix('test.a.b.c')).to.equal('test.a')
    expect(map.resolvePrefix('test.a.b')).to.equal('test.a')
    expect(map.sortedKeys()).to.deep.equal(['test.a', ''])
    expect(map.get('test.a.b')).to.deep.equal({ value: undefined }) // still stored: only lookups pass over it
    map.set('', { value: undefined })
    expect(map.resolve('test.x')).to.equal(undefined)
  })
})
