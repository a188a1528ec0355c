/**
 * The settlement record the balance middleware keeps in the connector's store (`settlement:<account id>`), one per
 * account at most, and the retry back-off of settlements that were definitely not sent.
 *
 * The record is written BEFORE `sendMoney` is called (state `sending`) and deleted once the outcome is known and
 * booked. So after a crash or a restart, a record in the store is a settlement whose outcome nobody booked: it is
 * unsettled, and blocks a blind retry, until an operator (or the plugin) resolves it.
 */
import type { SettlementClaim, UnsettledSettlement } from '@conn/types'

export const SETTLEMENT_KEY_PREFIX = 'settlement:'

/** `sending`: `sendMoney` was called and has not answered; `unsettled`: it failed and the money may have left. */
export type SettlementState = 'sending' | 'unsettled'

export interface SettlementRecord {
  /** Random, per attempt. */
  readonly id: string
  readonly accountId: string
  readonly amount: bigint
  readonly createdAt: Date
  state: SettlementState
  /** Why the outcome is unknown ('' while sending). */
  reason: string
}

/** What a restart finds in the store: a settlement that was still in flight when the connector stopped. */
export const INTERRUPTED = 'the connector stopped while sending it (before the plugin answered), so its outcome is unknown'

export function settlementKey (accountId: string): string {
  return SETTLEMENT_KEY_PREFIX + accountId
}

export function encodeRecord (record: SettlementRecord): string {
  return JSON.stringify({
    id: record.id,
    accountId: record.accountId,
    amount: String(record.amount),
    createdAt: record.createdAt.toISOString(),
    state: record.state,
    reason: record.reason
  })
}

/**
 * A record read back from the store. One it cannot read is still a settlement of unknown outcome (it was written
 * before some `sendMoney`): it comes back with amount 0 and a reason that quotes it, so it still holds the
 * account's settlement until an operator resolves it.
 */
export function decodeRecord (accountId: string, text: string): SettlementRecord {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>
    const { id, amount, createdAt, state, reason } = raw
    if (typeof id !== 'string' || typeof amount !== 'string' || !/^[0-9]+$/.test(amount) ||
      typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) ||
      (state !== 'sending' && state !== 'unsettled') || typeof reason !== 'string') {
      throw new Error('unexpected fields')
    }
    return { id, accountId, amount: BigInt(amount), createdAt: new Date(createdAt), state, reason }
  } catch {
    return {
      id: 'unreadable',
      accountId,
      amount: 0n,
      createdAt: new Date(0),
      state: 'unsettled',
      reason: `the store holds a settlement record that cannot be read (${JSON.stringify(text.slice(0, 200))}); its amount is unknown`
    }
  }
}

/**
 * The record of a settlement claimed through `Balances.claimSettlement`: the store writes it, with the amount it
 * decides, in the same format as `encodeRecord` (so a restart or another connector reads it back the same).
 */
export function claimOf (record: SettlementRecord): SettlementClaim {
  const text = encodeRecord({ ...record, amount: 0n })
  const marker = '"amount":"'
  const at = text.indexOf(marker) + marker.length
  return { key: settlementKey(record.accountId), before: text.slice(0, at), after: text.slice(at + 1) }
}

/** As the admin API shows it (a copy). */
export function publicRecord (record: SettlementRecord): UnsettledSettlement {
  return {
    id: record.id,
    accountId: record.accountId,
    amount: String(record.amount),
    createdAt: new Date(record.createdAt),
    reason: record.reason
  }
}

export interface RetryOptions {
  /** Delay (ms) before the first retry of a settlement that was not sent; doubled each time. Default 1000. */
  settleRetryDelay?: number
  /** Longest delay (ms) between retries. Default 60000. */
  settleRetryMaxDelay?: number
}

export const DEFAULT_RETRY_DELAY = 1000
export const DEFAULT_RETRY_MAX_DELAY = 60_000

/** The delay before retry number `attempt` (0 first): `delay x 2^attempt`, at most `maxDelay`. */
export function retryDelay (attempt: number, delay: number, maxDelay: number): number {
  return Math.min(maxDelay, delay * 2 ** Math.min(attempt, 30))
}
