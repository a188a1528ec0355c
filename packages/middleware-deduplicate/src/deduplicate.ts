/**
 * Lets a Prepare that repeats one already sent to the same next hop (same condition, destination and data,
 * an amount and expiry no greater) share that packet's outcome instead of being forwarded again. Routing
 * loops and retrying senders then cost the next hop one packet, not one per copy; a loop ends when the
 * shared packet times out.
 */
import { hash } from 'node:crypto'
import {
  envelopeContentsOffset, oerLengthPrefix,
  type Account, type DataHandler, type Logger, type Middleware, type MiddlewareApi, type PacketContext
} from '@conn/types'

export const DEFAULT_CLEANUP_INTERVAL = 30_000
export const DEFAULT_PACKET_LIFETIME = 30_000

/** Bytes of the SHA-256 kept as the key: 128 bits is plenty and halves the memory per entry. */
const KEY_BYTES = 16
/** Amount (8 bytes) and expiry (17 bytes): the part of a Prepare's contents left out of the key. */
const AMOUNT_AND_EXPIRY_LENGTH = 25

interface CachedPacket {
  amount: bigint
  expiresAt: number
  /** The reply of the packet that was forwarded (or the error it failed with). */
  promise: Promise<Buffer>
}

interface AccountCache {
  readonly entries: Map<string, CachedPacket>
  readonly packetLifetime: number
  readonly timer: NodeJS.Timeout
}

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
    cache.entries.set(key, { amount, expiresAt, promise })
    return await promise
  }

  /** Starts the account's cleanup timer, with its `deduplicate` options (each omitted one at its default). */
  addAccount (account: Account): void {
    this.removeAccount(account)
    const options = account.config.deduplicate
    const cleanupInterval = options?.cleanupInterval ?? DEFAULT_CLEANUP_INTERVAL
    const packetLifetime = options?.packetLifetime ?? DEFAULT_PACKET_LIFETIME
    const entries = new Map<string, CachedPacket>()
    const timer = setInterval(cleanup, cleanupInterval, entries, packetLifetime)
    timer.unref()
    this.caches.set(account.id, { entries, packetLifetime, timer })
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

/** Forgets packets that expired more than `packetLifetime` ms ago. */
function cleanup (entries: Map<string, CachedPacket>, packetLifetime: number): void {
  const now = Date.now()
  for (const [key, entry] of entries) {
    if (entry.expiresAt + packetLifetime < now) entries.delete(key)
  }
}

/**
 * The first 16 bytes of SHA-256 over the Prepare's contents after amount and expiry: the condition, then
 * destination and data each with its OER length prefix (the bytes the reference hashes). Read from the
 * received bytes when the packet has them, else encoded from the fields. A 16-character latin1 string.
 */
export function keyOf (ctx: PacketContext): string {
  const { raw } = ctx.prepare
  let contents: Buffer
  if (raw !== undefined) {
    contents = raw.subarray(envelopeContentsOffset(raw) + AMOUNT_AND_EXPIRY_LENGTH)
  } else {
    const { executionCondition, destination, data } = ctx.prepare
    const address = Buffer.from(destination, 'latin1')
    contents = Buffer.concat([executionCondition, oerLengthPrefix(address.length), address, oerLengthPrefix(data.length), data])
  }
  // one-shot hash: about half the cost of createHash().update().digest() for packet-sized input
  return hash('sha256', contents, 'buffer').toString('latin1', 0, KEY_BYTES)
}
