import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { BalanceMiddleware, type BalanceOptions } from './balance.ts'
import { BALANCE_OPTION, type BalanceConfig } from './options.ts'
import { DEFAULT_RETRY_DELAY, DEFAULT_RETRY_MAX_DELAY, SETTLEMENT_KEY_PREFIX } from './settlement.ts'

export { BalanceMiddleware, BALANCE_OPTION, DEFAULT_RETRY_DELAY, DEFAULT_RETRY_MAX_DELAY, SETTLEMENT_KEY_PREFIX }
export type { BalanceConfig, BalanceOptions }

const manifest: MiddlewareManifest<BalanceOptions> = {
  kind: 'middleware',
  name: 'balance',
  types: TYPES_RANGE,
  accountOptions: { balance: BALANCE_OPTION },
  options: {
    type: 'object',
    properties: {
      settleRetryDelay: { type: 'integer', minimum: 1, description: 'ms before the first retry of a settlement that was not sent (default 1000)' },
      settleRetryMaxDelay: { type: 'integer', minimum: 1, description: 'longest ms between retries (default 60000)' }
    }
  },
  provides: ['balanceAdmin', 'settlementAdmin'],
  uses: ['alertAdmin'],
  create: (options, api) => new BalanceMiddleware(api, options)
}
export default manifest
