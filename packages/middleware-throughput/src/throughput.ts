/**
 * Limits the value an account may send us (`throughput.incomingAmount`) or we may send it
 * (`throughput.outgoingAmount`) per `refillPeriod`: a token bucket per direction and account whose tokens are
 * packet amounts. A Prepare that does not fit is rejected with T04 before it goes further; tokens taken by a
 * packet are not given back when it is rejected later on, as in the reference.
 */
import {
  InsufficientLiquidityError, InternalError, PerAccount, limitBucket, type LeasedTokenBucket, type TokenBucket,
  type Account, type DataHandler, type Logger, type Middleware, type MiddlewareApi, type NextData, type PacketContext
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

type Bucket = TokenBucket | LeasedTokenBucket

/** The buckets of one account; null: no limit in that direction. */
interface AccountBuckets {
  incoming: Bucket | null
  outgoing: Bucket | null
}

/** Shared with the other connectors when the store offers buckets (the redis store), else this process's. */
function bucket (store: unknown, key: string, amount: bigint | undefined, refillPeriod: number): Bucket | null {
  return amount === undefined ? null : limitBucket(store, key, amount, amount, refillPeriod)
}

/** The packet goes on if the shared bucket had its amount; T04 if not, T00 if the store failed. */
async function afterStore (taken: Promise<boolean>): Promise<void> {
  let granted: boolean
  try {
    granted = await taken
  } catch (err) {
    throw new InternalError(`the shared throughput limit could not be read from the store: ${(err as Error).message}`)
  }
  if (!granted) throw new InsufficientLiquidityError(THROUGHPUT_MESSAGE)
}

/** Takes the packet's amount from the bucket and forwards it, or rejects (no promise of its own when it passes at once). */
function limited (limit: Bucket | null, ctx: PacketContext, next: NextData): Promise<Buffer> {
  const amount = ctx.prepare.amount
  if (limit === null || amount === 0n) return next(ctx)
  const taken = limit.take(amount)
  if (taken === true) return next(ctx)
  if (taken === false) return Promise.reject(new InsufficientLiquidityError(THROUGHPUT_MESSAGE))
  return afterStore(taken).then(() => next(ctx))
}

export class Throughput implements Middleware {
  readonly name = 'throughput'
  private readonly buckets = new PerAccount((account) => this.makeBuckets(account))
  private readonly logger: Logger

  constructor (private readonly api: MiddlewareApi) {
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
      incoming: bucket(this.api.store, 'throughput:incoming:' + account.id, settings.incomingAmount, settings.refillPeriod),
      outgoing: bucket(this.api.store, 'throughput:outgoing:' + account.id, settings.outgoingAmount, settings.refillPeriod)
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
  readonly incomingData: DataHandler = (ctx, next) => limited(this.bucketsOf(ctx.account).incoming, ctx, next)

  /** Prepares to the account (the next hop): limited by its outgoingAmount. */
  readonly outgoingData: DataHandler = (ctx, next) => limited(this.bucketsOf(ctx.account).outgoing, ctx, next)

  /** The account's buckets; made on first use if the connector did not announce the account (defensive). */
  private bucketsOf (account: Account): AccountBuckets {
    return this.buckets.get(account)
  }
}
