/**
 * A conn package default-exports a manifest: what it is, which `@conn/types` it was built against and
 * how to create it. The cli loads packages by name and checks the manifest before using it.
 */
import { createRequire } from 'node:module'
import type { Backend, BackendApi, BackendOptions } from './backend.ts'
import type { Middleware, MiddlewareApi } from './middleware.ts'
import type { Store, StoreOptions } from './store.ts'
import type { Logger } from './logger.ts'
import type { Routing, RoutingApi } from './routing.ts'
import type { ConnectorHandle, Extension } from './extension.ts'
import type { OptionSchema } from './options.ts'
import type { ServiceName } from './services.ts'

/**
 * The version of this interfaces package, read from its package.json (which changesets keeps): the one source.
 * Manifests name a semver range that must include it.
 */
export const TYPES_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version

/**
 * The range conn's own manifests state: the @conn/types they were installed with and compatible later ones. A
 * package that gets its own copy of @conn/types (another major) states that copy's version, so the connector
 * still refuses it.
 */
export const TYPES_RANGE = '^' + TYPES_VERSION

interface ManifestBase {
  readonly name: string
  /** Semver range of `@conn/types` versions the package works with, e.g. `^0.1.0`. */
  readonly types: string
}

export interface MiddlewareManifest<Options = Record<string, unknown>> extends ManifestBase {
  readonly kind: 'middleware'
  create (options: Options, api: MiddlewareApi): Middleware | Promise<Middleware>
  /**
   * The per-account options it reads (`accounts.<id>.<option>`), each with its schema. The connector checks
   * them at start, and refuses an account option no middleware declares.
   */
  readonly accountOptions?: Readonly<Record<string, OptionSchema>>
  /** The schema of its own options (`middlewares.<name>.options`, checked at start); none: not checked. */
  readonly options?: OptionSchema
  /** The services its instance offers on `services` (checked at start). */
  readonly provides?: readonly ServiceName[]
  /** Services it uses (with `api.getService`) when a middleware provides them. */
  readonly uses?: readonly ServiceName[]
  /** Where a custom middleware goes by default: before or after a named one (default: last). */
  readonly before?: string
  readonly after?: string
}

export interface BackendManifest extends ManifestBase {
  readonly kind: 'backend'
  create (options: BackendOptions, api: BackendApi): Backend | Promise<Backend>
  /** The schema of `backendConfig` (checked at start); none: anything goes. */
  readonly options?: OptionSchema
}

export interface StoreManifest extends ManifestBase {
  readonly kind: 'store'
  create (options: StoreOptions, api: { logger: Logger }): Store | Promise<Store>
  /** The schema of `storeConfig` (checked at start); none: anything goes. */
  readonly options?: OptionSchema
}

export interface RoutingManifest extends ManifestBase {
  readonly kind: 'routing'
  create (options: Record<string, unknown>, api: RoutingApi): Routing | Promise<Routing>
}

export interface ExtensionManifest extends ManifestBase {
  readonly kind: 'extension'
  create (options: Record<string, unknown>, connector: ConnectorHandle): Extension | Promise<Extension>
  /** Services it cannot work without: start-up fails when no middleware provides one. */
  readonly requires?: readonly ServiceName[]
  /** Services it uses when a middleware provides them. */
  readonly uses?: readonly ServiceName[]
}

export type Manifest = MiddlewareManifest<any> | BackendManifest | StoreManifest | RoutingManifest | ExtensionManifest
export type ManifestKind = Manifest['kind']
