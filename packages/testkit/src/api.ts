/** A whole MiddlewareApi made of the fakes, any part of which a test can replace. */
import type { Account, MiddlewareApi } from '@conn/types'
import { MapBalances } from './balances.ts'
import { RecordingLogger } from './logger.ts'
import { RecordingMetrics } from './metrics.ts'
import { MapStore } from './store.ts'

export interface FakeApiOptions extends Partial<MiddlewareApi> {
  /** What `getOwnAddress()` returns (default `test.conn`), unless `getOwnAddress` itself is given. */
  ownAddress?: string
  /** The accounts `getAccount`/`getAccounts` know, unless those are given. */
  accounts?: Iterable<Account>
}

export interface FakeApi extends MiddlewareApi {
  /** The accounts behind the default `getAccount`/`getAccounts`; add or remove some at any time. */
  readonly accounts: Map<string, Account>
  /** What the default `sendMoney` was asked to send, oldest first. */
  readonly moneySent: Array<{ accountId: string, amount: bigint }>
}

/**
 * A MiddlewareApi of a RecordingLogger, a MapStore, RecordingMetrics and MapBalances, address `test.conn`,
 * no accounts, a `sendMoney` that records, and no services (pass `getService` to offer some). Keep a reference
 * to a fake you want to read, and pass it in:
 * `const logger = new RecordingLogger(); const api = fakeApi({ logger })`.
 */
export function fakeApi (overrides: FakeApiOptions = {}): FakeApi {
  const { ownAddress = 'test.conn', accounts: initial = [], ...parts } = overrides
  const accounts = new Map<string, Account>()
  for (const account of initial) accounts.set(account.id, account)
  const moneySent: Array<{ accountId: string, amount: bigint }> = []
  return {
    logger: new RecordingLogger(),
    store: new MapStore(),
    balances: new MapBalances(),
    metrics: new RecordingMetrics(),
    getOwnAddress: () => ownAddress,
    getAccount: (id) => accounts.get(id),
    getAccounts: () => accounts.values(),
    sendMoney: async (accountId, amount) => { moneySent.push({ accountId, amount }) },
    getService: () => undefined,
    ...parts,
    accounts,
    moneySent
  }
}
