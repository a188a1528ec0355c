/**
 * Rejects incoming Prepares larger than the sending account's `maxPacketAmount` with F08 and the two amounts
 * in the reject data (RFC 27), which is what lets a STREAM sender shrink its packets to fit and carry on.
 */
import {
  AmountTooLargeError, PerAccount,
  type Account, type DataHandler, type Logger, type Middleware, type MiddlewareApi
} from '@conn/types'

/** The F08 for `amount` over `maximum`: the reference's message, data = received then maximum as UInt64 BE. */
export function amountTooLarge (amount: bigint, maximum: bigint): AmountTooLargeError {
  return new AmountTooLargeError(`packet size too large. maxAmount=${maximum} actualAmount=${amount}`,
    { receivedAmount: amount, maximumAmount: maximum })
}

/** No limit for this account. */
const NONE = -1n

export class MaxPacketAmount implements Middleware {
  readonly name = 'maxPacketAmount'
  /** Each account's maximum, or NONE; parsed once from its configuration. */
  private readonly maximums = new PerAccount((account) => {
    const configured = account.config.maxPacketAmount as string | undefined
    const maximum = configured === undefined ? NONE : BigInt(configured)
    if (maximum !== NONE && this.logger.isLevelEnabled('debug')) this.logger.debug({ account: account.id, maxPacketAmount: configured }, 'max packet amount set')
    return maximum
  })
  private readonly logger: Logger

  constructor (api: MiddlewareApi) {
    this.logger = api.logger.child({ middleware: 'maxPacketAmount' })
  }

  addAccount (account: Account): void {
    this.maximums.add(account)
  }

  removeAccount (account: Account): void {
    this.maximums.delete(account.id)
  }

  /** The maximum enforced for an account (undefined: none, or unknown account). */
  maximumOf (accountId: string): bigint | undefined {
    const maximum = this.maximums.peek(accountId)
    return maximum === undefined || maximum === NONE ? undefined : maximum
  }

  // Not async: a packet that passes costs no promise of its own here, only the rest of the pipeline's.
  readonly incomingData: DataHandler = (ctx, next) => {
    const maximum = this.maximums.get(ctx.account)
    const amount = ctx.prepare.amount
    if (maximum !== NONE && amount > maximum) return Promise.reject(amountTooLarge(amount, maximum))
    return next(ctx)
  }
}
