/**
 * The routing table: for each prefix the best of its static route, local route and the routes learned
 * from peers (a route-exchange package such as @conn/routing-ccp feeds those in), with longest-prefix
 * lookup for forwarding.
 */
import type { Relation, Route, RouteChangeListener, RoutingTableView, StaticRoute } from '@conn/types'
import { PrefixMap } from './prefix-map.ts'

const RESOLVED_LIMIT = 10_000

const RELATION_PREFERENCE: Record<Relation, number> = { child: 0, peer: 1, parent: 2 }

export interface LocalRouteSettings {
  ownAddress: string
  /** `g` in production, `test` otherwise. */
  globalPrefix: string
  /** `defaultRoute` option: `auto` (first parent), '' (none) or an account id. */
  defaultRoute: string
  accounts: Iterable<{ id: string, relation: Relation, config: { ilpAddressSegment?: string } }>
}

/** Child address of an account: our address plus its segment (the account id unless configured). */
export function childAddress (ownAddress: string, account: { id: string, config: { ilpAddressSegment?: string } }): string {
  return ownAddress + '.' + (account.config.ilpAddressSegment ?? account.id)
}

/** The routes the connector knows without asking anyone: itself, its children and the default route. */
export function buildLocalRoutes (settings: LocalRouteSettings): Map<string, Route> {
  const routes = new Map<string, Route>()
  routes.set(settings.ownAddress, { nextHop: '', path: [] })
  let defaultHop = settings.defaultRoute === 'auto' ? undefined : settings.defaultRoute
  for (const account of settings.accounts) {
    if (account.relation === 'child') {
      routes.set(childAddress(settings.ownAddress, account), { nextHop: account.id, path: [] })
    } else if (account.relation === 'parent' && settings.defaultRoute === 'auto' && defaultHop === undefined) {
      defaultHop = account.id
    }
  }
  if (defaultHop !== undefined && defaultHop !== '') {
    routes.set(settings.globalPrefix, { nextHop: defaultHop, path: [] })
  }
  return routes
}

export type { Route, RouteChangeListener }

/**
 * What the table holds for one prefix: the route chosen for it and the routes accounts advertised for it, one
 * per account (an array: rarely more than a few). One entry per prefix in one map: at 100,000 prefixes a
 * second map of the same size doubles its storage in the same update as the first, and each doubling blocks
 * the event loop for about 15 ms.
 */
interface PrefixEntry {
  /** Undefined while the prefix has learned routes but none usable (the entry is then a hole for lookups). */
  route: Route | undefined
  /** One route alone (the usual case: no array per prefix), or several. */
  learned: Route | Route[] | undefined
}

/** The learned routes of an entry as a list (for the rare paths that change or search several). */
function learnedList (learned: Route | Route[] | undefined): Route[] {
  return learned === undefined ? [] : Array.isArray(learned) ? learned : [learned]
}

function isHole (entry: PrefixEntry): boolean { return entry.route === undefined }

export class RoutingTable implements RoutingTableView {
  private readonly table = new PrefixMap<PrefixEntry>(isHole)
  private local = new Map<string, Route>()
  private readonly statics = new Map<string, string>()
  private readonly listeners: RouteChangeListener[] = []
  /** Told of each learned route added or removed (the cluster shares them); at most one. */
  private learnedListener: ((accountId: string, prefix: string, route: Route | undefined) => void) | undefined
  /**
   * Next hop by destination for the destinations seen since the table last changed: a STREAM connection
   * sends many packets to one address, and this saves walking its segments for each. Cleared on every change;
   * bounded by dropping it whole when it grows past RESOLVED_LIMIT.
   */
  private readonly resolved = new Map<string, string | undefined>()

  constructor (
    private readonly relationOf: (accountId: string) => Relation | undefined,
    staticRoutes: StaticRoute[] = []
  ) {
    for (const { targetPrefix, peerId } of staticRoutes) this.statics.set(targetPrefix, peerId)
  }

  /** Next hop for a destination address by longest prefix, or undefined when there is no route. */
  resolve (destination: string): string | undefined {
    let nextHop = this.resolved.get(destination)
    if (nextHop === undefined && !this.resolved.has(destination)) {
      nextHop = this.table.resolve(destination)?.route!.nextHop
      if (this.resolved.size >= RESOLVED_LIMIT) this.resolved.clear()
      this.resolved.set(destination, nextHop)
    }
    return nextHop
  }

  /** The table entry (prefix and route) a destination resolves to. */
  lookup (destination: string): { prefix: string, route: Route } | undefined {
    const prefix = this.table.resolvePrefix(destination)
    return prefix === undefined ? undefined : { prefix, route: this.table.get(prefix)!.route! }
  }

  get (prefix: string): Route | undefined { return this.table.get(prefix)?.route }

  /** A snapshot of the table, longest prefixes first. */
  entries (): Array<[string, Route]> {
    return this.table.sortedKeys().map((prefix) => [prefix, this.table.get(prefix)!.route!])
  }

  onChange (listener: RouteChangeListener): () => void {
    this.listeners.push(listener)
    return () => {
      const index = this.listeners.indexOf(listener)
      if (index >= 0) this.listeners.splice(index, 1)
    }
  }

  /** Sets what is told of every learned route added (or replaced) and removed; undefined: nobody. */
  onLearnedChange (listener: ((accountId: string, prefix: string, route: Route | undefined) => void) | undefined): void {
    this.learnedListener = listener
  }

  /** Replaces the static routes (a configuration reload) and re-evaluates the prefixes they or the previous ones named. */
  setStaticRoutes (routes: StaticRoute[]): void {
    const prefixes = new Set([...this.statics.keys(), ...routes.map((route) => route.targetPrefix)])
    this.statics.clear()
    for (const { targetPrefix, peerId } of routes) this.statics.set(targetPrefix, peerId)
    for (const prefix of prefixes) this.recompute(prefix)
  }

  /** Replaces the local routes and re-evaluates every prefix they or the previous ones covered. */
  setLocalRoutes (routes: Map<string, Route>): void {
    const previous = this.local
    this.local = routes
    const prefixes = new Set([...previous.keys(), ...routes.keys(), ...this.statics.keys()])
    for (const prefix of prefixes) this.recompute(prefix)
  }

  /** Records a route an account advertised to us (replacing the one it advertised before for that prefix). */
  addLearnedRoute (accountId: string, prefix: string, route: Omit<Route, 'nextHop'>): void {
    const learned: Route = { nextHop: accountId, path: route.path, auth: route.auth }
    let entry = this.table.get(prefix)
    if (entry === undefined) this.table.set(prefix, entry = { route: undefined, learned: undefined })
    const known = entry.learned
    if (known === undefined || (!Array.isArray(known) && known.nextHop === accountId)) {
      entry.learned = learned
    } else {
      const routes = learnedList(known)
      const index = routes.findIndex((route) => route.nextHop === accountId)
      if (index === -1) routes.push(learned)
      else routes[index] = learned
      entry.learned = routes
    }
    this.recompute(prefix)
    this.learnedListener?.(accountId, prefix, learned)
  }

  removeLearnedRoute (accountId: string, prefix: string): void {
    const entry = this.table.get(prefix)
    if (entry === undefined) return
    const routes = learnedList(entry.learned)
    const index = routes.findIndex((known) => known.nextHop === accountId)
    if (index === -1) return
    routes.splice(index, 1)
    entry.learned = routes.length === 0 ? undefined : routes.length === 1 ? routes[0] : routes
    this.recompute(prefix)
    this.learnedListener?.(accountId, prefix, undefined)
  }

  /**
   * Drops every route learned from an account (it disconnected or was removed). This walks the table once;
   * it happens once per disconnect, not per route update.
   */
  removeLearnedRoutesOf (accountId: string): void {
    for (const prefix of this.learnedPrefixesOf(accountId)) this.removeLearnedRoute(accountId, prefix)
  }

  learnedPrefixesOf (accountId: string): string[] {
    const prefixes: string[] = []
    for (const [prefix, entry] of this.table.entries()) {
      const learned = entry.learned
      if (learned === undefined) continue
      if (Array.isArray(learned) ? learned.some((known) => known.nextHop === accountId) : learned.nextHop === accountId) prefixes.push(prefix)
    }
    return prefixes
  }

  /**
   * Re-evaluates every prefix (its cost is the table's size). Adding or removing an account does not need it:
   * setLocalRoutes re-evaluates the local and static routes, and an account's learned routes go with it.
   */
  recomputeAll (): void {
    const prefixes = new Set([...this.table.keys(), ...this.local.keys(), ...this.statics.keys()])
    for (const prefix of prefixes) this.recompute(prefix)
  }

  /** Best route for exactly this prefix: static, then local, then learned (child > peer > parent, shorter path, smaller id). */
  private best (prefix: string, learned: Route | Route[] | undefined): Route | undefined {
    const staticHop = this.statics.get(prefix)
    if (staticHop !== undefined && this.relationOf(staticHop) !== undefined) return { nextHop: staticHop, path: [] }
    const local = this.local.get(prefix)
    if (local !== undefined) return local
    if (learned === undefined) return undefined
    if (!Array.isArray(learned)) return this.relationOf(learned.nextHop) === undefined ? undefined : learned
    let best: Route | undefined
    let bestRank = Infinity
    for (const route of learned) {
      const relation = this.relationOf(route.nextHop)
      if (relation === undefined) continue
      const rank = RELATION_PREFERENCE[relation]
      if (best === undefined || rank < bestRank ||
          (rank === bestRank && (route.path.length < best.path.length ||
            (route.path.length === best.path.length && route.nextHop < best.nextHop)))) {
        best = route
        bestRank = rank
      }
    }
    return best
  }

  private recompute (prefix: string): void {
    let entry = this.table.get(prefix)
    const current = entry?.route
    const next = this.best(prefix, entry?.learned)
    if (entry !== undefined && next === undefined && entry.learned === undefined) this.table.delete(prefix)
    if (sameRoute(current, next)) return
    if (next !== undefined) {
      if (entry === undefined) this.table.set(prefix, entry = { route: next, learned: undefined })
      else entry.route = next
    } else if (entry?.learned !== undefined) {
      entry.route = undefined
    }
    this.resolved.clear()
    for (const listener of this.listeners) listener(prefix, next)
  }
}

function sameRoute (a: Route | undefined, b: Route | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.nextHop === b.nextHop && a.path.length === b.path.length && a.path.every((hop, i) => hop === b.path[i])
}
