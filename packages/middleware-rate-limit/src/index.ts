import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { RateLimit } from './rate-limit.ts'
import { RATE_LIMIT_OPTION, type RateLimitConfig } from './options.ts'

export { RATE_LIMIT_OPTION }
export type { RateLimitConfig }
export { RateLimit, RATE_LIMIT_DEFAULTS, RATE_LIMITED_MESSAGE, rateLimitSettings, type RateLimitSettings } from './rate-limit.ts'

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'rateLimit',
  types: TYPES_RANGE,
  accountOptions: { rateLimit: RATE_LIMIT_OPTION },
  create: (_options, api) => new RateLimit(api)
}
export default manifest
