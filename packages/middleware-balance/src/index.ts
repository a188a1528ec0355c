import type { MiddlewareManifest } from '@conn/types'
import { BalanceMiddleware, type BalanceAdmin, type BalanceStatus } from './balance.ts'

export { BalanceMiddleware }
export type { BalanceAdmin, BalanceStatus }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'balance',
  types: '^0.1.0',
  create: (_options, api) => new BalanceMiddleware(api)
}
export default manifest
