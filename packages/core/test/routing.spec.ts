import { expect } from 'chai'
import sinon from 'sinon'
import type { Relation } from '@conn/types'
import { buildLocalRoutes, childAddress, RoutingTable, type Route } from '../src/routing.ts'

interface TestAccount { id: string, relation: Relation, config: { ilpAddressSegment?: string } }

function account (id: string, relation: Relation, ilpAddressSegment?: string): TestAccount {
  return { id, relation, config: ilpAddressSegment === undefined ? {} : { ilpAddressSegment } }
}

/** A routing table over a mutable set of accounts; deleting from `relations` simulates removing an account. */
function tableOf (relations: Record<string, Relation>, staticRoutes: Array<{ targetPrefix: string, peerId: string }> = []) {
  return new RoutingTable((id) => relations[id], staticRoutes)
}

describe('routing', () => {
  describe('childAddress', () => {
    it('appends the account id to our address', () => {
      expect(childAddress('test.conn', account('alice', 'child'))).to.equal('test.conn.alice')
    })

    it('appends ilpAddressSegment instead of the id when configured', () => {
      expect(childAddress('test.conn', account('alice', 'child', 'a1'))).to.equal('test.conn.a1')
    })
  })

  describe('buildLocalRoutes', () => {
    it('routes our own address to nextHop "" with an empty path', () => {
      const routes = buildLocalRoutes({ ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: 'auto', accounts: [] })
      expect([...routes]).to.deep.equal([['test.conn', { nextHop: '', path: [] }]])
    })

    it('routes each child at own.<id>, or own.<ilpAddressSegment> when set', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'test.conn',
        globalPrefix: 'test',
        defaultRoute: '',
        accounts: [account('alice', 'child'), account('bob', 'child', 'b'), account('carol', 'peer')]
      })
      expect(routes.get('test.conn.alice')).to.deep.equal({ nextHop: 'alice', path: [] })
      expect(routes.get('test.conn.b')).to.deep.equal({ nextHop: 'bob', path: [] })
      expect(routes.has('test.conn.bob')).to.equal(false)
      expect(routes.has('test.conn.carol')).to.equal(false)
      expect(routes.size).to.equal(3)
    })

    it('sends the global prefix to the first parent when defaultRoute is auto', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'test.conn',
        globalPrefix: 'test',
        defaultRoute: 'auto',
        accounts: [account('p0', 'peer'), account('up1', 'parent'), account('up2', 'parent')]
      })
      expect(routes.get('test')).to.deep.equal({ nextHop: 'up1', path: [] })
    })

    it('adds no default route with auto when there is no parent', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: 'auto', accounts: [account('p0', 'peer')]
      })
      expect(routes.has('test')).to.equal(false)
      expect(routes.size).to.equal(1)
    })

    it('adds no default route when defaultRoute is the empty string', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: '', accounts: [account('up', 'parent')]
      })
      expect(routes.has('test')).to.equal(false)
    })

    it('sends the global prefix to an explicitly named account', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'test.conn',
        globalPrefix: 'test',
        defaultRoute: 'p0',
        accounts: [account('up', 'parent'), account('p0', 'peer')]
      })
      expect(routes.get('test')).to.deep.equal({ nextHop: 'p0', path: [] })
    })

    it('uses the given global prefix (g in production)', () => {
      const routes = buildLocalRoutes({
        ownAddress: 'g.conn', globalPrefix: 'g', defaultRoute: 'auto', accounts: [account('up', 'parent')]
      })
      expect(routes.get('g')).to.deep.equal({ nextHop: 'up', path: [] })
      expect(routes.has('test')).to.equal(false)
    })
  })

  describe('RoutingTable', () => {
    it('resolves nothing before any route is set', () => {
      const table = tableOf({ a: 'peer' })
      expect(table.resolve('test.a')).to.equal(undefined)
      expect(table.lookup('test.a')).to.equal(undefined)
      expect(table.entries()).to.deep.equal([])
    })

    it('answers a repeated destination from its cache, and again correctly after every kind of route change', () => {
      const relations: Record<string, Relation> = { a: 'peer', b: 'peer' }
      const table = tableOf(relations)
      expect(table.resolve('test.x.y')).to.equal(undefined) // a miss is cached too
      table.addLearnedRoute('a', 'test.x', { path: ['test.a'] })
      expect(table.resolve('test.x.y')).to.equal('a')
      expect(table.resolve('test.x.y')).to.equal('a')
      table.addLearnedRoute('b', 'test.x.y', { path: ['test.b'] }) // a longer prefix appears
      expect(table.resolve('test.x.y')).to.equal('b')
      table.removeLearnedRoutesOf('b')
      expect(table.resolve('test.x.y')).to.equal('a')
      table.setLocalRoutes(new Map([['test', { nextHop: 'b', path: [] }]]))
      expect(table.resolve('test.z')).to.equal('b')
      table.setLocalRoutes(new Map())
      expect(table.resolve('test.z')).to.equal(undefined)
    })

    it('resolves destinations to local routes by longest prefix on segment boundaries', () => {
      const table = tableOf({ alice: 'child', up: 'parent' })
      table.setLocalRoutes(buildLocalRoutes({
        ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: 'auto', accounts: [account('alice', 'child'), account('up', 'parent')]
      }))
      expect(table.resolve('test.conn.alice.x')).to.equal('alice')
      expect(table.resolve('test.conn.bob')).to.equal('')
      expect(table.resolve('test.connx')).to.equal('up')
      expect(table.resolve('g.x')).to.equal(undefined)
      expect(table.lookup('test.conn.alice.x')).to.deep.equal({ prefix: 'test.conn.alice', route: { nextHop: 'alice', path: [] } })
    })

    it('lists entries longest prefix first', () => {
      const table = tableOf({ alice: 'child', up: 'parent' })
      table.setLocalRoutes(buildLocalRoutes({
        ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: 'auto', accounts: [account('alice', 'child'), account('up', 'parent')]
      }))
      expect(table.entries().map(([prefix, route]) => [prefix, route.nextHop])).to.deep.equal([
        ['test.conn.alice', 'alice'], ['test.conn', ''], ['test', 'up']
      ])
    })

    it('drops local routes that are no longer in the new set', () => {
      const table = tableOf({ alice: 'child' })
      table.setLocalRoutes(new Map([['test.conn.alice', { nextHop: 'alice', path: [] }]]))
      table.setLocalRoutes(new Map())
      expect(table.get('test.conn.alice')).to.equal(undefined)
      expect(table.resolve('test.conn.alice')).to.equal(undefined)
    })

    it('prefers a static route over a local route for the same prefix', () => {
      const table = tableOf({ alice: 'child', p: 'peer' }, [{ targetPrefix: 'test.conn.alice', peerId: 'p' }])
      table.setLocalRoutes(new Map([['test.conn.alice', { nextHop: 'alice', path: [] }]]))
      expect(table.get('test.conn.alice')).to.deep.equal({ nextHop: 'p', path: [] })
    })

    it('prefers a local route over a learned route for the same prefix', () => {
      const table = tableOf({ alice: 'child', p: 'peer' })
      table.setLocalRoutes(new Map([['test.x', { nextHop: 'alice', path: [] }]]))
      table.addLearnedRoute('p', 'test.x', { path: ['test.p'] })
      expect(table.resolve('test.x')).to.equal('alice')
    })

    it('prefers a static route over a learned route', () => {
      const table = tableOf({ p1: 'peer', p2: 'peer' }, [{ targetPrefix: 'test.x', peerId: 'p2' }])
      table.setLocalRoutes(new Map())
      table.addLearnedRoute('p1', 'test.x', { path: [] })
      expect(table.resolve('test.x')).to.equal('p2')
    })

    it('ignores a static route whose account does not exist and falls back to local, then learned routes', () => {
      const relations: Record<string, Relation> = { alice: 'child', p: 'peer', gone: 'peer' }
      const table = tableOf(relations, [{ targetPrefix: 'test.x', peerId: 'gone' }, { targetPrefix: 'test.y', peerId: 'gone' }])
      table.setLocalRoutes(new Map([['test.x', { nextHop: 'alice', path: [] }]]))
      table.addLearnedRoute('p', 'test.y', { path: ['test.p'] })
      expect(table.resolve('test.x')).to.equal('gone')
      expect(table.resolve('test.y')).to.equal('gone')
      delete relations.gone
      table.recomputeAll()
      expect(table.resolve('test.x')).to.equal('alice')
      expect(table.resolve('test.y')).to.equal('p')
    })

    it('never installs a static route to an account that was never configured', () => {
      const table = tableOf({}, [{ targetPrefix: 'test.x', peerId: 'nobody' }])
      table.setLocalRoutes(new Map())
      expect(table.resolve('test.x')).to.equal(undefined)
    })

    it('prefers a learned route from a child over a peer over a parent', () => {
      const table = tableOf({ up: 'parent', p: 'peer', kid: 'child' })
      table.addLearnedRoute('up', 'test.x', { path: [] })
      expect(table.resolve('test.x')).to.equal('up')
      table.addLearnedRoute('p', 'test.x', { path: ['test.a', 'test.b'] })
      expect(table.resolve('test.x')).to.equal('p')
      table.addLearnedRoute('kid', 'test.x', { path: ['test.a', 'test.b', 'test.c'] })
      expect(table.resolve('test.x')).to.equal('kid')
    })

    it('breaks a relation tie by the shorter path', () => {
      const table = tableOf({ a: 'peer', b: 'peer' })
      table.addLearnedRoute('a', 'test.x', { path: ['test.1', 'test.2'] })
      table.addLearnedRoute('b', 'test.x', { path: ['test.1'] })
      expect(table.get('test.x')).to.deep.equal({ nextHop: 'b', path: ['test.1'], auth: undefined })
    })

    it('breaks a relation and path-length tie by the smaller account id, whatever the order learned', () => {
      const first = tableOf({ a: 'peer', b: 'peer' })
      first.addLearnedRoute('b', 'test.x', { path: ['test.1'] })
      first.addLearnedRoute('a', 'test.x', { path: ['test.2'] })
      expect(first.resolve('test.x')).to.equal('a')
      const second = tableOf({ a: 'peer', b: 'peer' })
      second.addLearnedRoute('a', 'test.x', { path: ['test.2'] })
      second.addLearnedRoute('b', 'test.x', { path: ['test.1'] })
      expect(second.resolve('test.x')).to.equal('a')
    })

    it('keeps the auth of a learned route', () => {
      const table = tableOf({ a: 'peer' })
      const auth = Buffer.alloc(32, 5)
      table.addLearnedRoute('a', 'test.x', { path: ['test.a'], auth })
      expect(table.get('test.x')).to.deep.equal({ nextHop: 'a', path: ['test.a'], auth })
    })

    it('skips learned routes from accounts that no longer exist', () => {
      const relations: Record<string, Relation> = { kid: 'child', up: 'parent' }
      const table = tableOf(relations)
      table.addLearnedRoute('kid', 'test.x', { path: [] })
      table.addLearnedRoute('up', 'test.x', { path: [] })
      expect(table.resolve('test.x')).to.equal('kid')
      delete relations.kid
      table.recomputeAll()
      expect(table.resolve('test.x')).to.equal('up')
    })

    it('falls back to the next best learned route when one is removed, and to none after the last', () => {
      const table = tableOf({ kid: 'child', up: 'parent' })
      table.addLearnedRoute('kid', 'test.x', { path: [] })
      table.addLearnedRoute('up', 'test.x', { path: [] })
      table.removeLearnedRoute('kid', 'test.x')
      expect(table.resolve('test.x')).to.equal('up')
      table.removeLearnedRoute('up', 'test.x')
      expect(table.resolve('test.x')).to.equal(undefined)
      expect(table.get('test.x')).to.equal(undefined)
    })

    it('removes every route learned from one account with removeLearnedRoutesOf, keeping the others', () => {
      const table = tableOf({ a: 'peer', b: 'peer' })
      table.addLearnedRoute('a', 'test.x', { path: [] })
      table.addLearnedRoute('a', 'test.y', { path: [] })
      table.addLearnedRoute('b', 'test.y', { path: ['test.b', 'test.c'] })
      table.addLearnedRoute('b', 'test.z', { path: [] })
      expect(table.learnedPrefixesOf('a')).to.deep.equal(['test.x', 'test.y'])
      expect(table.learnedPrefixesOf('b')).to.deep.equal(['test.y', 'test.z'])
      table.removeLearnedRoutesOf('a')
      expect(table.learnedPrefixesOf('a')).to.deep.equal([])
      expect(table.resolve('test.x')).to.equal(undefined)
      expect(table.get('test.y')).to.deep.equal({ nextHop: 'b', path: ['test.b', 'test.c'], auth: undefined })
      expect(table.resolve('test.z')).to.equal('b')
      expect(table.entries().map(([prefix]) => prefix)).to.deep.equal(['test.y', 'test.z'])
    })

    it('keeps a learned route whose account it does not know as a hole: not resolved, not listed, back once the account is', () => {
      const relations = new Map<string, Relation>([['a', 'peer']])
      const table = new RoutingTable((id) => relations.get(id))
      table.addLearnedRoute('gone', 'test.x.y', { path: [] })
      table.addLearnedRoute('a', 'test.x', { path: [] })
      expect(table.resolve('test.x.y.z')).to.equal('a')
      expect(table.lookup('test.x.y.z')?.prefix).to.equal('test.x')
      expect(table.entries().map(([prefix]) => prefix)).to.deep.equal(['test.x'])
      expect(table.learnedPrefixesOf('gone')).to.deep.equal(['test.x.y'])
      relations.set('gone', 'child')
      table.recomputeAll()
      expect(table.resolve('test.x.y.z')).to.equal('gone')
      table.removeLearnedRoute('gone', 'test.x.y')
      expect(table.resolve('test.x.y.z')).to.equal('a')
      expect(table.learnedPrefixesOf('gone')).to.deep.equal([])
    })

    it('calls onChange listeners with the prefix and the new route', () => {
      const table = tableOf({ a: 'peer', kid: 'child' })
      const listener = sinon.spy()
      table.onChange(listener)
      table.addLearnedRoute('a', 'test.x', { path: ['test.a'] })
      expect(listener.args).to.deep.equal([['test.x', { nextHop: 'a', path: ['test.a'], auth: undefined }]])
      table.addLearnedRoute('kid', 'test.x', { path: [] })
      expect(listener.lastCall.args).to.deep.equal(['test.x', { nextHop: 'kid', path: [], auth: undefined }])
      table.removeLearnedRoutesOf('kid')
      table.removeLearnedRoutesOf('a')
      expect(listener.args.slice(2)).to.deep.equal([
        ['test.x', { nextHop: 'a', path: ['test.a'], auth: undefined }],
        ['test.x', undefined]
      ])
    })

    it('calls onChange for local routes added and removed', () => {
      const table = tableOf({ alice: 'child' })
      const changes: Array<[string, Route | undefined]> = []
      table.onChange((prefix, route) => changes.push([prefix, route]))
      table.setLocalRoutes(new Map([['test.conn', { nextHop: '', path: [] }], ['test.conn.alice', { nextHop: 'alice', path: [] }]]))
      table.setLocalRoutes(new Map([['test.conn', { nextHop: '', path: [] }]]))
      expect(changes).to.deep.equal([
        ['test.conn', { nextHop: '', path: [] }],
        ['test.conn.alice', { nextHop: 'alice', path: [] }],
        ['test.conn.alice', undefined]
      ])
    })

    it('does not call onChange when the best route stays the same', () => {
      const table = tableOf({ kid: 'child', up: 'parent' })
      table.addLearnedRoute('kid', 'test.x', { path: [] })
      const listener = sinon.spy()
      table.onChange(listener)
      table.addLearnedRoute('up', 'test.x', { path: [] })
      table.recomputeAll()
      table.setLocalRoutes(new Map())
      expect(listener.callCount).to.equal(0)
    })

    it('stops calling a listener after it unsubscribes', () => {
      const table = tableOf({ a: 'peer' })
      const listener = sinon.spy()
      const unsubscribe = table.onChange(listener)
      unsubscribe()
      table.addLearnedRoute('a', 'test.x', { path: [] })
      expect(listener.callCount).to.equal(0)
      expect(table.resolve('test.x')).to.equal('a')
    })
  })
})
