import type { MiddlewareManifest } from '@conn/types'
import { Stats, METRICS, type AccountStats, type MoneyStats, type PacketStats } from './stats.ts'

export { Stats, METRICS }
export type { AccountStats, MoneyStats, PacketStats }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'stats',
  types: '^0.1.0',
  create: (_options, api) => new Stats(api)
}
export default manifest
