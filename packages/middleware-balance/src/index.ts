import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { BalanceMiddleware } from './balance.ts'
import { BALANCE_OPTION, type BalanceConfig } from './options.ts'

export { BalanceMiddleware, BALANCE_OPTION }
export type { BalanceConfig }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'balance',
  types: TYPES_RANGE,
  accountOptions: { balance: BALANCE_OPTION },
  provides: ['balanceAdmin'],
  create: (_options, api) => new BalanceMiddleware(api)
}
export default manifest
