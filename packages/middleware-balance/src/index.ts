import type { MiddlewareManifest } from '@conn/types'
import { BalanceMiddleware } from './balance.ts'
import { BALANCE_OPTION, type BalanceConfig } from './options.ts'

export { BalanceMiddleware, BALANCE_OPTION }
export type { BalanceConfig }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'balance',
  types: '^0.1.0',
  accountOptions: { balance: BALANCE_OPTION },
  provides: ['balanceAdmin'],
  create: (_options, api) => new BalanceMiddleware(api)
}
export default manifest
