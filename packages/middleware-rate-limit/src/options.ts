/** `accounts.<id>.rateLimit`: the option this middleware reads, its shape and how the connector checks it. */
import type { OptionSchema } from '@conn/types'

export interface RateLimitConfig {
  /** ms; default 1000. */
  refillPeriod?: number
  /** Packets (and money calls) per refillPeriod; default 10000. */
  refillCount?: number
  /** Bucket size; default refillCount. 0 means zero. */
  capacity?: number
}

export const RATE_LIMIT_OPTION: OptionSchema = {
  type: 'object',
  description: 'packets per period the account may send',
  properties: {
    refillPeriod: { type: 'integer', minimum: 100 },
    refillCount: { type: 'integer', minimum: 1 },
    capacity: { type: 'integer', minimum: 0 }
  }
}

export function rateLimitConfigOf (config: Readonly<Record<string, unknown>>): RateLimitConfig | undefined {
  return config.rateLimit as RateLimitConfig | undefined
}
