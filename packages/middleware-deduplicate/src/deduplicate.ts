/**
 * Lets a Prepare that repeats one already sent to the same next hop (same condition, destination and data,
 * an amount and expiry no greater) share that packet's outcome instead of being forwarded again. Routing
 * loops and retrying senders then cost the next hop one packet, not one per copy; a loop ends when the
 * shared packet times out.
 */
import type { Account, DataHandler, Logger, Middleware, MiddlewareApi, PacketContext } from '@conn/types'

export const DEFAULT_CLEANUP_INTERVAL = 30_000
export const DEFAULT_PACKET_LIFETIME = 30_000

interface CachedPacket {
  amount: bigint
  expiresAt: number
  /** The reply of the packet that was forwarded (or the error it failed with). */
  promise: Promise<Buffer>
  /** The reply has come: the entry now only serves retries, and counts against MAX_SETTLED. */
  settled: boolean
}

interface AccountCache {
  readonly entries: Map<string, CachedPacket>
  readonly packetLifetime: number
  readonly timer: NodeJS.Timeout
  /** How many entries are settled. */
  settled: number
}

/**
 * Settled packets remembered per next hop, at most. The reference keeps every packet until its expiry plus
 * `packetLifetime`, which at thousands of packets per second is hundreds of megabytes; conn forgets the
 * oldest settled ones beyond this (packets in flight are always kept: they are what stops a routing loop).
 */
export const MAX_SETTLED = 20_000
/** Evicting down to this leaves room, so eviction runs once per thousands of packets, not per packet. */
const EVICT_TO = MAX_SETTLED - 2_000

export class Deduplicate implements Middleware {
  readonly name = 'deduplicate'
  private readonly caches = new Map<string, AccountCache>()
  private readonly logger: Logger

  constructor (api: Pick<MiddlewareApi, 'logger'>) {
    this.logger = api.logger
  }

  readonly outgoingData: DataHandler = async (ctx, next) => {
    const cache = this.caches.get(ctx.account.id)
    if (cache === undefined) return await next(ctx)
    const { amount, expiresAt } = ctx.prepare
    const key = keyOf(ctx)
    const cached = cache.entries.get(key)
    if (cached !== undefined && cached.amount >= amount && cached.expiresAt >= expiresAt) {
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug({ account: ctx.account.id, destination: ctx.prepare.destination, amount: String(amount) }, 'duplicate packet shares the outcome of the one in flight')
      }
      return await cached.promise
    }
    const promise = next(ctx)
    // A later duplicate may await this promise after it failed; nothing else may ever see it as unhandled.
    promise.catch(ignore)
    const entry: CachedPacket = { amount, expiresAt, promise, settled: false }
    if (cached?.settled === true) cache.settled--
    cache.entries.set(key, entry)
    try {
      return await promise
    } finally {
      settle(cache, key, entry)
    }
  }

  /** Starts the account's cleanup timer, with its `deduplicate` options (each omitted one at its default). */
  addAccount (account: Account): void {
    this.removeAccount(account)
    const options = account.config.deduplicate
    const cleanupInterval = options?.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL
    const packetLifetime = options?.packetLifetime ?? DEFAULT_PACKET_LIFETIME
    const entries = new Map<string, CachedPacket>()
    const timer: NodeJS.Timeout = setInterval(() => { cleanup(cache) }, cleanupInterval)
    timer.unref()
    const cache: AccountCache = { entries, packetLifetime, timer, settled: 0 }
    this.caches.set(account.id, cache)
  }

  removeAccount (account: Account): void {
    const cache = this.caches.get(account.id)
    if (cache === undefined) return
    clearInterval(cache.timer)
    this.caches.delete(account.id)
  }

  stop (): void {
    for (const cache of this.caches.values()) clearInterval(cache.timer)
    this.caches.clear()
  }

  /** How many packets are remembered for an account (for tests and diagnostics). */
  size (accountId: string): number {
    return this.caches.get(accountId)?.entries.size ?? 0
  }
}

function ignore (): void {}

/** Marks a packet settled, if its entry is still the one remembered, and keeps the settled ones bounded. */
function settle (cache: AccountCache, key: string, entry: CachedPacket): void {
  if (cache.entries.get(key) !== entry) return
  entry.settled = true
  if (++cache.settled > MAX_SETTLED) evict(cache)
}

/** Forgets the oldest settled packets (the Map keeps the order they were sent in). */
function evict (cache: AccountCache): void {
  for (const [key, entry] of cache.entries) {
    if (cache.settled <= EVICT_TO) return
    if (!entry.settled) continue
    cache.entries.delete(key)
    cache.settled--
  }
}

/** Forgets packets that expired more than `packetLifetime` ms ago. */
function cleanup (cache: AccountCache): void {
  const now = Date.now()
  for (const [key, entry] of cache.entries) {
    if (entry.expiresAt + cache.packetLifetime < now) {
      cache.entries.delete(key)
      if (entry.settled) cache.settled--
    }
  }
}

/**
 * The packet's identity apart from amount and expiry: its execution condition (already a SHA-256, 32
 * bytes) and a 32-bit FNV-1a hash of its destination and data, each length-delimited. The reference hashes
 * the same fields with SHA-256; a second cryptographic hash adds nothing to the condition and costs more than
 * the rest of this middleware (two packets could only share a key if they had the same condition and
 * destination, and a sender that reuses a condition gets the same outcome either way).
 */
export function keyOf (ctx: PacketContext): string {
  const { executionCondition, destination, data } = ctx.prepare
  let hash = FNV_OFFSET
  hash = fnvNumber(hash, destination.length)
  for (let i = 0; i < destination.length; i++) hash = Math.imul(hash ^ destination.charCodeAt(i), FNV_PRIME)
  hash = fnvNumber(hash, data.length)
  for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data[i]!, FNV_PRIME)
  return executionCondition.toString('latin1') + String.fromCharCode(hash & 0xffff, hash >>> 16)
}

const FNV_OFFSET = 0x811c9dc5 | 0
const FNV_PRIME = 0x01000193

/** Mixes a length into the hash, four bytes, so the boundary between destination and data counts. */
function fnvNumber (hash: number, value: number): number {
  hash = Math.imul(hash ^ (value & 0xff), FNV_PRIME)
  hash = Math.imul(hash ^ ((value >>> 8) & 0xff), FNV_PRIME)
  hash = Math.imul(hash ^ ((value >>> 16) & 0xff), FNV_PRIME)
  return Math.imul(hash ^ (value >>> 24), FNV_PRIME)
}
