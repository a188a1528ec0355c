/**
 * The reference connector's standard middlewares, in its pipeline order (outermost first), and the package
 * each lives in: what `disableMiddleware` may name and what a custom middleware may not be called. This is the
 * configuration's vocabulary, nothing more: what a middleware checks and enforces, its options and their
 * defaults, are its package's own business (its manifest), as for any third-party middleware.
 */

export interface StandardMiddleware {
  name: string
  package: string
  /**
   * The account options its package declares, named here only so that, when the package is disabled or not
   * installed, an account setting one gets a warning (not enforced) instead of an unknown-option error.
   */
  accountOptions?: readonly string[]
  /** What it enforces on every account even when that option is unset (for the "not installed" warning). */
  accountDefault?: string
  /**
   * Why the connector must not run without it: without its package, start-up fails naming the package, unless
   * the operator leaves it out on purpose with `disableMiddleware`.
   */
  requiredFor?: string
}

export const STANDARD_MIDDLEWARES: readonly StandardMiddleware[] = [
  { name: 'errorHandler', package: '@conn/middleware-error-handler', requiredFor: 'it turns errors on the packet path into ILP rejects' },
  {
    name: 'rateLimit',
    package: '@conn/middleware-rate-limit',
    accountOptions: ['rateLimit'],
    accountDefault: 'the default rate limit (10000 packets per second per account)'
  },
  { name: 'maxPacketAmount', package: '@conn/middleware-max-packet-amount', accountOptions: ['maxPacketAmount'] },
  { name: 'throughput', package: '@conn/middleware-throughput', accountOptions: ['throughput'] },
  { name: 'balance', package: '@conn/middleware-balance', accountOptions: ['balance'] },
  { name: 'deduplicate', package: '@conn/middleware-deduplicate', accountOptions: ['deduplicate'] },
  { name: 'echo', package: '@conn/middleware-echo' },
  { name: 'expire', package: '@conn/middleware-expire', requiredFor: 'it rejects packets the next hop does not answer before they expire' },
  {
    name: 'validateFulfillment',
    package: '@conn/middleware-validate-fulfillment',
    requiredFor: 'it stops a wrong fulfillment from going back upstream as a Fulfill'
  },
  { name: 'stats', package: '@conn/middleware-stats' },
  { name: 'alert', package: '@conn/middleware-alert' }
]

/** The standard middlewares' names, in pipeline order. */
export const STANDARD_MIDDLEWARE_NAMES: readonly string[] = STANDARD_MIDDLEWARES.map((m) => m.name)
