import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Stats, METRICS, type AccountStats, type MoneyStats, type PacketStats } from './stats.ts'

export { Stats, METRICS }
export type { AccountStats, MoneyStats, PacketStats }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'stats',
  types: TYPES_RANGE,
  create: (_options, api) => new Stats(api)
}
export default manifest
