/**
 * Property tests of the routing table against a naive model that recomputes every choice from scratch:
 * random sequences of learned routes, withdrawals, accounts leaving and coming back, local and static routes,
 * checked after every step on a small address space (brute-force longest prefix over every prefix) and at
 * the end on a table of 30,000 routes.
 */
import { expect } from 'chai'
import { Rng } from '@conn/testkit'
import type { Relation, Route, StaticRoute } from '@conn/types'
import { RoutingTable } from '../src/routing.ts'

/** Seeded numbers in [0, 1), so a failure is replayed by its seed. */
function random (seed: number): () => number {
  const rng = new Rng(seed)
  return () => rng.float()
}

const RANK: Record<Relation, number> = { child: 0, peer: 1, parent: 2 }
const ACCOUNTS: Record<string, Relation> = { kid: 'child', p1: 'peer', p2: 'peer', up: 'parent' }

/** What the table should hold, recomputed from its inputs alone. */
class Model {
  readonly relations: Record<string, Relation> = { ...ACCOUNTS }
  local = new Map<string, Route>()
  readonly learned = new Map<string, Map<string, string[]>>()

  constructor (readonly statics: StaticRoute[]) {}

  best (prefix: string): Route | undefined {
    const staticRoute = this.statics.find((route) => route.targetPrefix === prefix)
    if (staticRoute !== undefined && this.relations[staticRoute.peerId] !== undefined) return { nextHop: staticRoute.peerId, path: [] }
    const local = this.local.get(prefix)
    if (local !== undefined) return local
    const candidates = [...this.learned.get(prefix) ?? []]
      .filter(([id]) => this.relations[id] !== undefined)
      .sort(([a, pathA], [b, pathB]) => RANK[this.relations[a]!] - RANK[this.relations[b]!] || pathA.length - pathB.length || (a < b ? -1 : 1))
    return candidates.length === 0 ? undefined : { nextHop: candidates[0]![0], path: candidates[0]![1] }
  }

  chosen (): Map<string, Route> {
    const prefixes = new Set([...this.local.keys(), ...this.learned.keys(), ...this.statics.map((route) => route.targetPrefix)])
    const chosen = new Map<string, Route>()
    for (const prefix of prefixes) {
      const route = this.best(prefix)
      if (route !== undefined) chosen.set(prefix, route)
    }
    return chosen
  }
}

/** Longest prefix by comparing the destination with every prefix: slow, obviously right. */
function bruteForceNextHop (chosen: Map<string, Route>, destination: string): string | undefined {
  let best: string | undefined
  for (const prefix of chosen.keys()) {
    const covers = prefix === '' || destination === prefix || destination.startsWith(prefix + '.')
    if (covers && (best === undefined || prefix.length > best.length)) best = prefix
  }
  return best === undefined ? undefined : chosen.get(best)!.nextHop
}

function sameRoute (actual: Route | undefined, expected: Route | undefined): boolean {
  if (actual === undefined || expected === undefined) return actual === expected
  return actual.nextHop === expected.nextHop && actual.path.join(' ') === expected.path.join(' ')
}

/** A random prefix of 1 to 4 segments under `test`, from a small alphabet so that prefixes nest and collide. */
function prefixOf (next: () => number): string {
  const segments = ['a', 'b', 'ab', 'c']
  let prefix = 'test'
  const depth = 1 + Math.floor(next() * 4)
  for (let i = 0; i < depth; i++) prefix += '.' + segments[Math.floor(next() * segments.length)]!
  return prefix
}

function pick<T> (next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!
}

/** Applies one random step to both the table and the model. */
function step (next: () => number, table: RoutingTable, model: Model): void {
  const ids = Object.keys(ACCOUNTS)
  const roll = next()
  if (roll < 0.5) {
    const id = pick(next, ids)
    if (model.relations[id] === undefined) return
    const prefix = prefixOf(next)
    const path = Array.from({ length: Math.floor(next() * 3) }, (_, i) => `test.hop${i}`)
    table.addLearnedRoute(id, prefix, { path })
    let byAccount = model.learned.get(prefix)
    if (byAccount === undefined) model.learned.set(prefix, byAccount = new Map())
    byAccount.set(id, path)
  } else if (roll < 0.8) {
    const id = pick(next, ids)
    const prefix = prefixOf(next)
    table.removeLearnedRoute(id, prefix)
    model.learned.get(prefix)?.delete(id)
    if (model.learned.get(prefix)?.size === 0) model.learned.delete(prefix)
  } else if (roll < 0.87) {
    // An account disconnects: its routes go.
    const id = pick(next, ids)
    table.removeLearnedRoutesOf(id)
    for (const [prefix, byAccount] of model.learned) {
      byAccount.delete(id)
      if (byAccount.size === 0) model.learned.delete(prefix)
    }
  } else if (roll < 0.93) {
    // An account is removed or added back, as the app does it: learned routes dropped, local routes rebuilt.
    const id = pick(next, ids)
    if (model.relations[id] === undefined) {
      model.relations[id] = ACCOUNTS[id]!
    } else {
      delete model.relations[id]
      table.removeLearnedRoutesOf(id)
      for (const [prefix, byAccount] of model.learned) {
        byAccount.delete(id)
        if (byAccount.size === 0) model.learned.delete(prefix)
      }
    }
    model.local = localRoutes(next, model)
    table.setLocalRoutes(new Map(model.local))
  } else {
    model.local = localRoutes(next, model)
    table.setLocalRoutes(new Map(model.local))
  }
}

function localRoutes (next: () => number, model: Model): Map<string, Route> {
  const routes = new Map<string, Route>([['test.me', { nextHop: '', path: [] }]])
  if (model.relations.kid !== undefined && next() < 0.7) routes.set(prefixOf(next), { nextHop: 'kid', path: [] })
  if (model.relations.up !== undefined && next() < 0.5) routes.set('test', { nextHop: 'up', path: [] })
  return routes
}

function check (table: RoutingTable, model: Model, destinations: string[]): void {
  const chosen = model.chosen()
  const entries = table.entries()
  expect(entries.map(([prefix]) => prefix)).to.deep.equal(
    [...chosen.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)), 'the table lists exactly the chosen prefixes, longest first')
  for (const [prefix, route] of entries) {
    expect(sameRoute(route, chosen.get(prefix)), `route of ${prefix}`).to.equal(true)
    expect(sameRoute(table.get(prefix), chosen.get(prefix)), `get(${prefix})`).to.equal(true)
  }
  for (const destination of destinations) {
    expect(table.resolve(destination), `next hop of ${destination}`).to.equal(bruteForceNextHop(chosen, destination))
  }
}

describe('routing table against a naive model', () => {
  const statics: StaticRoute[] = [{ targetPrefix: 'test.a.b', peerId: 'p2' }, { targetPrefix: 'test.c', peerId: 'up' }]

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`agrees with the model after every step of a random sequence (seed ${seed}, 400 steps)`, () => {
      const next = random(seed)
      const table = new RoutingTable((id) => model.relations[id], statics)
      const model = new Model(statics)
      model.local = localRoutes(next, model)
      table.setLocalRoutes(new Map(model.local))
      const destinations = Array.from({ length: 40 }, () => prefixOf(next) + (next() < 0.5 ? '.x' : ''))
      destinations.push('test.ab', 'test.a.bc', 'other.a', 'test')
      for (let i = 0; i < 400; i++) {
        step(next, table, model)
        check(table, model, destinations)
      }
    })
  }

  it('agrees with the model on a table of 30,000 learned routes from three accounts, after withdrawals', function () {
    this.timeout(60000) // about a second alone; much more beside a full parallel test run
    const next = random(42)
    const model = new Model([])
    const table = new RoutingTable((id) => model.relations[id])
    const ids = ['p1', 'p2', 'kid']
    for (let i = 0; i < 30_000; i++) {
      const id = pick(next, ids)
      const prefix = `test.n${Math.floor(next() * 500)}.r${Math.floor(next() * 40)}` + (next() < 0.3 ? '.x' : '')
      const path = next() < 0.5 ? ['test.hop'] : []
      table.addLearnedRoute(id, prefix, { path })
      let byAccount = model.learned.get(prefix)
      if (byAccount === undefined) model.learned.set(prefix, byAccount = new Map())
      byAccount.set(id, path)
    }
    for (const [prefix, byAccount] of [...model.learned]) {
      if (next() < 0.3 && byAccount.has('kid')) {
        table.removeLearnedRoute('kid', prefix)
        byAccount.delete('kid')
        if (byAccount.size === 0) model.learned.delete(prefix)
      }
    }
    table.removeLearnedRoutesOf('p2')
    for (const [prefix, byAccount] of model.learned) {
      byAccount.delete('p2')
      if (byAccount.size === 0) model.learned.delete(prefix)
    }
    const chosen = model.chosen()
    expect(chosen.size).to.be.greaterThan(5000)
    expect(table.entries().length).to.equal(chosen.size)
    for (const [prefix, route] of chosen) expect(sameRoute(table.get(prefix), route), prefix).to.equal(true)
    // Longest prefix for random destinations, against the model's routes walked segment by segment.
    for (let i = 0; i < 3000; i++) {
      const destination = `test.n${Math.floor(next() * 520)}.r${Math.floor(next() * 45)}.x.y`
      let expected: string | undefined
      for (let end = destination.length; end > 0; end = destination.lastIndexOf('.', end - 1)) {
        expected = chosen.get(destination.slice(0, end))?.nextHop
        if (expected !== undefined) break
      }
      expect(table.resolve(destination), destination).to.equal(expected)
    }
  })
})
