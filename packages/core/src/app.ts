/**
 * The connector: accounts and their plugins, the composed pipelines, the switch, and the start-up and
 * shut-down sequences. `createApp(config)` is the embedding entry point; the cli is a thin layer on it.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import {
  OperatorError, UnreachableError, isPluginOptionsError, serializeReject,
  type AccountConfig, type Backend, type BackendManifest, type ConnectorConfig, type Logger, type Middleware,
  type MiddlewareApi, type MoneyContext, type PacketContext, type Plugin, type PluginConstructor, type Routing,
  type RoutingApi, type RoutingManifest, type Store, type StoreManifest, type ConnectorHandle, type Extension,
  type ExtensionManifest, type Rate, type ConnectorState
} from '@conn/types'
import { ConnectorAccount } from './account.ts'
import { ConfigError, isPluginInstance, validateAccount, validateConfig } from './config.ts'
import { configFromEnv } from './env.ts'
import { defaultExport, importByName, LoadError } from './loader.ts'
import { extensionManifest } from './compat/detect.ts'
import type { ReferenceHost } from './compat/host.ts'
import { asLpi2, checkPluginVersion } from './compat/lpi1.ts'
import { loadMiddlewares } from './middlewares.ts'
import { backendName, backendPackageName, pluginPackageName, PLUGIN_SUBSTITUTES, storePackageName } from './names.ts'
import { isWellFormedReply, parsePrepare, serializePrepare } from './packet.ts'
import { compose } from './pipeline.ts'
import { buildLocalRoutes, RoutingTable } from './routing.ts'
import { PacketSwitch, type PeerProtocolHandler } from './switch.ts'
import { MemoryStore, PrefixedStore } from './stores/memory.ts'
import { OneToOneBackend } from './backends/one-to-one.ts'
import { fetchIldcp } from './vendor/ildcp.ts'
import { StoreBalances } from './balances.ts'
import { ConnectorMetrics } from './metrics.ts'

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

/** The route-exchange package loaded when `routeBroadcastEnabled` is true. */
const ROUTING_PACKAGE = '@conn/routing-ccp'
/** The admin API, loaded when `adminApi` is true. */
const ADMIN_PACKAGE = '@conn/admin-api'

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
  private readonly resolveFrom: string[]
  private readonly modules: Record<string, unknown>
  private readonly accounts = new Map<string, ConnectorAccount>()
  /** Accounts configured with a package name, constructed at listen(). */
  private readonly pendingAccounts = new Map<string, AccountConfig>()
  private readonly peerProtocols = new Map<string, PeerProtocolHandler>()
  private ownAddress: string
  private store: Store = new MemoryStore()
  private storeBalances = new StoreBalances(this.store)
  /** The connector's metrics; `metrics.registry` is the prom-client registry to expose. */
  readonly metrics = new ConnectorMetrics()
  private backend: Backend | undefined
  private middlewares: Middleware[] = []
  private routing: Routing | undefined
  private readonly extensions: Extension[] = []
  private lifecycle: ConnectorState = 'new'
  readonly routingSecret: Buffer

  private incomingData: (ctx: PacketContext) => Promise<Buffer> = notStarted
  private outgoingData: (ctx: PacketContext) => Promise<Buffer> = notStarted
  private incomingMoney: (ctx: MoneyContext) => Promise<void> = notStarted
  private outgoingMoney: (ctx: MoneyContext) => Promise<void> = notStarted

  constructor (config: ConnectorConfig, options: AppOptions = {}) {
    super()
    this.config = config
    this.logger = options.logger ?? pino({ name: 'conn' }) as unknown as Logger
    this.resolveFrom = options.resolveFrom ?? [process.cwd()]
    this.modules = options.modules ?? {}
    this.ownAddress = config.ilpAddress
    this.routingSecret = config.routingSecret === '' ? randomBytes(32) : Buffer.from(config.routingSecret, 'base64')
    this.routingTable = new RoutingTable((id) => this.accounts.get(id)?.relation, config.routes)
    for (const [id, account] of Object.entries(config.accounts)) {
      if (isPluginInstance(account.plugin)) this.addAccountObject(id, account, account.plugin, undefined)
      else this.pendingAccounts.set(id, account)
    }
  }

  // ---- public API -------------------------------------------------------------------------------

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
    this.peerProtocols.set(prefix, handler)
  }

  /** Sends money to an account through the outgoing money pipeline. */
  async sendMoney (accountId: string, amount: bigint): Promise<void> {
    const account = this.accounts.get(accountId)
    if (account === undefined) throw new Error(`unknown account. accountId=${accountId}`)
    await this.outgoingMoney({ account, amount })
  }

  /** Sends a Prepare from the connector itself (e.g. a route update) straight through an account's plugin. */
  async sendPeerPacket (accountId: string, prepare: Buffer): Promise<Buffer> {
    const account = this.accounts.get(accountId)
    if (account === undefined) throw new Error(`unknown account. accountId=${accountId}`)
    return await account.plugin.sendData(prepare)
  }

  /** Starts the connector: store, backend, middlewares, plugins, address, routes; then connects everyone. */
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
    this.logger.info({ address: this.ownAddress, accounts: [...this.accounts.keys()] }, 'connector ready')
  }

  /** Adds an account at runtime (or before listen): validated, wired into the pipelines, connected, routed. */
  async addPlugin (id: string, accountConfig: AccountConfig): Promise<void> {
    if (this.accounts.has(id) || this.pendingAccounts.has(id)) throw new Error(`account already exists. accountId=${id}`)
    const config = validateAccount(id, accountConfig)
    if (this.lifecycle === 'new') {
      if (isPluginInstance(config.plugin)) this.addAccountObject(id, config, config.plugin, undefined)
      else this.pendingAccounts.set(id, config)
      return
    }
    if (this.lifecycle !== 'started') throw new Error(`cannot add an account while the connector is ${this.lifecycle}`)
    const account = await this.constructAccount(id, config)
    await this.attach(account)
    this.reloadLocalRoutes()
    await account.plugin.connect({})
  }

  /** Removes an account: handlers off, middleware state dropped, plugin disconnected, routes withdrawn. */
  async removePlugin (id: string): Promise<void> {
    this.pendingAccounts.delete(id)
    const account = this.accounts.get(id)
    if (account === undefined) throw new Error(`unknown account. accountId=${id}`)
    await this.detach(account)
    this.accounts.delete(id)
    this.routingTable.removeLearnedRoutesOf(id)
    this.reloadLocalRoutes()
    this.emit('account-removed', id)
    await account.plugin.disconnect().catch((err: Error) => this.logger.warn({ err, account: id }, 'plugin failed to disconnect'))
  }

  /** Disconnects every plugin, runs the middlewares' teardown, closes backend and store. */
  async shutdown (): Promise<void> {
    if (this.lifecycle === 'stopping' || this.lifecycle === 'stopped') return
    const wasStarted = this.lifecycle !== 'new'
    this.lifecycle = 'stopping'
    for (const extension of this.extensions.splice(0).reverse()) {
      await Promise.resolve(extension.stop()).catch((err: Error) => this.logger.warn({ err }, 'extension failed to stop'))
    }
    await Promise.resolve(this.routing?.stop()).catch((err: Error) => this.logger.warn({ err }, 'route exchange failed to stop'))
    const results = await Promise.allSettled([...this.accounts.values()].map(async (account) => {
      if (wasStarted) await this.detach(account)
      await account.plugin.disconnect()
    }))
    for (const result of results) {
      if (result.status === 'rejected') this.logger.warn({ err: result.reason }, 'error while disconnecting an account')
    }
    for (const middleware of [...this.middlewares].reverse()) {
      await Promise.resolve(middleware.stop?.()).catch((err: Error) => this.logger.warn({ err, middleware: middleware.name }, 'middleware failed to stop'))
    }
    await this.backend?.disconnect?.().catch((err: Error) => this.logger.warn({ err }, 'backend failed to disconnect'))
    await this.store.close?.().catch((err: Error) => this.logger.warn({ err }, 'store failed to close'))
    this.lifecycle = 'stopped'
    this.logger.info('connector stopped')
  }

  // ---- start-up -----------------------------------------------------------------------------------

  /**
   * Start-up, in three steps. First what configuration or packages can refuse, before any port opens: the store,
   * the backend, the middlewares and the plugins are loaded and created. Then the admin API and /metrics, so the
   * operator sees the connector while it connects (the reference starts its admin API first too). Then the
   * network: the backend connects, the plugins get their handlers, our address, routes, and the plugins connect.
   */
  private async start (): Promise<void> {
    const log = this.logger
    this.store = await this.loadStore()
    await this.store.open?.()
    this.storeBalances = new StoreBalances(this.store)
    this.backend = await this.loadBackend()

    const { middlewares, missing } = await loadMiddlewares(this.config, (name) => this.import(name), this.middlewareApi(), this.referenceHost())
    this.middlewares = middlewares
    for (const { name, package: pkg, unenforced } of missing) {
      if (unenforced.length > 0) {
        log.warn({ middleware: name, package: pkg, options: unenforced },
          `not enforced: ${unenforced.join(', ')}, because the ${name} middleware (${pkg}) is not installed`)
      } else {
        log.debug({ middleware: name, package: pkg }, 'middleware not installed; skipped')
      }
    }
    log.info({ middlewares: middlewares.map((m) => m.name) }, 'middlewares loaded')
    for (const warning of configWarnings(this.config)) log.warn(warning)
    this.composePipelines()
    for (const middleware of middlewares) await middleware.start?.()

    this.logTransports()
    for (const [id, config] of this.pendingAccounts) {
      this.pendingAccounts.delete(id)
      await this.constructAccount(id, config)
    }

    if (this.config.adminApi) await this.startExtension(ADMIN_PACKAGE, 'admin API')

    await this.backend.connect?.()
    for (const account of this.accounts.values()) await this.attach(account)
    if (this.ownAddress === 'unknown') await this.inheritAddress()
    this.reloadLocalRoutes()
    this.routing = await this.loadRouting()
    await this.routing?.start()

    await this.connectAll()
    if (this.config.collectDefaultMetrics) this.metrics.collectDefaultMetrics()
  }

  /** Loads an extension package (e.g. the admin API) by name and starts it. */
  private async startExtension (packageName: string, label: string): Promise<void> {
    const manifest = await this.loadManifest(packageName, 'extension', label) as ExtensionManifest
    const extension = await manifest.create({}, this)
    await extension.start()
    this.extensions.push(extension)
  }

  private async import (packageName: string): Promise<Record<string, unknown>> {
    const preloaded = this.modules[packageName]
    if (preloaded !== undefined) return preloaded as Record<string, unknown>
    return await importByName(packageName, this.resolveFrom)
  }

  private async loadStore (): Promise<Store> {
    const name = this.config.store
    const packageName = storePackageName(name)
    if (packageName === undefined) {
      this.logger.info({ store: name || 'memory' }, 'using the memory store; balances and plugin state will not survive a restart')
      return new MemoryStore()
    }
    const manifest = await this.loadManifest(packageName, 'store', `store "${name}"`) as StoreManifest
    const path = this.config.storePath
    this.logger.info({ store: name, package: packageName, path: path || undefined },
      `using the ${name} store (${packageName})${path !== '' ? ' at ' + path : ''}`)
    return await manifest.create({ path: this.config.storePath || undefined, ...this.config.storeConfig }, { logger: this.logger.child({ component: 'store' }) })
  }

  private async loadBackend (): Promise<Backend> {
    const name = backendName(this.config)
    if (this.config.backend === '') {
      this.logger.info({ backend: name }, name === 'one-to-one'
        ? 'backend not set; every account has the same asset, using one-to-one'
        : 'backend not set; accounts have different assets, using ecb')
    }
    const options = { spread: this.config.spread, ...this.config.backendConfig }
    const api = { getInfo: (id: string) => this.accounts.get(id), logger: this.logger.child({ component: 'backend' }) }
    const packageName = backendPackageName(name)
    if (packageName === undefined) return new OneToOneBackend(options, api)
    const manifest = await this.loadManifest(packageName, 'backend', `backend "${name}"`) as BackendManifest
    return await manifest.create({ ...options, name }, api)
  }

  /**
   * Route exchange (CCP) when `routeBroadcastEnabled`: @conn/routing-ccp if installed. Without it the
   * connector still forwards on static routes, its children and the default route; accounts that would
   * exchange routes get a warning.
   */
  private async loadRouting (): Promise<Routing | undefined> {
    if (!this.config.routeBroadcastEnabled) return undefined
    let manifest: RoutingManifest
    try {
      manifest = await this.loadManifest(ROUTING_PACKAGE, 'routing', 'route exchange') as RoutingManifest
    } catch (err) {
      if ((err as LoadError).code !== 'ERR_PACKAGE_NOT_FOUND') throw err
      const exchanging = [...this.accounts.values()]
        .filter((a) => (a.config.sendRoutes ?? a.relation !== 'child') || (a.config.receiveRoutes ?? a.relation !== 'child'))
        .map((a) => a.id)
      if (exchanging.length > 0) {
        this.logger.warn({ accounts: exchanging, package: ROUTING_PACKAGE }, `route exchange (CCP) with ${exchanging.join(', ')} is not available: ` +
          `${ROUTING_PACKAGE} is not installed; forwarding uses static routes, children and the default route only`)
      }
      return undefined
    }
    return await manifest.create({}, this.routingApi())
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

  private async loadManifest (packageName: string, kind: 'store' | 'backend' | 'routing' | 'extension', label: string): Promise<unknown> {
    try {
      return extensionManifest(defaultExport(await this.import(packageName)), kind, packageName, this.referenceHost())
    } catch (err) {
      if (err instanceof LoadError) throw new LoadError(err.code, `${label}: ${err.message}`, { cause: err })
      throw err
    }
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
      metrics: this.metrics
    }
  }

  /** What backends, stores and middlewares written for ilp-connector get beyond conn's APIs (see compat/). */
  private referenceHost (): ReferenceHost {
    return {
      getAccounts: () => this.accounts.values(),
      getOwnAddress: () => this.ownAddress,
      middlewareNames: () => this.middlewares.map((m) => m.name),
      outgoingData: (ctx) => this.outgoingData(ctx)
    }
  }

  private composePipelines (): void {
    const handlersOf = <K extends 'incomingData' | 'outgoingData' | 'incomingMoney' | 'outgoingMoney'>(kind: K) =>
      this.middlewares.flatMap((m) => {
        const handler = m[kind]
        return handler === undefined ? [] : [{ name: m.name, handler: handler.bind(m) as NonNullable<Middleware[K]> }]
      })
    this.outgoingData = compose(handlersOf('outgoingData'), sendData)
    const packetSwitch = new PacketSwitch({
      settings: this.config,
      routingTable: this.routingTable,
      getAccount: (id) => this.accounts.get(id),
      getOwnAddress: () => this.ownAddress,
      backend: () => this.backend!,
      outgoingData: this.outgoingData,
      peerProtocols: this.peerProtocols,
      logger: this.logger.child({ component: 'switch' })
    })
    this.incomingData = compose(handlersOf('incomingData'), packetSwitch.forward)
    this.incomingMoney = compose(handlersOf('incomingMoney'), async () => {})
    this.outgoingMoney = compose(handlersOf('outgoingMoney'), sendMoney)
  }

  // ---- accounts -----------------------------------------------------------------------------------

  private addAccountObject (id: string, config: AccountConfig, plugin: Plugin, pluginName: string | undefined): ConnectorAccount {
    const account = new ConnectorAccount(id, config, plugin, pluginName)
    this.accounts.set(id, account)
    return account
  }

  /**
   * Creates the plugin of an account configured by package name, with its namespaced store. The reference's BTP
   * plugins run on conn's wire-compatible transport unless `legacyPlugins` keeps them. Refused plugin options
   * are configuration errors, named by their path.
   */
  private async constructAccount (id: string, config: AccountConfig): Promise<ConnectorAccount> {
    if (isPluginInstance(config.plugin)) return this.addAccountObject(id, config, config.plugin, undefined)
    const name = config.plugin as string
    const packageName = pluginPackageName(id, name, this.config.legacyPlugins)
    let PluginClass: PluginConstructor
    try {
      PluginClass = defaultExport(await this.import(packageName)) as PluginConstructor
    } catch (err) {
      const code = (err as LoadError).code ?? 'ERR_PACKAGE_LOAD'
      const message = packageName !== name && code === 'ERR_PACKAGE_NOT_FOUND'
        ? `"${name}" runs on conn's wire-compatible transport ${packageName}, which is not installed: npm i @conn/plugin-btp ` +
          `(or add "${id}" to legacyPlugins to run ${name} itself)`
        : (err as Error).message
      throw new LoadError(code, `accounts.${id}.plugin: ${message}`, { cause: err })
    }
    if (typeof PluginClass !== 'function') {
      throw new LoadError('ERR_PACKAGE_INVALID', `accounts.${id}.plugin: package "${packageName}" does not export a plugin class`)
    }
    checkPluginVersion(PluginClass, `accounts.${id}.plugin`, packageName)
    const store = new PrefixedStore(this.store, `plugin:${id}:`)
    const log = this.logger.child({ component: 'plugin', account: id })
    let plugin: Plugin
    try {
      plugin = new PluginClass({ _store: store, _log: log, ...(config.options ?? {}) }, { store, log })
    } catch (err) {
      if (isPluginOptionsError(err)) {
        throw new ConfigError(err.issues.map((issue) => ({ path: `accounts.${id}.options.${issue.option}`, message: issue.message })))
      }
      throw new LoadError('ERR_PACKAGE_LOAD', `accounts.${id}.plugin: "${packageName}" failed to construct: ${(err as Error).message}`, { cause: err })
    }
    plugin = await asLpi2(plugin, PluginClass, `accounts.${id}.plugin`, packageName, (pkg) => this.import(pkg))
    return this.addAccountObject(id, config, plugin, name)
  }

  /** One line saying which accounts run conn's transport in place of the package their config names, and which do not. */
  private logTransports (): void {
    const substituted: string[] = []
    const legacy: string[] = []
    for (const [id, account] of Object.entries(this.config.accounts)) {
      if (typeof account.plugin !== 'string' || PLUGIN_SUBSTITUTES[account.plugin] === undefined) continue
      if (pluginPackageName(id, account.plugin, this.config.legacyPlugins) === account.plugin) legacy.push(id)
      else substituted.push(id)
    }
    if (substituted.length > 0) {
      this.logger.info({ accounts: substituted, transport: '@conn/plugin-btp' },
        `accounts ${substituted.join(', ')} name ilp-plugin-btp or ilp-plugin-mini-accounts and run conn's wire-compatible BTP transport ` +
        '(@conn/plugin-btp); list them in legacyPlugins to run the named package instead')
    }
    if (legacy.length > 0) {
      this.logger.warn({ accounts: legacy },
        `accounts ${legacy.join(', ')} run the legacy BTP plugin package they name (legacyPlugins): ` +
        'there any socket that reaches the port, authenticated or not, can take the account offline')
    }
  }

  /** Gives middlewares the account, then registers its handlers and connection listeners. */
  private async attach (account: ConnectorAccount): Promise<void> {
    for (const middleware of this.middlewares) await middleware.addAccount?.(account)
    const { plugin, id } = account
    plugin.registerDataHandler((data) => this.handleData(account, data))
    plugin.registerMoneyHandler((amount) => this.handleMoney(account, amount))
    const onConnect = (): void => { this.logger.info({ account: id }, 'account connected'); this.emit('account-connect', id) }
    const onDisconnect = (): void => { this.logger.info({ account: id }, 'account disconnected'); this.emit('account-disconnect', id) }
    plugin.on('connect', onConnect)
    plugin.on('disconnect', onDisconnect)
    account.listeners.push(['connect', onConnect], ['disconnect', onDisconnect])
    this.emit('account-added', id)
  }

  private async detach (account: ConnectorAccount): Promise<void> {
    const { plugin } = account
    try { plugin.deregisterDataHandler() } catch {}
    try { plugin.deregisterMoneyHandler() } catch {}
    for (const [event, listener] of account.listeners.splice(0)) plugin.removeListener(event, listener)
    for (const middleware of this.middlewares) {
      await Promise.resolve(middleware.removeAccount?.(account))
        .catch((err: Error) => this.logger.warn({ err, account: account.id, middleware: middleware.name }, 'middleware failed to remove an account'))
    }
  }

  /** A Prepare from an account: parsed once (malformed -> F01, never forwarded), then the incoming pipeline. */
  private handleData (account: ConnectorAccount, data: Buffer): Promise<Buffer> {
    let prepare
    try {
      prepare = parsePrepare(data)
    } catch (err) {
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ account: account.id, reason: (err as Error).message }, 'malformed packet rejected')
      return Promise.resolve(serializeReject({ code: 'F01', triggeredBy: this.ownAddress, message: (err as Error).message, data: Buffer.alloc(0) }))
    }
    // not async: the composed pipeline already returns a promise and never throws
    return this.incomingData({ account, prepare, incoming: undefined })
  }

  private async handleMoney (account: ConnectorAccount, amount: string): Promise<void> {
    if (!/^[0-9]{1,20}$/.test(amount)) throw new Error(`invalid amount from plugin. account=${account.id} amount=${amount}`)
    await this.incomingMoney({ account, amount: BigInt(amount) })
  }

  // ---- address and routes -------------------------------------------------------------------------

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
    this.setOwnAddress(response.clientAddress)
    this.logger.info({ address: this.ownAddress, account: parent.id }, 'learned our address from parent')
  }

  private setOwnAddress (address: string): void {
    this.ownAddress = address
    this.emit('address-changed', address)
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
    this.routingTable.recomputeAll()
  }

  /** Connects every plugin; after `initialConnectTimeout` start-up goes on while the slow ones keep trying. */
  private async connectAll (): Promise<void> {
    const timeout = this.config.initialConnectTimeout
    const pending = [...this.accounts.values()].filter((a) => !a.isConnected())
    if (pending.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const connects = Promise.all(pending.map(async (account) => {
      try {
        await account.plugin.connect({ timeout })
      } catch (err) {
        throw new OperatorError('ERR_CONNECT', `account ${account.id} failed to connect: ${(err as Error).message}`, { cause: err })
      }
    }))
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeout) })
    try {
      if (await Promise.race([connects, timedOut]) === 'timeout') {
        connects.catch((err: Error) => this.logger.warn({ err }, 'an account failed to connect after start-up'))
        const waiting = pending.filter((a) => !a.isConnected()).map((a) => a.id)
        this.logger.warn({ accounts: waiting }, 'one or more accounts failed to connect within the time limit, continuing anyway.')
      }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Options that are set but have no effect in this configuration, so nothing is ignored silently. */
function configWarnings (config: ConnectorConfig): string[] {
  const warnings: string[] = []
  if (!config.adminApi && config.adminApiToken !== '') warnings.push('adminApiToken is set, but adminApi is off; no HTTP server is started')
  return warnings
}

/**
 * Terminal of the outgoing data pipeline: the next hop's plugin. Chained with `then`, not an async function
 * (one frame less per packet; what it throws, the composed pipeline turns into a rejection); a plugin that
 * throws, or answers with something other than a promise, is handled as `await` would.
 */
function sendData (ctx: PacketContext): Promise<Buffer> {
  const packet = serializePrepare(ctx.prepare)
  let sent: Promise<Buffer>
  try {
    sent = ctx.account.plugin.sendData(packet)
  } catch (err) {
    throw sendFailed(err)
  }
  if (!(sent instanceof Promise)) sent = Promise.resolve(sent)
  return sent.then((reply) => {
    if (!isWellFormedReply(reply)) {
      throw new UnreachableError('failed to send packet: next hop answered with an invalid reply. account=' + ctx.account.id)
    }
    return reply
  }, (err: unknown) => { throw sendFailed(err) })
}

function sendFailed (err: unknown): UnreachableError {
  return new UnreachableError('failed to send packet: ' + (err as Error).message)
}

/** Terminal of the outgoing money pipeline. */
async function sendMoney (ctx: MoneyContext): Promise<void> {
  await ctx.account.plugin.sendMoney(ctx.amount.toString())
}

async function notStarted (): Promise<never> {
  throw new Error('connector not started')
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
