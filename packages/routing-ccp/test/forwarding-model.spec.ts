/**
 * The forwarding table at scale, with the connector's real routing table: what it advertises after any
 * sequence of changes equals what a fresh table derives from scratch, its log stays consistent, the cost of
 * a change does not grow with the table, and a receiver taking 20,000 routes handles withdrawals, epoch gaps,
 * a restarted peer and expiry.
 */
import { expect } from 'chai'
import { RoutingTable } from '@conn/core'
import { RecordingLogger, Rng } from '@conn/testkit'
import type { Relation, Route, RoutingTableView } from '@conn/types'
import { ForwardingTable, type RouteRelation } from '../src/forwarding-table.ts'
import { CcpReceiver } from '../src/receiver.ts'
import { OTHER_TABLE_ID } from './helpers.ts'

const OWN = 'test.me'
const SECRET = Buffer.alloc(32, 7)
const RELATIONS: Record<string, Relation> = { kid: 'child', p1: 'peer', p2: 'peer', up: 'parent' }

/** Seeded numbers in [0, 1), so a failure is replayed by its seed. */
function random (seed: number): () => number {
  const rng = new Rng(seed)
  return () => rng.float()
}

const relationOf = (id: string): RouteRelation => id === '' ? 'local' : RELATIONS[id] ?? 'peer'

function forwardingOver (table: Pick<RoutingTableView, 'get' | 'entries'>): ForwardingTable {
  return new ForwardingTable({ table, getOwnAddress: () => OWN, globalPrefix: 'test', routingSecret: SECRET, relationOf })
}

/** A routing table with our own address, a child and a default route, and a forwarding table following it. */
function setup (): { table: RoutingTable, forwarding: ForwardingTable } {
  const table = new RoutingTable((id) => RELATIONS[id])
  table.setLocalRoutes(new Map<string, Route>([
    [OWN, { nextHop: '', path: [] }],
    [OWN + '.kid', { nextHop: 'kid', path: [] }],
    ['test', { nextHop: 'up', path: [] }]
  ]))
  const forwarding = forwardingOver(table)
  forwarding.refreshAll()
  table.onChange((prefix) => { forwarding.refresh(prefix) })
  return { table, forwarding }
}

/** prefix -> "nextHop path" of every route advertised (withdrawals left out). */
function advertised (forwarding: ForwardingTable): Map<string, string> {
  const routes = new Map<string, string>()
  for (const [prefix, update] of forwarding.entries()) {
    if (update.route !== undefined) routes.set(prefix, update.route.nextHop + ' ' + update.route.path.join(' '))
  }
  return routes
}

/** How many routes we advertise through this next hop. */
function advertisedVia (forwarding: ForwardingTable, nextHop: string): number {
  return [...advertised(forwarding).values()].filter((route) => route.startsWith(nextHop + ' ')).length
}

/** The log holds each prefix's latest change once, at its epoch, and nothing else. */
function expectConsistentLog (forwarding: ForwardingTable): void {
  const latest = new Map([...forwarding.entries()])
  let live = 0
  forwarding.log.forEach((update, epoch) => {
    if (update === null || update === undefined) return
    live++
    expect(update.epoch).to.equal(epoch)
    expect(latest.get(update.prefix), `log entry of ${update.prefix}`).to.equal(update)
  })
  expect(live).to.equal(latest.size)
  expect(forwarding.log.length).to.equal(forwarding.currentEpoch)
}

/** Prefixes that nest three deep under a few branches, so that covering routes shadow longer ones. */
function prefixOf (next: () => number): string {
  const depth = 1 + Math.floor(next() * 3)
  let prefix = 'test'
  for (let i = 0; i < depth; i++) prefix += '.' + ['a', 'b', 'c', 'd'][Math.floor(next() * 4)]! + (i === depth - 1 ? String(Math.floor(next() * 50)) : '')
  return prefix
}

describe('forwarding table at scale', function () {
  // 1-2 s each alone; CI runs every package's tests at once on two cores
  this.timeout(60_000)
  for (const seed of [11, 12, 13]) {
    it(`advertises what a fresh table derives from scratch, after 5,000 random changes (seed ${seed})`, () => {
      const next = random(seed)
      const { table, forwarding } = setup()
      const ids = Object.keys(RELATIONS)
      for (let i = 0; i < 5000; i++) {
        const id = ids[Math.floor(next() * ids.length)]!
        const prefix = next() < 0.1 ? ['test.a', 'test.b', 'test.a.b'][Math.floor(next() * 3)]! : prefixOf(next)
        if (next() < 0.7) table.addLearnedRoute(id, prefix, { path: next() < 0.5 ? ['test.x'] : ['test.x', 'test.y'] })
        else table.removeLearnedRoute(id, prefix)
        if (i % 1000 === 999) table.removeLearnedRoutesOf(ids[Math.floor(next() * ids.length)]!)
      }
      const fresh = forwardingOver(table)
      fresh.refreshAll()
      const expected = advertised(fresh)
      expect(expected.size).to.be.greaterThan(100)
      expect(advertised(forwarding)).to.deep.equal(expected)
      expectConsistentLog(forwarding)
    })
  }

  it('re-derives the routes under a covering route when it comes and goes (DRAGON), 10,000 of them', () => {
    const { table, forwarding } = setup()
    for (let i = 0; i < 10_000; i++) table.addLearnedRoute('p1', `test.big.r${i}`, { path: ['test.p1'] })
    expect(advertisedVia(forwarding, 'p1')).to.equal(10_000)
    // A peer route covering them all: p1's routes under it are no more preferred, so they are not advertised.
    table.addLearnedRoute('p2', 'test.big', { path: ['test.p2'] })
    expect(advertisedVia(forwarding, 'p1')).to.equal(0)
    expect(advertisedVia(forwarding, 'p2')).to.equal(1)
    table.removeLearnedRoute('p2', 'test.big')
    expect(advertisedVia(forwarding, 'p1')).to.equal(10_000)
    expect(advertisedVia(forwarding, 'p2')).to.equal(0)
    const fresh = forwardingOver(table)
    fresh.refreshAll()
    expect(advertised(forwarding)).to.deep.equal(advertised(fresh))
    expectConsistentLog(forwarding)
  })

  it('costs the same per route update whether the table holds 2,000 or 50,000 routes (lookups counted)', () => {
    /** Reads of the connector's table by the forwarding table while 400 new routes arrive. */
    function readsForUpdate (tableSize: number): number {
      const table = new RoutingTable((id) => RELATIONS[id])
      let reads = 0
      const counted: Pick<RoutingTableView, 'get' | 'entries'> = {
        get: (prefix) => { reads++; return table.get(prefix) },
        entries: () => { reads += table.entries().length; return table.entries() }
      }
      const forwarding = forwardingOver(counted)
      table.onChange((prefix) => { forwarding.refresh(prefix) })
      for (let i = 0; i < tableSize; i++) table.addLearnedRoute('p1', `test.n${i % 97}.r${i}`, { path: [] })
      reads = 0
      for (let i = 0; i < 400; i++) table.addLearnedRoute('p2', `test.n${i % 97}.new${i}`, { path: [] })
      return reads
    }
    const small = readsForUpdate(2000)
    const large = readsForUpdate(50_000)
    expect(small).to.be.at.most(400 * 3)
    expect(large).to.equal(small)
  })

  describe('a receiver taking 20,000 routes in updates of 400', () => {
    function update (fromEpoch: number, newRoutes: string[], withdrawnRoutes: string[] = [], routingTableId = OTHER_TABLE_ID, currentEpoch = fromEpoch + newRoutes.length + withdrawnRoutes.length) {
      return {
        speaker: 'test.p1',
        routingTableId,
        currentEpochIndex: currentEpoch,
        fromEpochIndex: fromEpoch,
        toEpochIndex: fromEpoch + newRoutes.length + withdrawnRoutes.length,
        holdDownTime: 45_000,
        newRoutes: newRoutes.map((prefix) => ({ prefix, path: ['test.p1'], auth: Buffer.alloc(32, 1), props: [] })),
        withdrawnRoutes
      }
    }

    function receiverSetup () {
      const { table, forwarding } = setup()
      const receiver = new CcpReceiver({
        peerId: 'p1',
        table,
        getOwnAddress: () => OWN,
        globalPrefix: 'test',
        send: async () => await new Promise(() => {}),
        isConnected: () => false,
        controlRetryInterval: 60_000,
        controlTimeout: 1000,
        logger: new RecordingLogger()
      })
      let epoch = 0
      for (let i = 0; i < 20_000; i += 400) {
        const prefixes = Array.from({ length: 400 }, (_, j) => `test.r${i + j}`)
        expect(receiver.handleUpdate(update(epoch, prefixes), 0)).to.equal('applied')
        epoch += 400
      }
      return { table, forwarding, receiver, epoch }
    }

    it('routes to every one, withdraws some, ignores an update after a gap, and re-reads a restarted table', () => {
      const { table, forwarding, receiver, epoch } = receiverSetup()
      expect(table.resolve('test.r19999.x')).to.equal('p1')
      expect(advertisedVia(forwarding, 'p1')).to.equal(20_000)

      const withdrawn = Array.from({ length: 400 }, (_, j) => `test.r${j * 50}`)
      expect(receiver.handleUpdate(update(epoch, [], withdrawn), 0)).to.equal('applied')
      expect(table.resolve('test.r50.x'), 'withdrawn: the default route').to.equal('up')
      expect(table.resolve('test.r51.x')).to.equal('p1')

      // Epochs skipped: nothing applied.
      expect(receiver.handleUpdate(update(epoch + 1000, ['test.gap']), 0)).to.equal('gap')
      expect(table.get('test.gap')).to.equal(undefined)

      // The peer restarted with a new table holding 1,000 routes: the 19,600 old ones go once it is read whole.
      const restarted = '99999999-2222-4333-8444-555555555555'
      expect(receiver.handleUpdate(update(0, Array.from({ length: 400 }, (_, j) => `test.new${j}`), [], restarted, 1000), 0)).to.equal('applied')
      expect(table.resolve('test.r51.x'), 'old routes kept until the new table is read').to.equal('p1')
      receiver.handleUpdate(update(400, Array.from({ length: 600 }, (_, j) => `test.new${400 + j}`), [], restarted, 1000), 0)
      expect(table.get('test.r51')).to.equal(undefined)
      expect(table.resolve('test.r51.x')).to.equal('up')
      expect(table.resolve('test.new999')).to.equal('p1')
      expect(table.entries().filter(([, route]) => route.nextHop === 'p1')).to.have.length(1000)
      const fresh = forwardingOver(table)
      fresh.refreshAll()
      expect(advertised(forwarding)).to.deep.equal(advertised(fresh))
      expectConsistentLog(forwarding)
    })

    it('drops all 20,000 when the peer stays silent past its hold-down time, and withdraws them from our peers', () => {
      const { table, forwarding, receiver } = receiverSetup()
      expect(receiver.expire(45_001)).to.equal(true)
      expect(table.entries().filter(([, route]) => route.nextHop === 'p1')).to.have.length(0)
      expect(advertisedVia(forwarding, 'p1')).to.equal(0)
      expect(advertised(forwarding).has(OWN)).to.equal(true)
      expectConsistentLog(forwarding)
    })
  })
})
