/**
 * The connector's accounts: their plugins created (by package name, or given as instances), wired to the
 * packet path and the middlewares, connected at start-up, and taken apart again.
 */
import {
  OperatorError, isPluginOptionsError,
  type AccountConfig, type Logger, type Middleware, type Plugin, type PluginConstructor, type Store
} from '@conn/types'
import { ConnectorAccount } from './account.ts'
import { asLpi2, checkPluginVersion } from './compat/lpi1.ts'
import { ConfigError, isPluginInstance } from './config.ts'
import { defaultExport, LoadError } from './loader.ts'
import { pluginPackageName, PLUGIN_SUBSTITUTES } from './names.ts'
import type { PacketSwitch } from './switch.ts'
import { PrefixedStore } from './stores/memory.ts'

export type AccountEvent = 'account-connect' | 'account-disconnect' | 'account-added'

export interface AccountsDeps {
  logger: Logger
  legacyPlugins: readonly string[]
  /** Imports a package by name (as the connector resolves names). */
  import: (packageName: string) => Promise<Record<string, unknown>>
  emit: (event: AccountEvent, accountId: string) => void
}

export class Accounts {
  private readonly byId = new Map<string, ConnectorAccount>()
  /** Accounts configured with a package name, whose plugins are created at start-up. */
  private readonly pending = new Map<string, AccountConfig>()

  constructor (private readonly deps: AccountsDeps) {}

  get (id: string): ConnectorAccount | undefined { return this.byId.get(id) }

  has (id: string): boolean { return this.byId.has(id) || this.pending.has(id) }

  values (): IterableIterator<ConnectorAccount> { return this.byId.values() }

  ids (): string[] { return [...this.byId.keys()] }

  /** Registers an account: one with a plugin instance at once, one naming a package until `createPending`. */
  add (id: string, config: AccountConfig): void {
    if (isPluginInstance(config.plugin)) this.byId.set(id, new ConnectorAccount(id, config, config.plugin, undefined))
    else this.pending.set(id, config)
  }

  delete (id: string): void {
    this.pending.delete(id)
    this.byId.delete(id)
  }

  /** Creates the plugins of the accounts that name a package (nothing connects yet). */
  async createPending (store: Store): Promise<void> {
    this.logTransports()
    for (const [id, config] of this.pending) {
      this.pending.delete(id)
      await this.create(id, config, store)
    }
  }

  /**
   * Creates the plugin of an account configured by package name, with its namespaced store. The reference's BTP
   * plugins run on conn's wire-compatible transport unless `legacyPlugins` keeps them; LPI1 plugins run through
   * ilp-compat-plugin. Refused plugin options are configuration errors, named by their path.
   */
  async create (id: string, config: AccountConfig, store: Store): Promise<ConnectorAccount> {
    if (isPluginInstance(config.plugin)) {
      const account = new ConnectorAccount(id, config, config.plugin, undefined)
      this.byId.set(id, account)
      return account
    }
    const name = config.plugin
    const packageName = pluginPackageName(id, name, this.deps.legacyPlugins)
    const label = `accounts.${id}.plugin`
    let PluginClass: PluginConstructor
    try {
      PluginClass = defaultExport(await this.deps.import(packageName)) as PluginConstructor
    } catch (err) {
      const code = (err as LoadError).code ?? 'ERR_PACKAGE_LOAD'
      const message = packageName !== name && code === 'ERR_PACKAGE_NOT_FOUND'
        ? `"${name}" runs on conn's wire-compatible transport ${packageName}, which is not installed: npm i @conn/plugin-btp ` +
          `(or add "${id}" to legacyPlugins to run ${name} itself)`
        : (err as Error).message
      throw new LoadError(code, `${label}: ${message}`, { cause: err })
    }
    if (typeof PluginClass !== 'function') {
      throw new LoadError('ERR_PACKAGE_INVALID', `${label}: package "${packageName}" does not export a plugin class`)
    }
    checkPluginVersion(PluginClass, label, packageName)
    const pluginStore = new PrefixedStore(store, `plugin:${id}:`)
    const log = this.deps.logger.child({ component: 'plugin', account: id })
    let plugin: Plugin
    try {
      plugin = new PluginClass({ _store: pluginStore, _log: log, ...(config.options ?? {}) }, { store: pluginStore, log })
    } catch (err) {
      if (isPluginOptionsError(err)) {
        throw new ConfigError(err.issues.map((issue) => ({ path: `accounts.${id}.options.${issue.option}`, message: issue.message })))
      }
      throw new LoadError('ERR_PACKAGE_LOAD', `${label}: "${packageName}" failed to construct: ${(err as Error).message}`, { cause: err })
    }
    plugin = await asLpi2(plugin, PluginClass, label, packageName, this.deps.import)
    const account = new ConnectorAccount(id, config, plugin, name)
    this.byId.set(id, account)
    return account
  }

  /** Gives the middlewares the account, then registers its handlers and connection listeners. */
  async attach (account: ConnectorAccount, middlewares: readonly Middleware[], packetPath: PacketSwitch): Promise<void> {
    for (const middleware of middlewares) await middleware.addAccount?.(account)
    const { plugin, id } = account
    const { logger, emit } = this.deps
    plugin.registerDataHandler((data) => packetPath.handleData(account, data))
    plugin.registerMoneyHandler((amount) => packetPath.handleMoney(account, amount))
    const onConnect = (): void => { logger.info({ account: id }, 'account connected'); emit('account-connect', id) }
    const onDisconnect = (): void => { logger.info({ account: id }, 'account disconnected'); emit('account-disconnect', id) }
    plugin.on('connect', onConnect)
    plugin.on('disconnect', onDisconnect)
    account.listeners.push(['connect', onConnect], ['disconnect', onDisconnect])
    emit('account-added', id)
  }

  /** Handlers and listeners off, middleware state dropped; the plugin stays as it is. */
  async detach (account: ConnectorAccount, middlewares: readonly Middleware[]): Promise<void> {
    const { plugin } = account
    try { plugin.deregisterDataHandler() } catch {}
    try { plugin.deregisterMoneyHandler() } catch {}
    for (const [event, listener] of account.listeners.splice(0)) plugin.removeListener(event, listener)
    for (const middleware of middlewares) {
      await Promise.resolve(middleware.removeAccount?.(account))
        .catch((err: Error) => this.deps.logger.warn({ err, account: account.id, middleware: middleware.name }, 'middleware failed to remove an account'))
    }
  }

  /** Connects every plugin; after `timeout` start-up goes on while the slow ones keep trying. */
  async connectAll (timeout: number): Promise<void> {
    const pending = [...this.byId.values()].filter((a) => !a.isConnected())
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
        connects.catch((err: Error) => this.deps.logger.warn({ err }, 'an account failed to connect after start-up'))
        const waiting = pending.filter((a) => !a.isConnected()).map((a) => a.id)
        this.deps.logger.warn({ accounts: waiting }, 'one or more accounts failed to connect within the time limit, continuing anyway.')
      }
    } finally {
      clearTimeout(timer)
    }
  }

  /** One line saying which accounts run conn's transport in place of the package their config names, and which do not. */
  private logTransports (): void {
    const substituted: string[] = []
    const legacy: string[] = []
    for (const [id, account] of this.pending) {
      if (typeof account.plugin !== 'string' || PLUGIN_SUBSTITUTES[account.plugin] === undefined) continue
      if (pluginPackageName(id, account.plugin, this.deps.legacyPlugins) === account.plugin) legacy.push(id)
      else substituted.push(id)
    }
    const { logger } = this.deps
    if (substituted.length > 0) {
      logger.info({ accounts: substituted, transport: '@conn/plugin-btp' },
        `accounts ${substituted.join(', ')} name ilp-plugin-btp or ilp-plugin-mini-accounts and run conn's wire-compatible BTP transport ` +
        '(@conn/plugin-btp); list them in legacyPlugins to run the named package instead')
    }
    if (legacy.length > 0) {
      logger.warn({ accounts: legacy },
        `accounts ${legacy.join(', ')} run the legacy BTP plugin package they name (legacyPlugins): ` +
        'there any socket that reaches the port, authenticated or not, can take the account offline')
    }
  }
}
