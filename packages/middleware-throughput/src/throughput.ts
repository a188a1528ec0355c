/**
 * Limits the value an account may send us (`throughput.incomingAmount`) or we may send it
 * (`throughput.outgoingAmount`) per `refillPeriod`: a token bucket per direction and account whose tokens are
 * packet amounts. A Prepare that does not fit is rejected with T04 before it goes further; tokens taken by a
 * packet are not given back when it is rejected later on, as in the reference.
 */
import {
  InsufficientLiquidityError, PerAccount, TokenBucket,
  type Account, type DataHandler, type Logger, type Middleware, type MiddlewareApi
} from '@conn/types'
import { throughputConfigOf } from './options.ts'

export const THROUGHPUT_DEFAULTS = {
  /** ms */
  refillPeriod: 1000
} as const

export const THROUGHPUT_MESSAGE = 'exceeded money bandwidth, throttling.'

/** The effective settings of one account; an amount left undefined means no limit in that direction. */
export interface ThroughputSettings {
  refillPeriod: number
  incomingAmount: bigint | undefined
  outgoingAmount: bigint | undefined
}

/** `accounts.<id>.throughput` with its defaults filled in, amounts parsed. */
export function throughputSettings (account: Account): ThroughputSettings {
  const config = throughputConfigOf(account.config) ?? {}
  return {
    refillPeriod: config.refillPeriod ?? THROUGHPUT_DEFAULTS.refillPeriod,
    incomingAmount: config.incomingAmount === undefined ? undefined : BigInt(config.incomingAmount),
    outgoingAmount: config.outgoingAmount === undefined ? undefined : BigInt(config.outgoingAmount)
  }
}

/** The buckets of one account; null: no limit in that direction. */
interface AccountBuckets {
  incoming: TokenBucket | null
  outgoing: TokenBucket | null
}

function bucket (amount: bigint | undefined, refillPeriod: number): TokenBucket | null {
  return amount === undefined ? null : new TokenBucket(amount, amount, refillPeriod)
}

export class Throughput implements Middleware {
  readonly name = 'throughput'
  private readonly buckets = new PerAccount((account) => this.makeBuckets(account))
  private readonly logger: Logger

  constructor (api: MiddlewareApi) {
    this.logger = api.logger.child({ middleware: 'throughput' })
  }

  addAccount (account: Account): void {
    this.buckets.add(account)
  }

  private makeBuckets (account: Account): AccountBuckets {
    const settings = throughputSettings(account)
    const configured = throughputConfigOf(account.config)
    if (configured !== undefined && this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ account: account.id, ...configured, refillPeriod: settings.refillPeriod }, 'throughput limit set')
    }
    return {
      incoming: bucket(settings.incomingAmount, settings.refillPeriod),
      outgoing: bucket(settings.outgoingAmount, settings.refillPeriod)
    }
  }

  removeAccount (account: Account): void {
    this.buckets.delete(account.id)
  }

  /** Tokens (amount units) left in an account's bucket for one direction; undefined: no limit or unknown account. */
  available (accountId: string, direction: 'incoming' | 'outgoing'): bigint | undefined {
    return this.buckets.peek(accountId)?.[direction]?.available()
  }

  /** Prepares from the account: limited by its incomingAmount. */
  // Not async (both directions): a packet that passes costs no promise of its own here.
  readonly incomingData: DataHandler = (ctx, next) => {
    const limit = this.bucketsOf(ctx.account).incoming
    const amount = ctx.prepare.amount
    if (limit !== null && amount > 0n && !limit.take(amount)) return Promise.reject(new InsufficientLiquidityError(THROUGHPUT_MESSAGE))
    return next(ctx)
  }

  /** Prepares to the account (the next hop): limited by its outgoingAmount. */
  readonly outgoingData: DataHandler = (ctx, next) => {
    const limit = this.bucketsOf(ctx.account).outgoing
    const amount = ctx.prepare.amount
    if (limit !== null && amount > 0n && !limit.take(amount)) return Promise.reject(new InsufficientLiquidityError(THROUGHPUT_MESSAGE))
    return next(ctx)
  }

  /** The account's buckets; made on first use if the connector did not announce the account (defensive). */
  private bucketsOf (account: Account): AccountBuckets {
    return this.buckets.get(account)
  }
}
