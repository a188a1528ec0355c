/**
 * Lets a Prepare that repeats one already sent to the same next hop (same condition, destination and data,
 * an amount and expiry no greater) share that packet's outcome instead of being forwarded again. Routing
 * loops and retrying senders then cost the next hop one packet, not one per copy; a loop ends when the
 * shared packet times out.
 */
import type { Account, DataHandler, Logger, Middleware, MiddlewareApi, PacketContext } from '@conn/types'
import { SettledRing } from './settled-ring.ts'
import { deduplicateConfigOf } from './options.ts'

export const DEFAULT_CLEANUP_INTERVAL = 30_000
export const DEFAULT_PACKET_LIFETIME = 30_000

interface InFlightPacket {
  amount: bigint
  expiresAt: number
  /** The reply of the packet that was forwarded (or the error it failed with). */
  promise: Promise<Buffer>
}

interface AccountCache {
  /** Packets forwarded and not yet answered, by keyOf(). */
  readonly inFlight: Map<string, InFlightPacket>
  /** Packets answered: their replies serve retries until forgotten. */
  readonly settled: SettledRing
  readonly packetLifetime: number
  readonly timer: NodeJS.Timeout
}

/**
 * Settled packets remembered per next hop, at most. The reference keeps every packet until its expiry plus
 * `packetLifetime`, which at thousands of packets per second is hundreds of megabytes; conn forgets the
 * oldest settled ones beyond this (packets in flight are always kept: they are what stops a routing loop).
 */
export const MAX_SETTLED = 20_000

export class Deduplicate implements Middleware {
  readonly name = 'deduplicate'
  private readonly caches = new Map<string, AccountCache>()
  private readonly logger: Logger

  constructor (api: Pick<MiddlewareApi, 'logger'>) {
    this.logger = api.logger
  }

  // A plain function chaining on next() with `then`: no async frame per packet.
  readonly outgoingData: DataHandler = (ctx, next) => {
    const cache = this.caches.get(ctx.account.id)
    if (cache === undefined) return next(ctx)
    const { amount, expiresAt, executionCondition, destination, data } = ctx.prepare
    const hash = hashOf(destination, data)
    const key = keyFrom(executionCondition, hash)
    const inFlight = cache.inFlight.get(key)
    if (inFlight !== undefined && inFlight.amount >= amount && inFlight.expiresAt >= expiresAt) {
      this.logDuplicate(ctx)
      return inFlight.promise
    }
    const slot = inFlight === undefined ? cache.settled.find(executionCondition, hash) : -1
    if (slot >= 0 && cache.settled.amountAt(slot) >= amount && cache.settled.expiresAtAt(slot) >= expiresAt &&
      cache.settled.expiresAtAt(slot) + cache.packetLifetime >= Date.now()) {
      this.logDuplicate(ctx)
      return cache.settled.outcomeAt(slot)
    }
    // The `then` below handles a rejection of `promise`, so a duplicate that awaits it later after it failed
    // never makes it an unhandled rejection.
    const promise = next(ctx)
    const entry: InFlightPacket = { amount, expiresAt, promise }
    cache.inFlight.set(key, entry)
    return promise.then(
      (reply) => {
        settle(cache, key, entry, executionCondition, hash, reply)
        return reply
      },
      (err: unknown) => {
        settle(cache, key, entry, executionCondition, hash, undefined, err)
        throw err
      }
    )
  }

  /** Starts the account's cleanup timer, with its `deduplicate` options (each omitted one at its default). */
  addAccount (account: Account): void {
    this.removeAccount(account)
    const options = deduplicateConfigOf(account.config)
    const cleanupInterval = options?.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL
    const packetLifetime = options?.packetLifetime ?? DEFAULT_PACKET_LIFETIME
    const timer: NodeJS.Timeout = setInterval(() => { cleanup(cache) }, cleanupInterval)
    timer.unref()
    const cache: AccountCache = { inFlight: new Map(), settled: new SettledRing(MAX_SETTLED), packetLifetime, timer }
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

  /** How many packets are remembered for an account, in flight and settled (for tests and diagnostics). */
  size (accountId: string): number {
    const cache = this.caches.get(accountId)
    return cache === undefined ? 0 : cache.inFlight.size + cache.settled.size
  }

  private logDuplicate (ctx: PacketContext): void {
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ account: ctx.account.id, destination: ctx.prepare.destination, amount: String(ctx.prepare.amount) }, 'duplicate packet shares the outcome of the one in flight')
    }
  }
}

/** Moves a packet from in flight to settled, if its entry is still the one remembered (not replaced). */
function settle (cache: AccountCache, key: string, entry: InFlightPacket, condition: Buffer, hash: number, reply: Buffer | undefined, error?: unknown): void {
  if (cache.inFlight.get(key) !== entry) return
  cache.inFlight.delete(key)
  cache.settled.add(condition, hash, entry.amount, entry.expiresAt, reply, error)
}

/** Forgets packets that expired more than `packetLifetime` ms ago. */
function cleanup (cache: AccountCache): void {
  const cutoff = Date.now() - cache.packetLifetime
  for (const [key, entry] of cache.inFlight) {
    if (entry.expiresAt < cutoff) cache.inFlight.delete(key)
  }
  cache.settled.removeExpiredBefore(cutoff)
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
  return keyFrom(executionCondition, hashOf(destination, data))
}

function keyFrom (condition: Buffer, hash: number): string {
  return condition.toString('latin1') + String.fromCharCode(hash & 0xffff, hash >>> 16)
}

/** 32-bit FNV-1a of destination and data, each preceded by its length. */
export function hashOf (destination: string, data: Uint8Array): number {
  let hash = FNV_OFFSET
  hash = fnvNumber(hash, destination.length)
  for (let i = 0; i < destination.length; i++) hash = Math.imul(hash ^ destination.charCodeAt(i), FNV_PRIME)
  hash = fnvNumber(hash, data.length)
  for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data[i]!, FNV_PRIME)
  return hash
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
