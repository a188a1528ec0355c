/**
 * Extensions: packages that work on the whole connector rather than on packets (the admin API). They get a
 * handle with read access to accounts, balances, routes, rates and metrics, and the account operations.
 */
import type { Account } from './account.ts'
import type { AccountConfig, ConnectorConfig } from './config.ts'
import type { Balances } from './balances.ts'
import type { Rate } from './backend.ts'
import type { Logger } from './logger.ts'
import type { Middleware } from './middleware.ts'
import type { Routing, RoutingTableView } from './routing.ts'
import type { ConnectorServices, ServiceName } from './services.ts'

/** The connector's metrics in Prometheus form (prom-client underneath). */
export interface MetricsExport {
  /** Content type of `text()` (Prometheus text exposition format). */
  readonly contentType: string
  /** The connector's metrics and, when `collectDefaultMetrics` is on, the process metrics. */
  text (): Promise<string>
  /** The connector's own metrics as prom-client's getMetricsAsJSON gives them (the reference's GET /stats). */
  json (): Promise<unknown>
}

/** Where a connector is in its life: `started` once start-up has finished, `stopping` from shutdown on. */
export type ConnectorState = 'new' | 'starting' | 'started' | 'stopping' | 'stopped'

export interface ConnectorHandle {
  readonly config: Readonly<ConnectorConfig>
  readonly state: ConnectorState
  readonly logger: Logger
  getOwnAddress (): string
  getAccount (id: string): Account | undefined
  getAccounts (): Iterable<Account>
  /** A running middleware by name (`balance`, `alert`, `stats`...). */
  getMiddleware (name: string): Middleware | undefined
  /** A service a middleware provides (see services.ts), or undefined when none does. */
  getService<K extends ServiceName> (name: K): ConnectorServices[K] | undefined
  /** The route-exchange package, if one runs. */
  getRouting (): Routing | undefined
  readonly routingTable: RoutingTableView
  readonly balances: Balances
  /** The backend's rate from one account to another (throws what the backend throws). */
  getRate (sourceAccount: string, destinationAccount: string): Promise<Rate>
  readonly metricsExport: MetricsExport
  addPlugin (id: string, config: AccountConfig): Promise<void>
  removePlugin (id: string): Promise<void>
}

export interface Extension {
  start (): Promise<void> | void
  stop (): Promise<void> | void
  /** Requests it answers on the admin API's port (the console), when the admin API runs. */
  readonly http?: HttpMount
}

/**
 * A path prefix an extension serves on the admin API's server (e.g. `/console`): the admin API hands it every
 * request for `prefix` or `prefix/...`, whatever the token, and says whether the request carried the admin token,
 * so the extension decides what it shows without the token and what it refuses (401).
 */
export interface HttpMount {
  /** Starts with `/`, no trailing `/`. */
  readonly prefix: string
  handle (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, access: HttpAccess): Promise<void> | void
}

export interface HttpAccess {
  /** The request carried the configured admin token. False when no token is configured: nothing may change then. */
  admin: boolean
}
