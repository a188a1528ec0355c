import type { ExtensionManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { AdminApi, isLoopback, type AdminApiOptions } from './admin-api.ts'
import { BearerToken, DEFAULT_BODY_LIMIT, HttpError, readJsonBody } from './http.ts'
import { AdminRoutes, JsonReply, TextReply, accountInfo, pluginName, rateToNumber, routeJson, validateBalanceUpdate, validateSettlementResolution } from './routes.ts'

export { AdminApi, AdminRoutes, JsonReply, isLoopback, BearerToken, DEFAULT_BODY_LIMIT, HttpError, readJsonBody, TextReply, accountInfo, pluginName, rateToNumber, routeJson, validateBalanceUpdate, validateSettlementResolution }
export type { AdminApiOptions }
export type { RouteDefinition, RouteJson, RouteRequest } from './routes.ts'

const manifest: ExtensionManifest = {
  kind: 'extension',
  name: 'adminApi',
  types: TYPES_RANGE,
  uses: ['balanceAdmin', 'settlementAdmin', 'alertAdmin'],
  create: (options, connector) => new AdminApi(connector, options as AdminApiOptions)
}
export default manifest
