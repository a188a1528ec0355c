/**
 * What we advertise: for each prefix the route peers may use through us, derived from the connector's
 * routing table, plus the epoch log peers sync from. Reference section 4.6: a routing table id (random
 * UUID per process), a current epoch, and a log indexed by epoch in which an entry superseded by a later
 * change of the same prefix is nulled, so a peer catching up reads only the latest state of each prefix.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto'
import type { Relation, Route, RoutingTableView } from '@conn/types'
import { PrefixTree } from './prefix-tree.ts'

/** A route as peers see it: the path starts with our address, the auth is hashed once more. */
export interface AdvertisedRoute {
  /** Our next hop for it (never sent; used for split horizon and the parent rule). */
  nextHop: string
  path: string[]
  auth: Buffer
}

/** One change of what we advertise for a prefix; `route` undefined is a withdrawal. */
export interface RouteUpdate {
  prefix: string
  route: AdvertisedRoute | undefined
  epoch: number
}

/** `local` is the connector itself (next hop ''). */
export type RouteRelation = Relation | 'local'

/** DRAGON preference (reference routing/relation.ts): higher is preferred. */
const PRIORITY: Record<RouteRelation, number> = { parent: 0, peer: 1, child: 2, local: 3 }

export interface ForwardingTableDeps {
  /** The connector's table: the route chosen for each prefix. */
  table: Pick<RoutingTableView, 'get' | 'entries'>
  getOwnAddress: () => string
  /** `g` in production, `test` otherwise. */
  globalPrefix: string
  /** HMAC key for the auth of routes that start here (local and static routes). */
  routingSecret: Buffer
  /** Relation of a next hop ('' is `local`). */
  relationOf: (accountId: string) => RouteRelation
}

export function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

export function hmacSha256 (key: Buffer, message: string): Buffer {
  return createHmac('sha256', key).update(message, 'utf8').digest()
}

export class ForwardingTable {
  readonly routingTableId: string = randomUUID()
  /** The epoch the next change gets; also the number of changes so far. */
  currentEpoch = 0
  /** Changes by epoch; null where a later change of the same prefix superseded it. */
  readonly log: Array<RouteUpdate | null> = []
  /**
   * Every prefix in the connector's table or ever advertised, with the latest change logged for it (if any),
   * as a tree: the prefixes under a changed one (whose DRAGON filtering may change with it) are found without
   * scanning the whole table.
   */
  private readonly current = new PrefixTree<RouteUpdate>()
  /**
   * The advertised path for each path we learned (the same array when the learned one is shared, as the
   * receiver's are): 100,000 routes through one peer advertise one array, not 100,000. Cleared when our
   * address changes.
   */
  private advertisedPaths = new WeakMap<string[], string[]>()
  private advertisedPathsOf = ''

  constructor (private readonly deps: ForwardingTableDeps) {}

  /** The latest change logged for a prefix (its route undefined when withdrawn). */
  get (prefix: string): RouteUpdate | undefined { return this.current.get(prefix) }

  /** Every prefix ever advertised, with its latest change. */
  entries (): IterableIterator<[string, RouteUpdate]> { return this.current.entries() }

  /**
   * Re-derives what we advertise for `prefix` from the connector's table and logs a change if it differs
   * from what we advertise now (other next hop or other path). When it changed, the prefixes under it are
   * re-derived too, since DRAGON filtering depends on the routes of shorter prefixes: the cost is the depth of
   * the prefix plus the number of prefixes under it, never the size of the table. Returns true if anything was
   * logged for `prefix`.
   */
  refresh (prefix: string): boolean {
    if (this.deps.table.get(prefix) !== undefined) this.current.add(prefix)
    else if (this.current.get(prefix) === undefined) this.current.delete(prefix)
    if (!this.refreshOne(prefix)) return false
    // Shorter prefixes first on each branch, so each one is judged against its covering routes as they are now.
    for (const key of this.current.under(prefix)) this.refreshOne(key)
    return true
  }

  /**
   * Withdraws every route we advertise, each as a new epoch (at shutdown: peers that sync the log stop sending
   * us packets for them). Returns true if anything was withdrawn.
   */
  withdrawAll (): boolean {
    let changed = false
    for (const [prefix, current] of this.current.entries()) {
      if (current.route === undefined) continue
      const update: RouteUpdate = { prefix, route: undefined, epoch: this.currentEpoch++ }
      this.log[current.epoch] = null
      this.log[update.epoch] = update
      this.current.set(prefix, update)
      changed = true
    }
    return changed
  }

  /** Re-derives every prefix, shorter ones first (e.g. at start, or after our address changed). */
  refreshAll (): boolean {
    for (const [prefix] of this.deps.table.entries()) this.current.add(prefix)
    let changed = false
    if (this.current.has('')) changed = this.refreshOne('')
    for (const prefix of this.current.under('')) changed = this.refreshOne(prefix) || changed
    return changed
  }

  /** What peers should see for a prefix given our route to it, or undefined for a withdrawal (4.6). */
  advertisedForm (prefix: string, route: Route | undefined): AdvertisedRoute | undefined {
    if (route === undefined) return undefined
    const { globalPrefix, getOwnAddress, routingSecret } = this.deps
    if (!prefix.startsWith(globalPrefix) || prefix === globalPrefix) return undefined
    const ownAddress = getOwnAddress()
    if (route.path.length === 0 && prefix.startsWith(ownAddress + '.')) return undefined
    if (this.dragonFilters(prefix, route.nextHop)) return undefined
    // A route that starts here (own address, child, default, static) is signed with our secret. The copy
    // lands in Node's shared buffer pool: 100,000 digests of their own cost 20 MB more.
    const auth = Buffer.from(sha256(route.auth ?? hmacSha256(routingSecret, prefix)))
    return { nextHop: route.nextHop, path: this.advertisedPath(ownAddress, route.path), auth }
  }

  /** Our address, then `path` (one frozen array per learned path array and address). */
  private advertisedPath (ownAddress: string, path: string[]): string[] {
    if (this.advertisedPathsOf !== ownAddress) {
      this.advertisedPaths = new WeakMap()
      this.advertisedPathsOf = ownAddress
    }
    let advertised = this.advertisedPaths.get(path)
    if (advertised === undefined) {
      advertised = Object.freeze([ownAddress, ...path]) as string[]
      this.advertisedPaths.set(path, advertised)
    }
    return advertised
  }

  /**
   * DRAGON (reference routing/dragon.ts): a prefix need not be advertised when a shorter prefix covering it
   * is advertised through a non-local next hop whose relation is at least as preferred as this route's.
   */
  private dragonFilters (prefix: string, nextHop: string): boolean {
    const ownPriority = PRIORITY[this.deps.relationOf(nextHop)]
    for (let end = prefix.indexOf('.'); end !== -1; end = prefix.indexOf('.', end + 1)) {
      const covering = this.current.get(prefix.slice(0, end))?.route
      if (covering === undefined || covering.nextHop === '') continue
      if (PRIORITY[this.deps.relationOf(covering.nextHop)] >= ownPriority) return true
    }
    return false
  }

  /** `refresh` for this prefix alone. */
  private refreshOne (prefix: string): boolean {
    const route = this.advertisedForm(prefix, this.deps.table.get(prefix))
    const current = this.current.get(prefix)
    if (sameAdvertisement(current?.route, route)) return false
    const epoch = this.currentEpoch++
    const update: RouteUpdate = { prefix, route, epoch }
    if (current !== undefined) this.log[current.epoch] = null
    this.log[epoch] = update
    this.current.set(prefix, update)
    return true
  }
}

function sameAdvertisement (a: AdvertisedRoute | undefined, b: AdvertisedRoute | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.nextHop === b.nextHop && a.path.length === b.path.length && a.path.every((hop, i) => hop === b.path[i])
}
