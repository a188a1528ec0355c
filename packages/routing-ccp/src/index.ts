import type { RoutingManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { CcpRouting, type CcpRoutingOptions } from './ccp-routing.ts'

export { CcpRouting, MAX_CONTROL_RETRY_INTERVAL, MAX_CONTROL_TIMEOUT, type CcpRoutingOptions, type RouteJson, type RoutingStatus } from './ccp-routing.ts'
export { ForwardingTable, hmacSha256, sha256, type AdvertisedRoute, type ForwardingTableDeps, type RouteRelation, type RouteUpdate } from './forwarding-table.ts'
export { CcpSender, MAX_EPOCHS_PER_UPDATE, MINIMUM_UPDATE_INTERVAL, type SenderDeps, type SenderStatus } from './sender.ts'
export { CcpReceiver, FIRST_CONTROL_RETRY_DELAY, ZERO_UUID, type ReceiverDeps, type ReceiverStatus, type UpdateResult } from './receiver.ts'
export { CcpFormatError } from './vendor/ccp.ts'
export { Peer, routeExchangeOf, type PeerStatus, type RouteExchange } from './peers.ts'

const manifest: RoutingManifest = {
  kind: 'routing',
  name: 'ccp',
  types: TYPES_RANGE,
  create: (options, api) => new CcpRouting(api, routingOptions(options))
}
export default manifest

function routingOptions (options: Record<string, unknown>): CcpRoutingOptions {
  const retry = options.controlRetryInterval
  if (retry === undefined) return {}
  if (typeof retry !== 'number' || !Number.isInteger(retry) || retry <= 0) {
    throw new TypeError(`controlRetryInterval: expected a positive integer (ms), got ${JSON.stringify(retry)}`)
  }
  return { controlRetryInterval: retry }
}
