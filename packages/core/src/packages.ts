/**
 * What the connector loads by package name besides plugins: the store, the backend, the middlewares, route
 * exchange and extensions (the admin API). Each is checked against its manifest (or, written for ilp-connector,
 * adapted) and created; nothing connects or listens here.
 */
import type {
  Backend, BackendApi, BackendManifest, ConnectorConfig, ExtensionManifest, Logger, ManifestKind, MiddlewareApi, OptionSchema,
  Routing, RoutingApi, RoutingManifest, Store, StoreManifest
} from '@conn/types'
import { Checker } from './checker.ts'
import { extensionManifest } from './compat/detect.ts'
import { ConfigError } from './config.ts'
import type { ReferenceHost } from './compat/host.ts'
import { defaultExport, importByName, LoadError } from './loader.ts'
import { loadMiddlewares, type LoadedMiddlewares } from './middlewares.ts'
import { backendName, backendPackageName, storePackageName } from './names.ts'
import { MemoryStore } from './stores/memory.ts'
import { OneToOneBackend } from './backends/one-to-one.ts'

/** The route-exchange package loaded when `routeBroadcastEnabled` is true. */
export const ROUTING_PACKAGE = '@conn/routing-ccp'

export interface PackagesOptions {
  config: ConnectorConfig
  logger: Logger
  /** Directories (or file: URLs) package names resolve from, in order. */
  resolveFrom: readonly string[]
  /** Modules already imported, by package name. */
  modules: Readonly<Record<string, unknown>>
  /** What extensions written for ilp-connector get beyond conn's APIs. */
  host: ReferenceHost
}

export class Packages {
  constructor (private readonly options: PackagesOptions) {}

  /** A package's module: one given in `modules`, else imported by name. */
  readonly import = async (packageName: string): Promise<Record<string, unknown>> => {
    const preloaded = this.options.modules[packageName]
    if (preloaded !== undefined) return preloaded as Record<string, unknown>
    return await importByName(packageName, this.options.resolveFrom)
  }

  /** `store` and `storePath`: the memory store, or the package a name stands for. */
  async store (): Promise<Store> {
    const { config, logger } = this.options
    const name = config.store
    const packageName = storePackageName(name)
    if (packageName === undefined) {
      logger.info({ store: name || 'memory' }, 'using the memory store; balances and plugin state will not survive a restart')
      return new MemoryStore()
    }
    const manifest = await this.manifest(packageName, 'store', `store "${name}"`) as StoreManifest
    checkOptions('storeConfig', config.storeConfig, manifest.options)
    const path = config.storePath
    logger.info({ store: name, package: packageName, path: path || undefined },
      `using the ${name} store (${packageName})${path !== '' ? ' at ' + path : ''}`)
    return await manifest.create({ path: path || undefined, ...config.storeConfig }, { logger: logger.child({ component: 'store' }) })
  }

  /**
   * `backend` (chosen from the accounts' assets when unset) with `spread` and `backendConfig`; not yet connected.
   * `config` replaces the start-up configuration (a reload).
   */
  async backend (getInfo: BackendApi['getInfo'], config = this.options.config): Promise<Backend> {
    const { logger } = this.options
    const name = backendName(config)
    if (config.backend === '') {
      logger.info({ backend: name }, name === 'one-to-one'
        ? 'backend not set; every account has the same asset, using one-to-one'
        : 'backend not set; accounts have different assets, using ecb')
    }
    const options = { spread: config.spread, ...config.backendConfig }
    const api = { getInfo, logger: logger.child({ component: 'backend' }) }
    const packageName = backendPackageName(name)
    if (packageName === undefined) return new OneToOneBackend(options, api)
    const manifest = await this.manifest(packageName, 'backend', `backend "${name}"`) as BackendManifest
    checkOptions('backendConfig', config.backendConfig, manifest.options)
    return await manifest.create({ ...options, name }, api)
  }

  /** The standard middlewares not disabled, then the custom ones, created; missing optional ones reported. */
  async middlewares (api: MiddlewareApi): Promise<LoadedMiddlewares> {
    return await loadMiddlewares(this.options.config, this.import, api, this.options.host)
  }

  /**
   * Route exchange (CCP) when `routeBroadcastEnabled`: @conn/routing-ccp if installed. Without it the
   * connector still forwards on static routes, its children and the default route; the accounts that would
   * exchange routes (`exchanging`) get a warning.
   */
  async routing (api: RoutingApi, exchanging: () => string[]): Promise<Routing | undefined> {
    const { config, logger } = this.options
    if (!config.routeBroadcastEnabled) return undefined
    let manifest: RoutingManifest
    try {
      manifest = await this.manifest(ROUTING_PACKAGE, 'routing', 'route exchange') as RoutingManifest
    } catch (err) {
      if ((err as LoadError).code !== 'ERR_PACKAGE_NOT_FOUND') throw err
      const accounts = exchanging()
      if (accounts.length > 0) {
        logger.warn({ accounts, package: ROUTING_PACKAGE }, `route exchange (CCP) with ${accounts.join(', ')} is not available: ` +
          `${ROUTING_PACKAGE} is not installed; forwarding uses static routes, children and the default route only`)
      }
      return undefined
    }
    return await manifest.create({}, api)
  }

  /** An extension package (the admin API), checked and created, not started. */
  async extension (packageName: string, label: string): Promise<ExtensionManifest> {
    return await this.manifest(packageName, 'extension', label) as ExtensionManifest
  }

  private async manifest (packageName: string, kind: ManifestKind, label: string): Promise<unknown> {
    try {
      return extensionManifest(defaultExport(await this.import(packageName)), kind, packageName, this.options.host)
    } catch (err) {
      if (err instanceof LoadError) throw new LoadError(err.code, `${label}: ${err.message}`, { cause: err })
      throw err
    }
  }
}

/** Checks a package's options against the schema its manifest declares (none: not checked); throws ConfigError. */
function checkOptions (path: string, value: unknown, schema: OptionSchema | undefined): void {
  if (schema === undefined) return
  const c = new Checker()
  c.schema(path, value, schema)
  if (c.issues.length > 0) throw new ConfigError(c.issues)
}
