/** `accounts.<id>.balance`: the option this middleware reads, its shape and how the connector checks it. */
import type { OptionIssue, OptionSchema } from '@conn/types'

/** Amounts are integer strings; from the connector's point of view a positive balance means the peer owes us. */
export interface BalanceConfig {
  /** Lowest balance allowed (we owe the peer at most -minimum); `-Infinity` for no limit. Default `-Infinity`. */
  minimum?: string
  /** Highest balance allowed (the peer owes us at most this); `Infinity` for no limit. Required. */
  maximum: string
  /** Settle when the balance falls below this; unset: never settle automatically. */
  settleThreshold?: string
  /** Balance to settle up to. Default `0`. */
  settleTo?: string
}

const LIMIT = { type: 'amount', pattern: /^(0|-?([1-9][0-9]*|Infinity))$/, patternText: 'an integer string, "Infinity" or "-Infinity"' } as const

export const BALANCE_OPTION: OptionSchema = {
  type: 'object',
  description: 'balance limits and settlement of the account',
  properties: {
    minimum: LIMIT,
    maximum: LIMIT,
    settleThreshold: { type: 'amount', pattern: /^(0|(-?[1-9][0-9]*|-Infinity))$/, patternText: 'an integer string or "-Infinity"' },
    settleTo: { type: 'amount', pattern: /^(0|-?[1-9][0-9]*)$/, patternText: 'an integer string' }
  },
  required: ['maximum'],
  check: (balance): OptionIssue[] => {
    const min = limitValue(balance.minimum, -Infinity)
    const max = limitValue(balance.maximum, Infinity)
    return min > max
      ? [{ path: 'minimum', message: `must not be greater than balance.maximum (${String(balance.minimum)} > ${String(balance.maximum)})` }]
      : []
  }
}

/** The account's balance option, as the schema above has checked it (undefined: no balance kept). */
export function balanceConfigOf (config: Readonly<Record<string, unknown>>): BalanceConfig | undefined {
  return config.balance as BalanceConfig | undefined
}

function limitValue (value: unknown, fallback: number): bigint | number {
  if (value === undefined) return fallback
  if (value === 'Infinity') return Infinity
  if (value === '-Infinity') return -Infinity
  return BigInt(value as string)
}
