/**
 * The connector configuration, with the option names of the reference connector `ilp-connector` v23.
 * Amounts are decimal integer strings, as in the reference; times are milliseconds.
 */
import type { Plugin } from './plugin.ts'

export type Relation = 'parent' | 'peer' | 'child'

export interface AccountConfig {
  relation: Relation
  /** A package name (resolved like any package) or, when embedding, a plugin instance. */
  plugin: string | Plugin
  assetCode: string
  assetScale: number
  /** Options for the plugin's constructor. */
  options?: Record<string, unknown>
  /** Child address segment; default the account id. */
  ilpAddressSegment?: string
  /** Whether route exchange sends routes to the account (default false for children, else true). */
  sendRoutes?: boolean
  /** Whether route exchange takes routes from the account (default false for children, else true). */
  receiveRoutes?: boolean
  /** Most Prepares from the account in flight at once; more get T03. Default: the connector's `maxPacketsInFlight`. */
  maxPacketsInFlight?: number
  /**
   * Options of the middlewares: `balance`, `rateLimit`, `maxPacketAmount`, ... or a third party's. Each middleware
   * declares the ones it reads in its manifest (`accountOptions`), and the connector checks them at start.
   */
  [option: string]: unknown
}

export interface StaticRoute {
  targetPrefix: string
  peerId: string
}

export interface CustomMiddlewareConfig {
  /** Package name of the middleware. */
  type: string
  options?: Record<string, unknown>
  /** Place it just before this middleware (by name); default: after all built-ins. */
  before?: string
  /** Place it just after this middleware (by name). */
  after?: string
}

export interface ConnectorConfig {
  env: 'production' | 'test'
  ilpAddress: string
  ilpAddressInheritFrom: string
  accounts: Record<string, AccountConfig>
  defaultRoute: string
  routes: StaticRoute[]
  spread: number
  minMessageWindow: number
  maxHoldTime: number
  routeBroadcastEnabled: boolean
  routeBroadcastInterval: number
  routeCleanupInterval: number
  routeExpiry: number
  routingSecret: string
  /** Backend name; unset: `one-to-one` when all accounts share an asset code, else `ecb`. */
  backend: string
  backendConfig: Record<string, unknown>
  store: string
  storePath: string
  storeConfig: Record<string, unknown>
  middlewares: Record<string, CustomMiddlewareConfig>
  /** Names of the standard middlewares to leave out (`errorHandler`, `rateLimit`, ...). */
  disableMiddleware: string[]
  reflectPayments: boolean
  initialConnectTimeout: number
  adminApi: boolean
  adminApiPort: number
  adminApiHost: string
  adminApiToken: string
  collectDefaultMetrics: boolean
  /**
   * Accounts (by id) or plugin packages (`ilp-plugin-btp`, `ilp-plugin-mini-accounts`) that run the package
   * they name rather than conn's wire-compatible transport. Default `[]`: conn's transport for all of them.
   */
  legacyPlugins: string[]
  /** Most Prepares from one account in flight at once (more get T03, a temporary reject). Default 10000. */
  maxPacketsInFlight: number
  /** On shutdown, how long (ms) packets in flight may take to be answered before plugins disconnect. Default 30000. */
  shutdownTimeout: number
}
