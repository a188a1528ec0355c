/**
 * The connector's life: start-up in the reference's order, shut-down, accounts added and removed at run time,
 * our address and the local routes, and the handle extensions (the admin API) read it through. The jobs are in
 * their own modules: packages.ts loads what the configuration names, accounts.ts owns the accounts and their
 * plugins, switch.ts is the packet path from bytes in to bytes out. `createApp` is the embedding entry point;
 * the cli is a thin layer on it.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import {
  OperatorError,
  type AccountConfig, type Backend, type ConnectorConfig, type ConnectorHandle, type ConnectorState, type Extension,
  type ConnectorServices, type Logger, type Middleware, type MiddlewareApi, type Plugin, type Rate, type Routing,
  type RoutingApi, type ServiceName, type StaticRoute, type Store, type Cluster, type ClusterHost, type SharedRoute
} from '@conn/types'
import type { ConnectorAccount } from './account.ts'
import { Accounts } from './accounts.ts'
import { StoreBalances } from './balances.ts'
import type { ReferenceHost } from './compat/host.ts'
import { ConfigError, validateAccount, validateConfig } from './config.ts'
import { configFromEnv } from './env.ts'
import { LoadError } from './loader.ts'
import { ConnectorMetrics } from './metrics.ts'
import { checkAccountOptions, serviceProviders, type LoadedMiddlewares } from './middlewares.ts'
import { Packages } from './packages.ts'
import { PacketSwitch, type PeerProtocolHandler } from './switch.ts'
import { buildLocalRoutes, RoutingTable } from './routing.ts'
import { MemoryStore } from './stores/memory.ts'
import { fetchIldcp } from '@conn/codec'

export interface AppOptions {
  /** Root logger; default a pino logger at `info`. */
  logger?: Logger
  /**
   * Directories (or file: URLs) to resolve package names from, in order. Default: the working directory.
   * The cli adds its own folder, so the packages it ships with are found too.
   */
  resolveFrom?: string[]
  /** Modules already imported, by package name; used instead of importing that name. */
  modules?: Record<string, unknown>
}

/** The admin API, loaded when `adminApi` is true. */
const ADMIN_PACKAGE = '@conn/admin-api'
/** The web console, served on the admin API's port when `adminApi` is true and the package is installed. */
const CONSOLE_PACKAGE = '@conn/console'

export type ConnectorEvents = {
  'account-connect': [accountId: string]
  'account-disconnect': [accountId: string]
  'account-added': [accountId: string]
  'account-removed': [accountId: string]
  'address-changed': [address: string]
}

export class Connector extends EventEmitter<ConnectorEvents> implements ConnectorHandle {
  readonly config: ConnectorConfig
  readonly logger: Logger
  readonly routingTable: RoutingTable
  readonly routingSecret: Buffer
  /** The connector's metrics; `metrics.registry` is the prom-client registry to expose. */
  readonly metrics = new ConnectorMetrics()
  private readonly packages: Packages
  private readonly accounts: Accounts
  private readonly packetPath: PacketSwitch
  private ownAddress: string
  private store: Store = new MemoryStore()
  private storeBalances = new StoreBalances(this.store)
  private backend: Backend | undefined
  private middlewares: Middleware[] = []
  private loadedMiddlewares: LoadedMiddlewares | undefined
  private services = new Map<ServiceName, Middleware>()
  private routing: Routing | undefined
  /** The store's cluster (delivery through other connectors on the same store), started with the accounts. */
  private cluster: Cluster | undefined
  private readonly extensions: Extension[] = []
  private lifecycle: ConnectorState = 'new'
  /** An account by id, as backends ask for it (the one at start and any made by a reload). */
  private readonly accountInfo = (id: string): ConnectorAccount | undefined => this.accounts.get(id)
  private stopping: Promise<void> | undefined

  constructor (config: ConnectorConfig, options: AppOptions = {}) {
    super()
    this.config = config
    this.logger = options.logger ?? pino({ name: 'conn' }) as unknown as Logger
    this.ownAddress = config.ilpAddress
    this.routingSecret = config.routingSecret === '' ? randomBytes(32) : Buffer.from(config.routingSecret, 'base64')
    this.routingTable = new RoutingTable((id) => this.accounts.get(id)?.relation, config.routes)
    this.packages = new Packages({
      config,
      logger: this.logger,
      resolveFrom: options.resolveFrom ?? [process.cwd()],
      modules: options.modules ?? {},
      host: this.referenceHost()
    })
    this.accounts = new Accounts({
      logger: this.logger,
      legacyPlugins: config.legacyPlugins,
      import: this.packages.import,
      emit: (event, id) => this.emit(event, id)
    })
    this.packetPath = new PacketSwitch({
      settings: config,
      routingTable: this.routingTable,
      getAccount: (id) => this.accounts.get(id),
      getOwnAddress: () => this.ownAddress,
      backend: () => this.backend!,
      logger: this.logger.child({ component: 'switch' })
    })
    for (const [id, account] of Object.entries(config.accounts)) this.accounts.add(id, account)
  }

  // ---- what extensions and embedders read ----------------------------------------------------------

  getOwnAddress (): string { return this.ownAddress }

  /** Where the connector is in its life; `started` once start-up has finished (what /health/ready reports). */
  get state (): ConnectorState { return this.lifecycle }

  getAccount (id: string): ConnectorAccount | undefined { return this.accounts.get(id) }

  getAccounts (): IterableIterator<ConnectorAccount> { return this.accounts.values() }

  /** The plugin of an account (undefined before listen() for plugins configured by package name). */
  getPlugin (id: string): Plugin | undefined { return this.accounts.get(id)?.plugin }

  /** Account balances as kept in the store. */
  get balances (): StoreBalances { return this.storeBalances }

  /** A running middleware by name (e.g. `balance`, for the admin API), or undefined. */
  getMiddleware (name: string): Middleware | undefined {
    return this.middlewares.find((m) => m.name === name)
  }

  /** A service a running middleware provides (e.g. `balanceAdmin`, for the admin API), or undefined. */
  getService<K extends ServiceName> (name: K): ConnectorServices[K] | undefined {
    return this.services.get(name)?.services?.[name] as ConnectorServices[K] | undefined
  }

  /** The connector's metrics for export (the admin API's /metrics and /stats). */
  get metricsExport (): ConnectorMetrics { return this.metrics }

  /** The backend's rate from one account to another. */
  async getRate (sourceAccount: string, destinationAccount: string): Promise<Rate> {
    if (this.backend === undefined) throw new Error('connector not started')
    return await this.backend.getRate(sourceAccount, destinationAccount)
  }

  /** The route-exchange package running (e.g. @conn/routing-ccp), if any. */
  getRouting (): Routing | undefined { return this.routing }

  /** Handles Prepares to `<prefix>` and `<prefix>.*` (e.g. `peer.route` for route exchange). */
  registerPeerProtocol (prefix: string, handler: PeerProtocolHandler): void {
    this.packetPath.peerProtocols.set(prefix, handler)
  }

  /** Sends money to an account through the outgoing money pipeline. */
  async sendMoney (accountId: string, amount: bigint): Promise<void> {
    await this.packetPath.sendMoney(this.account(accountId), amount)
  }

  /** Sends a Prepare from the connector itself (e.g. a route update) straight through an account's plugin. */
  async sendPeerPacket (accountId: string, prepare: Buffer): Promise<Buffer> {
    return await this.account(accountId).plugin.sendData(prepare)
  }

  // ---- life ------------------------------------------------------------------------------------------

  /** Starts the connector (see start()); on failure, undoes what it did and rejects. */
  async listen (): Promise<void> {
    if (this.lifecycle !== 'new') throw new Error(`listen() called on a connector that is ${this.lifecycle}`)
    this.lifecycle = 'starting'
    try {
      await this.start()
      this.lifecycle = 'started'
    } catch (err) {
      this.logger.error({ err }, 'start-up failed')
      await this.shutdown().catch(() => {})
      throw err
    }
    this.logger.info({ address: this.ownAddress, accounts: this.accounts.ids() }, 'connector ready')
  }

  /**
   * Adds an account at runtime (or before listen): validated, wired into the pipelines, connected, routed. With
   * `waitForConnect: false` it resolves once the account is wired in and connects in the background (a BTP server
   * account connects when its first client does; a failure is logged).
   */
  async addPlugin (id: string, accountConfig: AccountConfig, options: { waitForConnect?: boolean } = {}): Promise<void> {
    if (this.accounts.has(id)) throw new Error(`account already exists. accountId=${id}`)
    const config = validateAccount(id, accountConfig)
    if (this.lifecycle === 'new') {
      this.accounts.add(id, config)
      return
    }
    if (this.lifecycle !== 'started') throw new Error(`cannot add an account while the connector is ${this.lifecycle}`)
    const { issues } = checkAccountOptions({ [id]: config }, this.loadedMiddlewares!)
    if (issues.length > 0) throw new ConfigError(issues)
    const account = await this.accounts.create(id, config, this.store)
    await this.accounts.attach(account, this.middlewares, this.packetPath)
    this.reloadLocalRoutes()
    const connecting = account.plugin.connect({})
    if (options.waitForConnect !== false) return await connecting
    connecting.catch((err: Error) => this.logger.warn({ err, account: id }, 'account failed to connect'))
  }

  /**
   * Removes an account after its packets in flight were answered (a configuration reload): its new Prepares get T03
   * and nothing more is routed to it, then, once nothing of it is in flight (or after `timeout` ms, default
   * shutdownTimeout), removePlugin. Resolves true if nothing was left in flight.
   */
  async drainAndRemove (id: string, timeout = this.config.shutdownTimeout): Promise<boolean> {
    const account = this.accounts.get(id)
    if (account === undefined) {
      await this.removePlugin(id)
      return true
    }
    account.closing = true
    this.routingTable.removeLearnedRoutesOf(id)
    const answered = await idle(account, timeout)
    await this.removePlugin(id)
    return answered
  }

  /**
   * Applies a new configuration of an account whose plugin, plugin options, relation and asset stay (a reload that
   * changes its limits, balance, rate or other middleware options): for the moment it takes (its packets in flight
   * answered, at most `timeout` ms) its new Prepares get T03 and packets to it T01; then the middlewares drop the
   * account and take it again with the new options. The plugin and its connections stay up.
   */
  async reconfigureAccount (id: string, accountConfig: AccountConfig, timeout = this.config.shutdownTimeout): Promise<void> {
    const account = this.accounts.get(id)
    if (account === undefined) throw new Error(`unknown account. accountId=${id}`)
    const config = validateAccount(id, accountConfig)
    const { issues } = checkAccountOptions({ [id]: config }, this.loadedMiddlewares!)
    if (issues.length > 0) throw new ConfigError(issues)
    account.closing = true
    try {
      await idle(account, timeout)
      for (const middleware of this.middlewares) await Promise.resolve(middleware.removeAccount?.(account))
      account.config = config
      for (const middleware of this.middlewares) await middleware.addAccount?.(account)
    } finally {
      account.closing = false
    }
  }

  /**
   * Replaces the backend with one made from new `backend`, `spread` and `backendConfig` (a configuration reload).
   * The new one is created and connected first, so a failure leaves the running one in place; packets then ask it
   * for rates and the old one disconnects.
   */
  async reconfigureBackend (options: Pick<ConnectorConfig, 'backend' | 'spread' | 'backendConfig'>): Promise<void> {
    const next = await this.packages.backend(this.accountInfo, { ...this.config, ...options })
    await next.connect?.()
    const previous = this.backend
    this.backend = next
    await previous?.disconnect?.().catch((err: Error) => this.logger.warn({ err }, 'previous backend failed to disconnect'))
  }

  /** Replaces the static routes (a configuration reload). */
  setStaticRoutes (routes: StaticRoute[]): void {
    this.routingTable.setStaticRoutes(routes)
  }

  /** Removes an account: handlers off, middleware state dropped, plugin disconnected, routes withdrawn. */
  async removePlugin (id: string): Promise<void> {
    const account = this.accounts.get(id)
    if (account === undefined) {
      if (!this.accounts.has(id)) throw new Error(`unknown account. accountId=${id}`)
      this.accounts.delete(id)
      return
    }
    await this.accounts.detach(account, this.middlewares)
    this.accounts.delete(id)
    this.routingTable.removeLearnedRoutesOf(id)
    this.reloadLocalRoutes()
    this.emit('account-removed', id)
    await account.plugin.disconnect().catch((err: Error) => this.logger.warn({ err, account: id }, 'plugin failed to disconnect'))
  }

  /**
   * Shuts down gracefully: new Prepares get T03 at once while the ones in flight are answered (for at most
   * `shutdownTimeout`); our routes are withdrawn from route-exchange peers; then extensions stop, plugins
   * disconnect, middlewares stop, the backend disconnects, and balances reach the store before it closes. A second
   * call waits for the first.
   */
  async shutdown (): Promise<void> {
    this.stopping ??= this.stop()
    await this.stopping
  }

  private async stop (): Promise<void> {
    const wasStarted = this.lifecycle !== 'new'
    this.lifecycle = 'stopping'
    if (wasStarted) {
      const inFlight = this.packetPath.packetsInFlight
      if (inFlight > 0) this.logger.info({ inFlight, timeout: this.config.shutdownTimeout }, 'shutting down: answering the packets in flight first')
      if (!await this.packetPath.drain(this.config.shutdownTimeout)) {
        this.logger.warn({ inFlight: this.packetPath.packetsInFlight, timeout: this.config.shutdownTimeout },
          'shutdownTimeout passed with packets still in flight; disconnecting anyway')
      }
    }
    // after our own packets were answered (some went through other members), before our plugins disconnect
    // (the packets other members sent here are answered first)
    await this.cluster?.stop(this.config.shutdownTimeout).catch((err: Error) => this.logger.warn({ err }, 'cluster failed to stop'))
    await Promise.resolve(this.routing?.stop()).catch((err: Error) => this.logger.warn({ err }, 'route exchange failed to stop'))
    for (const extension of this.extensions.splice(0).reverse()) {
      await Promise.resolve(extension.stop()).catch((err: Error) => this.logger.warn({ err }, 'extension failed to stop'))
    }
    const results = await Promise.allSettled([...this.accounts.values()].map(async (account) => {
      if (wasStarted) await this.accounts.detach(account, this.middlewares)
      await account.plugin.disconnect()
    }))
    for (const result of results) {
      if (result.status === 'rejected') this.logger.warn({ err: result.reason }, 'error while disconnecting an account')
    }
    for (const middleware of [...this.middlewares].reverse()) {
      await Promise.resolve(middleware.stop?.()).catch((err: Error) => this.logger.warn({ err, middleware: middleware.name }, 'middleware failed to stop'))
    }
    await this.backend?.disconnect?.().catch((err: Error) => this.logger.warn({ err }, 'backend failed to disconnect'))
    await this.storeBalances.flush()
    await this.store.close?.().catch((err: Error) => this.logger.warn({ err }, 'store failed to close'))
    this.lifecycle = 'stopped'
    this.logger.info('connector stopped')
  }

  /**
   * Start-up, in three steps. First what configuration or packages can refuse, before any port opens: the store,
   * the backend, the middlewares and the plugins are loaded and created. Then the admin API and /metrics, so the
   * operator sees the connector while it connects (the reference starts its admin API first too). Then the
   * network: the backend connects, the plugins get their handlers, our address, routes, and the plugins connect.
   */
  private async start (): Promise<void> {
    const log = this.logger
    this.store = await this.packages.store()
    await this.store.open?.()
    this.storeBalances = new StoreBalances(this.store)
    this.backend = await this.packages.backend(this.accountInfo)

    const loaded = this.loadedMiddlewares = await this.packages.middlewares(this.middlewareApi())
    const { middlewares } = loaded
    this.middlewares = middlewares
    this.services = serviceProviders(loaded)
    const { issues, unenforced } = checkAccountOptions(this.config.accounts, loaded)
    if (issues.length > 0) throw new ConfigError(issues)
    for (const { middleware, package: pkg, why, options } of unenforced) {
      log.warn({ middleware, package: pkg, options }, `not enforced: ${options.join(', ')}, because the ${middleware} middleware ` +
        (why === 'disabled' ? 'is in disableMiddleware' : `(${pkg}) is not installed`))
    }
    log.info({ middlewares: middlewares.map((m) => m.name) }, 'middlewares loaded')
    for (const warning of configWarnings(this.config)) log.warn(warning)
    this.packetPath.compose(middlewares)
    for (const middleware of middlewares) await middleware.start?.()
    await this.accounts.createPending(this.store)

    if (this.config.adminApi) {
      const webConsole = await this.startExtension(CONSOLE_PACKAGE, 'console', {}, true)
      await this.startExtension(ADMIN_PACKAGE, 'admin API', { mounts: webConsole?.http === undefined ? [] : [webConsole.http] })
    }

    await this.backend.connect?.()
    for (const account of this.accounts.values()) await this.accounts.attach(account, this.middlewares, this.packetPath)
    if (this.ownAddress === 'unknown') await this.inheritAddress()
    this.reloadLocalRoutes()
    this.routing = await this.packages.routing(this.routingApi(), () => [...this.accounts.values()]
      .filter((a) => (a.config.sendRoutes ?? a.relation !== 'child') || (a.config.receiveRoutes ?? a.relation !== 'child'))
      .map((a) => a.id))
    await this.routing?.start()
    if (this.store.cluster !== undefined) {
      this.cluster = this.store.cluster
      await this.cluster.start(this.clusterHost())
      this.packetPath.useCluster(this.cluster)
      this.shareLearnedRoutes(this.cluster)
    }

    await this.accounts.connectAll(this.config.initialConnectTimeout)
    if (this.config.collectDefaultMetrics) this.metrics.collectDefaultMetrics()
  }

  /**
   * Loads an extension (the admin API, the console), checks that the services it requires are provided, and starts
   * it. An `optional` one that is not installed is skipped (debug log).
   */
  private async startExtension (packageName: string, label: string, options: Record<string, unknown> = {}, optional = false): Promise<Extension | undefined> {
    let manifest
    try {
      manifest = await this.packages.extension(packageName, label)
    } catch (err) {
      if (!optional || (err as LoadError).code !== 'ERR_PACKAGE_NOT_FOUND') throw err
      this.logger.debug({ package: packageName }, `${label} not installed; not started`)
      return undefined
    }
    for (const service of manifest.requires ?? []) {
      if (!this.services.has(service)) {
        throw new LoadError('ERR_PACKAGE_INVALID', `${label} (${packageName}) requires ${service}, which no middleware that runs provides`)
      }
    }
    const extension = await manifest.create(options, this)
    await extension.start()
    this.extensions.push(extension)
    return extension
  }

  private account (id: string): ConnectorAccount {
    const account = this.accounts.get(id)
    if (account === undefined) throw new Error(`unknown account. accountId=${id}`)
    return account
  }

  private middlewareApi (): MiddlewareApi {
    return {
      logger: this.logger.child({ component: 'middleware' }),
      store: this.store,
      getOwnAddress: () => this.ownAddress,
      getAccount: (id) => this.accounts.get(id),
      getAccounts: () => this.accounts.values(),
      sendMoney: async (id, amount) => await this.sendMoney(id, amount),
      balances: this.storeBalances,
      metrics: this.metrics,
      getService: (name) => this.getService(name)
    }
  }

  private routingApi (): RoutingApi {
    return {
      logger: this.logger.child({ component: 'routing' }),
      config: this.config,
      routingSecret: this.routingSecret,
      getOwnAddress: () => this.ownAddress,
      getAccount: (id) => this.accounts.get(id),
      getAccounts: () => this.accounts.values(),
      table: this.routingTable,
      registerPeerProtocol: (prefix, handler) => this.registerPeerProtocol(prefix, handler),
      sendPeerPacket: async (id, prepare) => await this.sendPeerPacket(id, prepare),
      on: (event, listener) => { this.on(event, listener) },
      off: (event, listener) => { this.off(event, listener) }
    }
  }

  /** Routes imported from other cluster members are not told back to the cluster as learned here. */
  private importingRoute = false

  /** One routing view across a cluster: what the table learns is shared, what the others learned is imported. */
  private shareLearnedRoutes (cluster: Cluster): void {
    const share = cluster.shareRoute?.bind(cluster)
    if (share === undefined) return
    this.routingTable.onLearnedChange((accountId, prefix, route) => {
      if (!this.importingRoute) share(accountId, prefix, route === undefined ? undefined : { path: route.path, auth: route.auth })
    })
  }

  private importRoute (accountId: string, prefix: string, route: SharedRoute | undefined): void {
    if (!this.accounts.has(accountId)) return
    this.importingRoute = true
    try {
      if (route === undefined) this.routingTable.removeLearnedRoute(accountId, prefix)
      else this.routingTable.addLearnedRoute(accountId, prefix, route)
    } finally {
      this.importingRoute = false
    }
  }

  private clusterHost (): ClusterHost {
    return {
      importRoute: (accountId, prefix, route) => { this.importRoute(accountId, prefix, route) },
      logger: this.logger.child({ component: 'cluster' }),
      getOwnAddress: () => this.ownAddress,
      getAccount: (id) => this.accounts.get(id),
      getAccounts: () => this.accounts.values(),
      on: (event, listener) => { this.on(event, listener) },
      off: (event, listener) => { this.off(event, listener) }
    }
  }

  /** What backends, stores and middlewares written for ilp-connector get beyond conn's APIs (see compat/). */
  private referenceHost (): ReferenceHost {
    return {
      getAccounts: () => this.accounts.values(),
      getOwnAddress: () => this.ownAddress,
      middlewareNames: () => this.middlewares.map((m) => m.name),
      outgoingData: (ctx) => this.packetPath.sendOutgoing(ctx)
    }
  }

  // ---- our address and the local routes --------------------------------------------------------------

  /** Learns our address from a parent over ILDCP (RFC 31). */
  private async inheritAddress (): Promise<void> {
    const parentId = this.config.ilpAddressInheritFrom !== ''
      ? this.config.ilpAddressInheritFrom
      : [...this.accounts.values()].find((a) => a.relation === 'parent')?.id
    const parent = parentId === undefined ? undefined : this.accounts.get(parentId)
    if (parent === undefined) throw new ConfigError([{ path: 'ilpAddress', message: 'required when there is no parent to learn it from' }])
    this.logger.info({ account: parent.id }, 'connecting to parent to learn our address (ILDCP)')
    await parent.plugin.connect({})
    let response
    try {
      response = await fetchIldcp((data) => parent.plugin.sendData(data))
    } catch (err) {
      throw new OperatorError('ERR_ILDCP', `IL-DCP failed: ${(err as Error).message} (asking parent ${parent.id} for our address)`, { cause: err })
    }
    this.ownAddress = response.clientAddress
    this.emit('address-changed', response.clientAddress)
    this.logger.info({ address: this.ownAddress, account: parent.id }, 'learned our address from parent')
  }

  /** Rebuilds the routes to ourselves, our children and the default route. */
  reloadLocalRoutes (): void {
    if (this.ownAddress === 'unknown') return
    this.routingTable.setLocalRoutes(buildLocalRoutes({
      ownAddress: this.ownAddress,
      globalPrefix: this.config.env === 'production' ? 'g' : 'test',
      defaultRoute: this.config.defaultRoute,
      accounts: this.accounts.values()
    }))
  }
}

/** Options that are set but have no effect in this configuration, so nothing is ignored silently. */
function configWarnings (config: ConnectorConfig): string[] {
  const warnings: string[] = []
  if (!config.adminApi && config.adminApiToken !== '') warnings.push('adminApiToken is set, but adminApi is off; no HTTP server is started')
  return warnings
}

/**
 * Creates a connector. With a configuration object: that object, validated, defaults filled in (plugin instances
 * allowed), the environment ignored. Without one: the `CONNECTOR_*` variables, as the reference reads them.
 * Throws ConfigError listing every problem.
 */
export function createApp (config?: Partial<ConnectorConfig> & Pick<ConnectorConfig, 'accounts'>, options: AppOptions = {}): Connector {
  if (config !== undefined) return new Connector(validateConfig(config, { programmatic: true }), options)
  const fromEnv = configFromEnv(process.env)
  const app = new Connector(fromEnv.config, options)
  for (const name of fromEnv.unknown) app.logger.warn({ variable: name }, `unrecognized environment variable ${name} (ignored)`)
  return app
}

/** Resolves true once nothing of the account is in flight, false after `timeout` ms. */
async function idle (account: ConnectorAccount, timeout: number): Promise<boolean> {
  const deadline = Date.now() + timeout
  const busy = (): boolean => (account.inFlight?.count ?? 0) + account.outgoingInFlight > 0
  while (busy() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  return !busy()
}
