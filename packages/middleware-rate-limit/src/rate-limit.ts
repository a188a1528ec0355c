/**
 * Limits how often an account may call us: one token per incoming Prepare and per incoming money call, from a
 * token bucket per account shared by both. It applies to every account, configured or not, so a peer that
 * floods the connector is throttled (T05) before any other work is done for its packets.
 */
import {
  InternalError, PerAccount, RateLimitedError, limitBucket, type LeasedTokenBucket, type TokenBucket,
  type Account, type Counter, type CounterChild, type DataHandler, type Logger, type Middleware, type MiddlewareApi, type MoneyHandler
} from '@conn/types'
import { rateLimitConfigOf } from './options.ts'

/** Defaults of `accounts.<id>.rateLimit` (capacity defaults to the effective refillCount). */
export const RATE_LIMIT_DEFAULTS = {
  /** ms; the reference's code uses 60000, its documentation (and conn) one second. */
  refillPeriod: 1000,
  refillCount: 10000
} as const

export const RATE_LIMITED_MESSAGE = 'too many requests, throttling.'

/** The effective settings of one account after defaults. */
export interface RateLimitSettings {
  refillPeriod: number
  refillCount: number
  capacity: number
}

/** `accounts.<id>.rateLimit` with the defaults filled in; `capacity: 0` means zero (no call gets through). */
export function rateLimitSettings (account: Account): RateLimitSettings {
  const config = rateLimitConfigOf(account.config) ?? {}
  const refillCount = config.refillCount ?? RATE_LIMIT_DEFAULTS.refillCount
  return {
    refillPeriod: config.refillPeriod ?? RATE_LIMIT_DEFAULTS.refillPeriod,
    refillCount,
    capacity: config.capacity ?? refillCount
  }
}

interface AccountLimit {
  /** Shared with the other connectors when the store offers buckets (the redis store), else this process's. */
  bucket: TokenBucket | LeasedTokenBucket
  limitedPackets: CounterChild
  limitedMoney: CounterChild
}

export class RateLimit implements Middleware {
  readonly name = 'rateLimit'
  private readonly limits = new PerAccount((account) => this.makeLimit(account))
  private readonly logger: Logger
  private readonly packetsCounter: Counter
  private readonly moneyCounter: Counter

  constructor (private readonly api: MiddlewareApi) {
    this.logger = api.logger.child({ middleware: 'rateLimit' })
    this.packetsCounter = api.metrics.counter({
      name: 'ilp_connector_rate_limited_ilp_packets',
      help: 'Total of rate limited ilp packets',
      labelNames: ['account', 'asset', 'scale']
    })
    this.moneyCounter = api.metrics.counter({
      name: 'ilp_connector_rate_limited_money',
      help: 'Total of rate limited money requests',
      labelNames: ['account', 'asset', 'scale']
    })
  }

  addAccount (account: Account): void {
    this.limits.add(account)
  }

  private makeLimit (account: Account): AccountLimit {
    const settings = rateLimitSettings(account)
    const labels = { account: account.id, asset: account.assetCode, scale: account.assetScale }
    if (settings.capacity === 0) this.logger.warn({ account: account.id }, 'rateLimit.capacity is 0: every packet and money call from this account is rejected with T05')
    else if (this.logger.isLevelEnabled('debug')) this.logger.debug({ account: account.id, ...settings }, 'rate limit set')
    return {
      bucket: limitBucket(this.api.store, 'rateLimit:' + account.id, BigInt(settings.capacity), BigInt(settings.refillCount), settings.refillPeriod),
      limitedPackets: this.packetsCounter.labels(labels),
      limitedMoney: this.moneyCounter.labels(labels)
    }
  }

  removeAccount (account: Account): void {
    this.limits.delete(account.id)
  }

  /** Current tokens of an account (undefined if it is unknown), for tests and the admin API. */
  available (accountId: string): bigint | undefined {
    return this.limits.peek(accountId)?.bucket.available()
  }

  // Not async: a packet that passes costs no promise of its own here, only the rest of the pipeline's.
  readonly incomingData: DataHandler = (ctx, next) => {
    const limit = this.limitOf(ctx.account)
    const taken = limit.bucket.take(1n)
    if (taken === true) return next(ctx)
    if (taken === false) {
      limit.limitedPackets.inc()
      return Promise.reject(new RateLimitedError(RATE_LIMITED_MESSAGE))
    }
    // A shared bucket whose lease ran out: one round trip to the store.
    return this.afterStore(taken, limit.limitedPackets).then(() => next(ctx))
  }

  readonly incomingMoney: MoneyHandler = async (ctx, next) => {
    const limit = this.limitOf(ctx.account)
    const taken = limit.bucket.take(1n)
    if (taken === false) {
      limit.limitedMoney.inc()
      throw new RateLimitedError(RATE_LIMITED_MESSAGE)
    }
    if (taken !== true) await this.afterStore(taken, limit.limitedMoney)
    await next(ctx)
  }

  /** Resolves if the shared bucket had the token; T05 if not, T00 if the store failed. */
  private async afterStore (taken: Promise<boolean>, limited: CounterChild): Promise<void> {
    let granted: boolean
    try {
      granted = await taken
    } catch (err) {
      throw new InternalError(`the shared rate limit could not be read from the store: ${(err as Error).message}`)
    }
    if (!granted) {
      limited.inc()
      throw new RateLimitedError(RATE_LIMITED_MESSAGE)
    }
  }

  /** The account's limit; made on first use if the connector did not announce the account (defensive). */
  private limitOf (account: Account): AccountLimit {
    return this.limits.get(account)
  }
}
