/** Small helpers the sender and the receiver share: a send timeout, reject descriptions, quiet failure logs. */
import type { IlpRejectFields, Logger } from '@conn/types'

/** Consecutive failures logged at debug before one warning. */
export const WARN_AFTER_FAILURES = 3

/** `promise`, or a rejection with `message` after `ms`; a late settlement of `promise` is ignored. */
export async function withTimeout<T> (promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
    timer.unref?.()
  })
  promise.catch(() => {}) // settles after the timeout: nobody is listening any more
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export function describeReply (reject: IlpRejectFields): string {
  return `code=${reject.code} triggeredBy=${reject.triggeredBy} message=${reject.message}`
}

/**
 * Counts consecutive failures of something retried on a timer: each at debug, one warning when they go on
 * (the WARN_AFTER_FAILURES-th), and an info line when it works again after that warning.
 */
export class FailureLog {
  count = 0
  private warned = false

  constructor (private readonly logger: Logger, private readonly warning: string, private readonly recovery: string) {}

  failure (err: Error): void {
    this.count++
    if (this.count >= WARN_AFTER_FAILURES && !this.warned) {
      this.warned = true
      this.logger.warn({ failures: this.count, reason: err.message }, this.warning)
    } else if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ failures: this.count, reason: err.message }, this.warning)
    }
  }

  success (): void {
    if (this.warned) this.logger.info({ failures: this.count }, this.recovery)
    this.warned = false
    this.count = 0
  }

  /** Forgets the streak without saying it recovered (the next failure starts a new count). */
  reset (): void { this.count = 0 }
}
