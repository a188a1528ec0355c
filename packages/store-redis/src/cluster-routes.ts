/**
 * One routing view across the cluster: the routes this member learned from the accounts connected here (a CCP
 * peer it holds) are written to Redis, and the routes the other members wrote are imported into this member's
 * routing table as learned from the same account, so a packet for such a prefix goes to that account and, since
 * it is not connected here, over the internal link to the member holding it.
 *
 * Keys (under the store's prefix):
 *   cluster:routes:<id>   hash "<account> <prefix>" -> JSON { path, auth? (base64) }, PX ttl, renewed each
 *                         heartbeat; the member's entry carries a version that changes with every write, so
 *                         the others read the hash again only when it changed.
 */
import type { ChainableCommander, Redis } from 'ioredis'
import type { SharedRoute } from '@conn/types'

type Import = (accountId: string, prefix: string, route: SharedRoute | undefined) => void

interface Imported {
  version: number
  routes: Map<string, string>
}

function field (accountId: string, prefix: string): string { return accountId + ' ' + prefix }

function split (key: string): [string, string] {
  const space = key.indexOf(' ')
  return [key.slice(0, space), key.slice(space + 1)]
}

function encode (route: SharedRoute): string {
  return JSON.stringify(route.auth === undefined ? { path: route.path } : { path: route.path, auth: route.auth.toString('base64') })
}

function decode (value: string): SharedRoute | undefined {
  try {
    const { path, auth } = JSON.parse(value) as { path?: unknown, auth?: unknown }
    if (!Array.isArray(path) || !path.every((hop) => typeof hop === 'string')) return undefined
    return typeof auth === 'string' ? { path, auth: Buffer.from(auth, 'base64') } : { path }
  } catch {
    return undefined
  }
}

export class ClusterRoutes {
  /** The routes of accounts connected here, as written (or to be written). */
  private readonly own = new Map<string, string>()
  /** Changes not yet written: the new value, or null for a removal. */
  private pending = new Map<string, string | null>()
  /** After a failed write: the whole hash is written again. */
  private rewrite = false
  /** Changes with every write of changes; the others compare it to know when to read again. */
  version = 0
  /** What was imported from each other member (by its id). */
  private readonly imported = new Map<string, Imported>()
  private readonly syncing = new Map<string, Promise<void>>()

  constructor (
    private readonly importRoute: Import,
    /** Whether an account is connected here: its routes are learned here, not imported. */
    private readonly connectedHere: (accountId: string) => boolean,
    /** Whether a member is still one (a read that ends after it left imports nothing). */
    private readonly isMember: (memberId: string) => boolean
  ) {}

  /** A route learned (or lost) here; true when it changes what this member shares. */
  share (accountId: string, prefix: string, route: SharedRoute | undefined): boolean {
    const key = field(accountId, prefix)
    if (route === undefined) {
      if (!this.own.delete(key)) return false
      this.pending.set(key, null)
      return true
    }
    // a route of an account held by another member is that member's to share (and was imported from it)
    if (!this.connectedHere(accountId)) return false
    const value = encode(route)
    if (this.own.get(key) === value) return false
    this.own.set(key, value)
    this.pending.set(key, value)
    return true
  }

  /**
   * An account disconnected or went away here: its routes are no longer ours to share, and what the others
   * share for it is imported again at the next read (the withdrawal here may have removed it from the table).
   */
  dropAccount (accountId: string): boolean {
    const start = accountId + ' '
    let changed = false
    for (const key of [...this.own.keys()]) {
      if (!key.startsWith(start)) continue
      this.own.delete(key)
      this.pending.set(key, null)
      changed = true
    }
    for (const imported of this.imported.values()) {
      let had = false
      for (const key of [...imported.routes.keys()]) {
        if (!key.startsWith(start)) continue
        imported.routes.delete(key)
        had = true
      }
      // read again (a child that comes and goes, with no shared routes, costs nothing)
      if (had) imported.version = -1
    }
    return changed
  }

  /** Adds this heartbeat's writes to `multi`; `written` or `failed` once it ran. */
  write (multi: ChainableCommander, key: string, ttl: number): { written: () => void, failed: () => void } {
    const pending = this.pending
    const rewrite = this.rewrite
    this.pending = new Map()
    if (rewrite) {
      multi.del(key)
      if (this.own.size > 0) multi.hset(key, Object.fromEntries(this.own))
    } else if (pending.size > 0) {
      const set: Record<string, string> = {}
      const removed: string[] = []
      for (const [name, value] of pending) {
        if (value === null) removed.push(name)
        else set[name] = value
      }
      if (removed.length > 0) multi.hdel(key, ...removed)
      if (Object.keys(set).length > 0) multi.hset(key, set)
    }
    if (rewrite || pending.size > 0) this.version++
    multi.pexpire(key, ttl)
    return {
      written: () => { if (rewrite) this.rewrite = false },
      failed: () => { this.rewrite = true }
    }
  }

  /** Drops the key of this member (at a graceful stop). */
  remove (multi: ChainableCommander, key: string): void {
    multi.del(key)
  }

  /** Reads a member's routes again when its version changed (one read at a time per member). */
  sync (redis: Redis, memberId: string, key: string, version: number): void {
    if (this.imported.get(memberId)?.version === version || this.syncing.has(memberId)) return
    const reading = this.read(redis, memberId, key, version)
      .catch(() => {}) // read again at the next heartbeat: the version still differs
      .finally(() => { this.syncing.delete(memberId) })
    this.syncing.set(memberId, reading)
  }

  private async read (redis: Redis, memberId: string, key: string, version: number): Promise<void> {
    const values = await redis.hgetall(key)
    if (!this.isMember(memberId)) return
    const routes = new Map(Object.entries(values))
    const before = this.imported.get(memberId)?.routes ?? new Map<string, string>()
    this.imported.set(memberId, { version, routes })
    for (const name of before.keys()) {
      if (routes.has(name)) continue
      const [accountId, prefix] = split(name)
      if (!this.connectedHere(accountId)) this.importRoute(accountId, prefix, undefined)
    }
    for (const [name, value] of routes) {
      if (before.get(name) === value) continue
      const [accountId, prefix] = split(name)
      const route = decode(value)
      if (route !== undefined && !this.connectedHere(accountId)) this.importRoute(accountId, prefix, route)
    }
  }

  /** A member left the cluster: every route imported from it is withdrawn. */
  forget (memberId: string): void {
    const imported = this.imported.get(memberId)
    if (imported === undefined) return
    this.imported.delete(memberId)
    for (const name of imported.routes.keys()) {
      const [accountId, prefix] = split(name)
      if (!this.connectedHere(accountId)) this.importRoute(accountId, prefix, undefined)
    }
  }

  /** The members routes were imported from. */
  members (): string[] { return [...this.imported.keys()] }
}
