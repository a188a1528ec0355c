/**
 * The connector's store in Redis, shared by every conn instance that names the same URL and prefix: plugin
 * state as strings, and balances kept by Redis itself, each change and its limit check one Lua script (one
 * round trip; ioredis pipelines concurrent calls). Two instances can therefore never both take the last unit
 * below a maximum.
 */
import { Redis } from 'ioredis'
import { BalanceRangeError, SHARED_BUCKET_MAX_PERIOD, type AtomicBalanceStore, type Logger, type Reservation, type SettlementClaim, type Store, type TokenStore } from '@conn/types'
import { BATCH_SCRIPT, CLAIM_SCRIPT, SWEEP_SCRIPT, TOKENS_SCRIPT } from './balance-script.ts'
import { RedisStoreError } from './errors.ts'
import { RedisCluster } from './cluster.ts'
import { clusterSettings, type ClusterOptions } from './cluster-options.ts'

export { RedisStoreError, type RedisStoreErrorCode } from './errors.ts'

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (default redis://127.0.0.1:6379). */
  url?: string
  /** Put before every key, so several connectors (or tests) can share one Redis (default `conn:`). */
  prefix?: string
  /** How long open() waits for Redis (ms, default 5000). */
  connectTimeout?: number
  /**
   * How often expired reservations nobody committed or released (their connector died) are released (ms,
   * default 1000); each instance sweeps, a reservation is released once.
   */
  sweepInterval?: number
  /**
   * Share the rate and throughput limits' buckets between the connectors on this Redis (default true), so the
   * group allows what one instance would; false keeps a bucket per instance.
   */
  sharedLimits?: boolean
  /**
   * Run as a member of a cluster: deliver to accounts connected to another conn on this prefix, over an
   * authenticated internal link (see cluster.ts). Absent: no cluster, every conn delivers only through its own
   * connections.
   */
  cluster?: ClusterOptions
  [option: string]: unknown
}

/** A reservation is swept this long after its packet expired (ms): the answer to a packet at its expiry is not one. */
export const SWEEP_GRACE = 1000
/** How long the marker of a reservation the sweep released stays (ms): a late commit within it books the amount again. */
export const RECORD_KEPT_FOR = 86_400_000
/** Reservations released per sweep at most. */
const SWEEP_BATCH = 1000

export const DEFAULT_URL = 'redis://127.0.0.1:6379'
export const DEFAULT_PREFIX = 'conn:'
const KNOWN_OPTIONS = new Set(['url', 'prefix', 'connectTimeout', 'sweepInterval', 'sharedLimits', 'cluster', 'path'])

type BalanceAction = 'adjust' | 'reserve' | 'commit' | 'release'

/**
 * Balance changes that go to Redis in one script call. Every change of it awaits the same reply and reads its
 * own three values at its index: one promise per batch, none per change.
 */
interface ChangeBatch {
  /** BATCH_FIELDS values per change, all separated by spaces. */
  fields: string
  count: number
  sent: boolean
  /** The script's reply, split. */
  readonly reply: Promise<string[]>
  resolve: (reply: string[]) => void
  reject: (err: unknown) => void
}

/**
 * Changes after which a batch goes at once rather than at the end of the tick. Sent whole, the changes of one
 * tick made conn and Redis take turns: every packet in flight waited on the same batch, conn idle while Redis ran
 * it and Redis idle while conn went on (bench:redis: 23,100 packets/s, one core busy of two). Sent by 32, Redis
 * runs a batch while conn prepares the next: 28,600-31,700 packets/s (8 to 48 measured alike).
 */
const SEND_AT = 32
type ScriptResult = [outcome: 'ok' | 'minimum' | 'maximum', before: string, after: string]

interface RedisWithBalance extends Redis {
  balanceBatch: (prefix: string, changes: string) => Promise<string>
  sweep: (index: string, now: string, limit: string, prefix: string, keptFor: string) => Promise<number>
  takeTokens: (bucket: string, atLeast: string, atMost: string, capacity: string, refillCount: string, refillPeriod: string, keepFor: string) => Promise<string>
  claimSettlement: (balance: string, record: string, debits: string, threshold: string, settleTo: string, before: string, after: string) => Promise<[outcome: 'claimed' | 'busy' | 'none', amount: string]>
}

export class RedisStore implements Store, AtomicBalanceStore, Partial<TokenStore> {
  /** Buckets shared by the connectors on this Redis (absent with `sharedLimits: false`). */
  readonly takeTokens: TokenStore['takeTokens'] | undefined
  /** With `cluster` configured: delivery through the other members (the connector starts it). */
  readonly cluster: RedisCluster | undefined
  readonly url: string
  readonly prefix: string
  private readonly connectTimeout: number
  private readonly sweepInterval: number
  private readonly logger: Logger | undefined
  private redis: RedisWithBalance | undefined
  private sweepTimer: NodeJS.Timeout | undefined
  private sweepFailing = false
  /** The batch taking this tick's balance changes (sent on the next tick). */
  private collecting: ChangeBatch | undefined
  /** Batches sent and not yet answered (close waits for them). */
  private readonly batches = new Set<Promise<void>>()

  /** Throws RedisStoreError ERR_STORE_CONFIG for an option of the wrong type or a URL Redis cannot use. */
  constructor (options: RedisStoreOptions = {}, logger?: Logger) {
    const { url = DEFAULT_URL, prefix = DEFAULT_PREFIX, connectTimeout = 5000, sweepInterval = 1000, sharedLimits = true } = options
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
      throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.url: expected a redis:// or rediss:// URL, got ${JSON.stringify(url)}`)
    }
    try {
      // eslint-disable-next-line no-new
      new URL(url)
    } catch {
      throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.url: not a valid URL: ${JSON.stringify(url)}`)
    }
    if (typeof prefix !== 'string') throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.prefix: expected a string, got ${JSON.stringify(prefix)}`)
    if (typeof connectTimeout !== 'number' || !(connectTimeout > 0)) {
      throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.connectTimeout: expected a positive number of milliseconds, got ${JSON.stringify(connectTimeout)}`)
    }
    if (typeof sweepInterval !== 'number' || !(sweepInterval > 0)) {
      throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.sweepInterval: expected a positive number of milliseconds, got ${JSON.stringify(sweepInterval)}`)
    }
    if (typeof sharedLimits !== 'boolean') {
      throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.sharedLimits: expected true or false, got ${JSON.stringify(sharedLimits)}`)
    }
    this.takeTokens = sharedLimits ? this.takeSharedTokens.bind(this) : undefined
    const cluster = clusterSettings(options.cluster)
    this.cluster = cluster === undefined ? undefined : new RedisCluster(cluster, { redis: () => this.client(), prefix, logger })
    this.url = url
    this.prefix = prefix
    this.connectTimeout = connectTimeout
    this.sweepInterval = sweepInterval
    this.logger = logger
    const ignored = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key))
    if (ignored.length > 0) {
      logger?.warn({ options: ignored }, `storeConfig: ${ignored.join(', ')} ${ignored.length === 1 ? 'is not an option' : 'are not options'} of the redis store (ignored)`)
    }
  }

  /** Connects; throws RedisStoreError ERR_STORE_UNREACHABLE naming the URL (without its password) when Redis does not answer. */
  async open (): Promise<void> {
    if (this.redis !== undefined) throw new Error(`the redis store at ${safeUrl(this.url)} is already open`)
    const redis = new Redis(this.url, {
      lazyConnect: true,
      // the balance changes batch themselves (one script call per tick); other commands are rare
      enableAutoPipelining: false,
      connectTimeout: this.connectTimeout,
      // At start a failure is the operator's to fix; once running, keep trying (commands fail meanwhile).
      retryStrategy: (times) => this.redis === undefined ? null : Math.min(times * 100, 2000),
      // While Redis is away a command fails at once (the packet gets T00 now, not after reconnect attempts);
      // one sent just before the link dropped fails after one try (a reservation it made is swept at expiry).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1
    }) as RedisWithBalance
    let lastError: Error | undefined
    redis.on('error', (err: Error) => {
      lastError = err
      if (this.redis !== undefined) this.logger?.warn({ err, url: safeUrl(this.url) }, 'redis store: connection error')
    })
    redis.defineCommand('balanceBatch', { numberOfKeys: 0, lua: BATCH_SCRIPT })
    redis.defineCommand('sweep', { numberOfKeys: 1, lua: SWEEP_SCRIPT })
    redis.defineCommand('claimSettlement', { numberOfKeys: 3, lua: CLAIM_SCRIPT })
    redis.defineCommand('takeTokens', { numberOfKeys: 1, lua: TOKENS_SCRIPT })
    try {
      await redis.connect()
    } catch (err) {
      redis.disconnect()
      const cause = lastError ?? err
      throw new RedisStoreError('ERR_STORE_UNREACHABLE',
        `storeConfig.url: cannot reach Redis at ${safeUrl(this.url)}: ${(cause as Error).message} (is redis-server running there?)`, { cause })
    }
    this.redis = redis
    this.sweepTimer = setInterval(() => { void this.sweep() }, this.sweepInterval)
    this.sweepTimer.unref()
    this.logger?.info({ url: safeUrl(this.url), prefix: this.prefix }, 'redis store opened')
  }

  /**
   * Releases the reservations whose packets expired more than SWEEP_GRACE ago without a commit or release (their
   * connector died); resolves how many. Runs every sweepInterval.
   */
  async sweep (now = Date.now()): Promise<number> {
    try {
      const released = await this.client().sweep(this.prefix + 'reservations', String(now - SWEEP_GRACE), String(SWEEP_BATCH), this.prefix, String(RECORD_KEPT_FOR))
      if (released > 0) this.logger?.warn({ released }, 'redis store: released reservations of expired packets nobody answered (a connector died or lost Redis)')
      if (this.sweepFailing) this.logger?.info('redis store: sweeping expired reservations works again')
      this.sweepFailing = false
      return released
    } catch (err) {
      if (!this.sweepFailing) this.logger?.warn({ err }, 'redis store: sweeping expired reservations failed; trying again every sweepInterval')
      this.sweepFailing = true
      return 0
    }
  }

  async get (key: string): Promise<string | undefined> {
    return (await this.client().get(this.prefix + 'kv:' + key)) ?? undefined
  }

  async put (key: string, value: string): Promise<void> {
    await this.client().set(this.prefix + 'kv:' + key, value)
  }

  async del (key: string): Promise<void> {
    await this.client().del(this.prefix + 'kv:' + key)
  }

  async getBalance (key: string): Promise<bigint> {
    return BigInt((await this.client().get(this.prefix + key)) ?? '0')
  }

  /** The balance without the debits of packets in flight (`debits:<key>`, kept by the balance scripts). */
  async getSettleableBalance (key: string): Promise<bigint> {
    const [balance, debits] = await this.client().mget(this.prefix + key, this.prefix + 'debits:' + key)
    return BigInt(balance ?? '0') - BigInt(debits ?? '0')
  }

  async adjustBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint): Promise<bigint> {
    return await this.change(key, delta, 'adjust', minimum, maximum)
  }

  reserveBalance (key: string, delta: bigint, minimum?: bigint, maximum?: bigint, reservation?: Reservation): Promise<bigint> {
    return this.change(key, delta, 'reserve', minimum, maximum, reservation)
  }

  commitBalance (key: string, delta: bigint, reservation?: Reservation): Promise<bigint> {
    return this.change(key, delta, 'commit', undefined, undefined, reservation)
  }

  releaseBalance (key: string, delta: bigint, reservation?: Reservation): Promise<bigint> {
    return this.change(key, delta, 'release', undefined, undefined, reservation)
  }

  /** Tokens from the bucket `bucket:<key>` shared by every connector on this prefix (TokenStore). */
  private async takeSharedTokens (key: string, atLeast: bigint, atMost: bigint, capacity: bigint, refillCount: bigint, refillPeriod: number): Promise<bigint> {
    if (!Number.isSafeInteger(refillPeriod) || refillPeriod <= 0 || refillPeriod > SHARED_BUCKET_MAX_PERIOD) {
      throw new RangeError(`takeTokens: refillPeriod must be an integer of 1 to ${SHARED_BUCKET_MAX_PERIOD} ms, got ${refillPeriod}`)
    }
    // Kept until it would be full again anyway (plus a margin), at most a day.
    const fillsIn = refillCount > 0n ? capacity * BigInt(refillPeriod) / refillCount + 1000n : 86_400_000n
    const keepFor = fillsIn < 86_400_000n ? fillsIn : 86_400_000n
    return BigInt(await this.client().takeTokens(this.prefix + 'bucket:' + key, String(atLeast), String(atMost),
      String(capacity), String(refillCount), String(refillPeriod), String(keepFor)))
  }

  /** The settlement decision in one script: several connectors on this store never both settle one amount. */
  async claimSettlement (key: string, threshold: bigint, settleTo: bigint, claim: SettlementClaim): Promise<bigint | undefined> {
    const [outcome, amount] = await this.client().claimSettlement(this.prefix + key, this.prefix + 'kv:' + claim.key, this.prefix + 'debits:' + key,
      String(threshold), String(settleTo), claim.before, claim.after)
    return outcome === 'claimed' ? BigInt(amount) : undefined
  }

  /** Disconnects (after the commands already sent are answered); safe when never opened. */
  async close (): Promise<void> {
    // Changes still waiting for their batch go first, and are answered before the connection goes.
    if (this.collecting !== undefined && this.redis !== undefined) this.send(this.collecting)
    await Promise.allSettled([...this.batches])
    const redis = this.redis
    this.redis = undefined
    clearInterval(this.sweepTimer)
    if (redis === undefined) return
    await redis.quit().catch(() => redis.disconnect())
  }

  /**
   * Queues a balance change for the next batch: the changes asked for before the current callback ends (nextTick:
   * a packet's change waits for no other I/O) go to Redis as one script call (each still atomic, in order), so
   * concurrent packets cost one command, not one each; SEND_AT changes go at once. (A batch per event-loop turn,
   * with setImmediate, measured 8,600 packets/s at 100 in flight against 11,500-13,900 by tick.)
   */
  private async change (key: string, delta: bigint, action: BalanceAction, minimum?: bigint, maximum?: bigint, reservation?: Reservation): Promise<bigint> {
    this.client() // not open: throw now, not in the batch
    if (/\s/.test(key) || (reservation !== undefined && /\s/.test(reservation.id))) {
      throw new RangeError(`the redis store takes balance keys and reservation ids without spaces, got ${JSON.stringify(key)} ${JSON.stringify(reservation?.id)}`)
    }
    const fields = `${key} ${delta} ${minimum ?? '-'} ${maximum ?? '-'} ${action}${reservation?.settles === true ? '+' : ''} ${reservation?.id ?? '-'} ${reservation?.expiresAt ?? 0}`
    let batch = this.collecting
    if (batch === undefined) batch = this.openBatch()
    const index = 3 * batch.count++
    batch.fields = index === 0 ? fields : batch.fields + ' ' + fields
    if (batch.count >= SEND_AT) this.send(batch)
    const results = await batch.reply
    const outcome = results[index]
    if (outcome !== 'ok') throw new BalanceRangeError(BigInt(results[index + 1]!), BigInt(results[index + 2]!), outcome as 'minimum' | 'maximum')
    return BigInt(results[index + 2]!)
  }

  /** A batch for the changes of this tick (sent at its end, or once it holds SEND_AT changes). */
  private openBatch (): ChangeBatch {
    let resolve!: (reply: string[]) => void
    let reject!: (err: unknown) => void
    const reply = new Promise<string[]>((resolveReply, rejectReply) => { resolve = resolveReply; reject = rejectReply })
    const batch: ChangeBatch = { fields: '', count: 0, sent: false, reply, resolve, reject }
    this.collecting = batch
    process.nextTick(this.sendOnNextTick, batch)
    return batch
  }

  private readonly sendOnNextTick = (batch: ChangeBatch): void => { this.send(batch) }

  private send (batch: ChangeBatch): void {
    if (batch.sent) return
    batch.sent = true
    if (this.collecting === batch) this.collecting = undefined
    let sent: Promise<string>
    try {
      sent = this.client().balanceBatch(this.prefix, batch.fields)
    } catch (err) {
      batch.reject(err)
      return
    }
    const answered = sent.then((reply) => { batch.resolve(reply.split(' ')) }, batch.reject)
    this.batches.add(answered)
    void answered.finally(() => this.batches.delete(answered))
  }

  private client (): RedisWithBalance {
    const redis = this.redis
    if (redis === undefined) throw new Error(`the redis store at ${safeUrl(this.url)} is not open: call open() first`)
    return redis
  }
}

/** The URL without its password, for messages and logs. */
export function safeUrl (url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}
