import type { ExtensionManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Console, PREFIX, type ConsoleOptions } from './console.ts'
import { MAX_STREAMS } from './events.ts'
import { PING_ACCOUNT, PingPlugin, Pinger, type PingResult } from './ping.ts'
import { takeSnapshot, type AccountView, type AlertView, type RouteKind, type RouteView, type Snapshot } from './snapshot.ts'
import { TrafficMeter, type AccountTraffic, type TrafficPoint } from './traffic.ts'

export { Console, MAX_STREAMS, PING_ACCOUNT, PREFIX, PingPlugin, Pinger, TrafficMeter, takeSnapshot }
export type { AccountTraffic, AccountView, AlertView, ConsoleOptions, PingResult, RouteKind, RouteView, Snapshot, TrafficPoint }

/** Loaded by the connector when `adminApi` is on; the admin API serves it under /console. */
const manifest: ExtensionManifest = {
  kind: 'extension',
  name: 'console',
  types: TYPES_RANGE,
  uses: ['balanceAdmin', 'settlementAdmin', 'alertAdmin'],
  create: (options, connector) => new Console(connector, options as ConsoleOptions)
}
export default manifest
