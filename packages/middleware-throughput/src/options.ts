/** `accounts.<id>.throughput`: the option this middleware reads, its shape and how the connector checks it. */
import type { OptionSchema } from '@conn/types'

export interface ThroughputConfig {
  /** ms; default 1000. */
  refillPeriod?: number
  /** Amount (base units) the account may send us per refillPeriod; unset: no limit. */
  incomingAmount?: string
  /** Amount we may send the account per refillPeriod; unset: no limit. */
  outgoingAmount?: string
}

const AMOUNT = { type: 'amount', pattern: /^[1-9][0-9]*$/, patternText: 'a positive integer string' } as const

export const THROUGHPUT_OPTION: OptionSchema = {
  type: 'object',
  description: 'money per period the account may send and receive',
  properties: { refillPeriod: { type: 'integer', minimum: 100 }, incomingAmount: AMOUNT, outgoingAmount: AMOUNT }
}

export function throughputConfigOf (config: Readonly<Record<string, unknown>>): ThroughputConfig | undefined {
  return config.throughput as ThroughputConfig | undefined
}
