/**
 * One line per connector option, for `conn --help --all`. Keyed by OPTIONS, so an option added there without a
 * line here does not compile: the help cannot drift from what the parser reads.
 */
import type { OPTIONS } from './config.ts'

export const OPTION_HELP: { readonly [K in keyof typeof OPTIONS]: string } = {
  accounts: 'account id -> account {relation, plugin, assetCode, assetScale, options, ...} (required unless the embedded default)',
  ilpAddress: 'our address; unknown = learn it over ILDCP from a parent',
  ilpAddressInheritFrom: "parent to learn the address from; '' = the first parent",
  env: 'test or production: the global prefix of the default route (test or g)',
  defaultRoute: "account for the global prefix; auto = the first parent, '' = none",
  routes: 'static routes [{targetPrefix, peerId}]; they win over local routes for the same prefix',
  reflectPayments: 'false rejects (F02) packets routed back to the account they came from',
  spread: 'fraction taken off every rate',
  backend: "one-to-one, ecb, or a package name ('' = one-to-one when all accounts share an asset code, else ecb)",
  backendConfig: 'options for the backend',
  minMessageWindow: "ms taken off each forwarded packet's expiry",
  maxHoldTime: "longest expiry of a forwarded packet, in ms from now",
  store: 'memory, level (persistent, needs storePath), redis (storeConfig {url, prefix, cluster}) or a package name',
  storePath: 'where the level store keeps balances; a storePath without a store selects level',
  storeConfig: 'options for the store',
  middlewares: 'custom middlewares: name -> {type: package, options?, before?, after?}',
  disableMiddleware: 'built-in middlewares to leave out, e.g. ["expire"]',
  initialConnectTimeout: 'ms start-up waits for plugins to connect before going on',
  shutdownTimeout: 'ms packets in flight may take to be answered on SIGTERM/SIGINT before the plugins disconnect',
  maxPacketsInFlight: "most Prepares from one account in flight at once; more get T03 (an account's own wins)",
  routeBroadcastEnabled: 'route exchange (CCP) with peers and parents (needs @conn/routing-ccp)',
  routeBroadcastInterval: 'ms between route broadcasts',
  routeCleanupInterval: 'ms between sweeps of expired routes',
  routeExpiry: 'ms a received route lives without being refreshed',
  routingSecret: "base64 secret the route exchange derives its routing table id from ('' = random at start)",
  adminApi: 'true: admin API, /metrics and /health/* (needs @conn/admin-api; never expose it publicly)',
  adminApiPort: 'port of the admin API',
  adminApiHost: 'host the admin API listens on',
  adminApiToken: "bearer token the admin API requires ('' = none)",
  collectDefaultMetrics: "true: Node's process metrics on /metrics too",
  legacyPlugins: 'accounts (ids), or "ilp-plugin-btp" / "ilp-plugin-mini-accounts", that run the package they name instead of conn\'s BTP transport'
}
