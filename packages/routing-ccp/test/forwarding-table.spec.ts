import { expect } from 'chai'
import { createHmac } from 'node:crypto'
import type { Relation } from '@conn/types'
import { ForwardingTable, type RouteRelation } from '../src/forwarding-table.ts'
import { FakeTable, sha256 } from './helpers.ts'

const SECRET = Buffer.alloc(32, 7)

function hmac (prefix: string): Buffer {
  return createHmac('sha256', SECRET).update(prefix).digest()
}

function setup (relations: Record<string, Relation> = {}, ownAddress = 'test.me'): { table: FakeTable, forwarding: ForwardingTable, address: { value: string } } {
  const address = { value: ownAddress }
  const table = new FakeTable((id) => relations[id])
  const relationOf = (id: string): RouteRelation => id === '' ? 'local' : relations[id] ?? 'peer'
  const forwarding = new ForwardingTable({ table, getOwnAddress: () => address.value, globalPrefix: 'test', routingSecret: SECRET, relationOf })
  table.onChange((prefix) => { forwarding.refresh(prefix) })
  return { table, forwarding, address }
}

describe('forwarding-table', () => {
  it('has a random UUID v4 routing table id and starts at epoch 0 with an empty log', () => {
    const a = setup().forwarding
    const b = setup().forwarding
    expect(a.routingTableId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(a.routingTableId).to.not.equal(b.routingTableId)
    expect(a.currentEpoch).to.equal(0)
    expect(a.log).to.deep.equal([])
  })

  it('advertises our own address with path [own] and auth SHA-256(HMAC-SHA256(routingSecret, prefix)) at epoch 0', () => {
    const { table, forwarding } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    const update = forwarding.get('test.me')!
    expect(update.epoch).to.equal(0)
    expect(update.route!.path).to.deep.equal(['test.me'])
    expect(update.route!.auth.equals(sha256(hmac('test.me')))).to.equal(true)
    expect(forwarding.currentEpoch).to.equal(1)
    expect(forwarding.log).to.deep.equal([update])
  })

  it('re-advertises a learned route with our address first and its auth hashed once more per hop', () => {
    const { table, forwarding } = setup({ bob: 'peer' })
    // bob's own route: auth HMAC(bob's secret, prefix) hashed once by bob; we hash it again.
    const bobAuth = sha256(createHmac('sha256', Buffer.alloc(32, 9)).update('test.bob').digest())
    table.addLearnedRoute('bob', 'test.bob', { path: ['test.bob'], auth: bobAuth })
    const route = forwarding.get('test.bob')!.route!
    expect(route.path).to.deep.equal(['test.me', 'test.bob'])
    expect(route.nextHop).to.equal('bob')
    expect(route.auth.equals(sha256(bobAuth))).to.equal(true)
  })

  it('advertises the routes that share a learned path with one shared path array, a new one once our address changes', () => {
    const { table, forwarding, address } = setup({ bob: 'peer' })
    const path = Object.freeze(['test.bob']) as string[]
    table.addLearnedRoute('bob', 'test.bob.a', { path, auth: Buffer.alloc(32) })
    table.addLearnedRoute('bob', 'test.bob.b', { path, auth: Buffer.alloc(32) })
    const [a, b] = ['test.bob.a', 'test.bob.b'].map((prefix) => forwarding.get(prefix)!.route!.path)
    expect(a).to.deep.equal(['test.me', 'test.bob']).and.equal(b)
    address.value = 'test.you'
    forwarding.refreshAll()
    expect(forwarding.get('test.bob.a')!.route!.path).to.deep.equal(['test.you', 'test.bob']).and.equal(forwarding.get('test.bob.b')!.route!.path)
  })

  it('signs a static route (no auth of its own) with HMAC-SHA256(routingSecret, prefix), hashed', () => {
    const { table, forwarding } = setup({ bob: 'peer' })
    table.setLocal('test.static', { nextHop: 'bob', path: [] })
    expect(forwarding.get('test.static')!.route!.auth.equals(sha256(hmac('test.static')))).to.equal(true)
  })

  it('never advertises the global prefix (default route), prefixes outside it, nor our own children', () => {
    const { table, forwarding } = setup({ up: 'parent', alice: 'child' })
    table.setLocal('test', { nextHop: 'up', path: [] })
    table.setLocal('g.elsewhere', { nextHop: 'up', path: [] })
    table.setLocal('test.me.alice', { nextHop: 'alice', path: [] })
    expect(forwarding.currentEpoch).to.equal(0)
    expect(forwarding.log).to.deep.equal([])
    expect(forwarding.advertisedForm('test.me.alice', { nextHop: 'alice', path: [] })).to.equal(undefined)
  })

  it('advertises a route under our address whose path is longer than us (a child that is a connector)', () => {
    const { table, forwarding } = setup({ alice: 'child' })
    table.addLearnedRoute('alice', 'test.me.alice.x', { path: ['test.me.alice'], auth: Buffer.alloc(32) })
    expect(forwarding.get('test.me.alice.x')!.route!.path).to.deep.equal(['test.me', 'test.me.alice'])
  })

  it('logs a new epoch when the next hop changes and nulls the superseded entry', () => {
    const { table, forwarding } = setup({ bob: 'peer', carl: 'child' })
    table.addLearnedRoute('bob', 'test.x', { path: ['test.bob', 'test.x'], auth: Buffer.alloc(32) })
    table.addLearnedRoute('carl', 'test.x', { path: ['test.carl', 'test.x'], auth: Buffer.alloc(32) })
    expect(forwarding.currentEpoch).to.equal(2)
    expect(forwarding.log[0]).to.equal(null)
    expect(forwarding.log[1]).to.deep.include({ prefix: 'test.x', epoch: 1 })
    expect(forwarding.log[1]!.route!.nextHop).to.equal('carl')
  })

  it('logs nothing when the route is re-learned unchanged, and a new epoch when only its path changed', () => {
    const { table, forwarding } = setup({ bob: 'peer' })
    table.addLearnedRoute('bob', 'test.x', { path: ['test.bob', 'test.x'], auth: Buffer.alloc(32) })
    table.addLearnedRoute('bob', 'test.x', { path: ['test.bob', 'test.x'], auth: Buffer.alloc(32, 1) })
    expect(forwarding.currentEpoch).to.equal(1)
    table.addLearnedRoute('bob', 'test.x', { path: ['test.bob', 'test.y', 'test.x'], auth: Buffer.alloc(32) })
    expect(forwarding.currentEpoch).to.equal(2)
    expect(forwarding.get('test.x')!.route!.path).to.deep.equal(['test.me', 'test.bob', 'test.y', 'test.x'])
  })

  it('logs a withdrawal (route undefined) when the route goes away, nulling the advertisement', () => {
    const { table, forwarding } = setup({ bob: 'peer' })
    table.addLearnedRoute('bob', 'test.x', { path: ['test.bob'], auth: Buffer.alloc(32) })
    table.removeLearnedRoute('bob', 'test.x')
    expect(forwarding.log).to.deep.equal([null, { prefix: 'test.x', route: undefined, epoch: 1 }])
    expect(forwarding.get('test.x')!.route).to.equal(undefined)
  })

  describe('DRAGON filtering', () => {
    it('does not advertise a longer prefix reached through a next hop no more preferred than the covering route\'s', () => {
      const { table, forwarding } = setup({ bob: 'peer', carl: 'peer' })
      table.addLearnedRoute('bob', 'test.b', { path: ['test.b'], auth: Buffer.alloc(32) })
      table.addLearnedRoute('carl', 'test.b.c', { path: ['test.c', 'test.b.c'], auth: Buffer.alloc(32) })
      expect(forwarding.get('test.b.c')).to.equal(undefined)
      expect(forwarding.currentEpoch).to.equal(1)
    })

    it('advertises the longer prefix when its next hop is more preferred (child under a peer route)', () => {
      const { table, forwarding } = setup({ bob: 'peer', kid: 'child' })
      table.addLearnedRoute('bob', 'test.b', { path: ['test.b'], auth: Buffer.alloc(32) })
      table.addLearnedRoute('kid', 'test.b.k', { path: ['test.k'], auth: Buffer.alloc(32) })
      expect(forwarding.get('test.b.k')!.route!.nextHop).to.equal('kid')
    })

    it('is not applied under a local covering route (our own address)', () => {
      const { table, forwarding } = setup({ bob: 'peer' })
      table.setLocal('test.me', { nextHop: '', path: [] })
      table.addLearnedRoute('bob', 'test.me.far', { path: ['test.bob'], auth: Buffer.alloc(32) })
      expect(forwarding.get('test.me.far')!.route!.nextHop).to.equal('bob')
    })

    it('withdraws an advertised longer prefix once a covering route appears, and advertises it again when that goes', () => {
      const { table, forwarding } = setup({ bob: 'peer', carl: 'peer' })
      table.addLearnedRoute('carl', 'test.b.c', { path: ['test.c'], auth: Buffer.alloc(32) })
      expect(forwarding.get('test.b.c')!.route).to.not.equal(undefined)
      table.addLearnedRoute('bob', 'test.b', { path: ['test.b'], auth: Buffer.alloc(32) })
      expect(forwarding.get('test.b.c')!.route).to.equal(undefined)
      table.removeLearnedRoute('bob', 'test.b')
      expect(forwarding.get('test.b.c')!.route!.nextHop).to.equal('carl')
      expect(forwarding.log.filter((u) => u !== null).map((u) => [u!.prefix, u!.route?.nextHop])).to.deep.equal([
        ['test.b', undefined], ['test.b.c', 'carl']
      ])
    })
  })

  it('refreshAll re-advertises every prefix with the new address after our address changed', () => {
    const { table, forwarding, address } = setup({ bob: 'peer' })
    table.setLocal('test.me', { nextHop: '', path: [] })
    table.addLearnedRoute('bob', 'test.bob', { path: ['test.bob'], auth: Buffer.alloc(32) })
    address.value = 'test.new'
    table.setLocal('test.me', undefined)
    table.setLocal('test.new', { nextHop: '', path: [] })
    expect(forwarding.refreshAll()).to.equal(true)
    expect(forwarding.get('test.bob')!.route!.path).to.deep.equal(['test.new', 'test.bob'])
    expect(forwarding.get('test.new')!.route!.path).to.deep.equal(['test.new'])
    expect(forwarding.get('test.me')!.route).to.equal(undefined)
    expect(forwarding.refreshAll()).to.equal(false)
  })
})
