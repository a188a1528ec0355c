/**
 * Which middlewares run, in which order, from which packages, and whether the accounts' options fit them. The
 * standard ones keep the reference connector's order; custom ones go after them, or before/after a named one.
 * Each package declares the options it reads in its manifest; core checks them against those declarations and
 * knows none of them itself.
 */
import type { AccountConfig, ConnectorConfig, Middleware, MiddlewareApi, MiddlewareManifest, ServiceName } from '@conn/types'
import { Checker, type ConfigIssue } from './checker.ts'
import { defaultExport, LoadError } from './loader.ts'
import { extensionManifest } from './compat/detect.ts'
import type { ReferenceHost } from './compat/host.ts'
import { CORE_ACCOUNT_OPTIONS, ConfigError } from './config.ts'
import { STANDARD_MIDDLEWARES, type StandardMiddleware } from './standard.ts'

export type ModuleImporter = (packageName: string) => Promise<Record<string, unknown>>

export interface LoadedMiddlewares {
  /** In pipeline order, outermost first. */
  middlewares: Middleware[]
  /** The manifest each middleware was made from, by its name. */
  manifests: Map<string, MiddlewareManifest>
  /** Standard middlewares that do not run: left out by `disableMiddleware`, or their package not installed. */
  absent: Array<{ standard: StandardMiddleware, why: 'disabled' | 'not installed' }>
}

async function loadManifest (importer: ModuleImporter, packageName: string, label: string, host: ReferenceHost): Promise<MiddlewareManifest> {
  let mod: Record<string, unknown>
  try {
    mod = await importer(packageName)
  } catch (err) {
    throw new LoadError((err as LoadError).code ?? 'ERR_PACKAGE_LOAD', `middleware ${label}: ${(err as Error).message}`, { cause: err })
  }
  try {
    return extensionManifest(defaultExport(mod), 'middleware', packageName, host, label) as MiddlewareManifest
  } catch (err) {
    throw new LoadError((err as LoadError).code ?? 'ERR_PACKAGE_INVALID', `middleware ${label}: ${(err as Error).message}`)
  }
}

/** Places `name` before or after `anchor` in `list` (mutates), as the reference's insertBefore/insertAfter. */
function place (list: Array<{ name: string }>, item: { name: string }, where: { before?: string, after?: string }): void {
  const anchor = where.before ?? where.after
  if (anchor === undefined) { list.push(item); return }
  const index = list.findIndex((m) => m.name === anchor)
  if (index < 0) {
    throw new LoadError('ERR_PACKAGE_INVALID',
      `could not insert ${where.before !== undefined ? 'before' : 'after'} middleware; not found. name=${anchor} (placing ${item.name})`)
  }
  list.splice(where.before !== undefined ? index : index + 1, 0, item)
}

/**
 * Loads and creates the middlewares for a configuration: the standard ones not disabled, then the custom ones.
 * A standard one whose package is not installed is skipped (reported in `absent`) unless it is required; a
 * custom one that cannot be found, is neither a middleware manifest nor an ilp-connector middleware class, has
 * options its manifest refuses, or fails to create is an error naming it. `host` gives ilp-connector
 * middlewares what their api has beyond conn's.
 */
export async function loadMiddlewares (
  config: ConnectorConfig,
  importer: ModuleImporter,
  api: MiddlewareApi,
  host: ReferenceHost
): Promise<LoadedMiddlewares> {
  const disabled = new Set<string>(config.disableMiddleware)
  const middlewares: Middleware[] = []
  const manifests = new Map<string, MiddlewareManifest>()
  const absent: LoadedMiddlewares['absent'] = []
  for (const standard of STANDARD_MIDDLEWARES) {
    if (disabled.has(standard.name)) {
      absent.push({ standard, why: 'disabled' })
      continue
    }
    let manifest: MiddlewareManifest
    try {
      manifest = await loadManifest(importer, standard.package, standard.name, host)
    } catch (err) {
      if ((err as LoadError).code !== 'ERR_PACKAGE_NOT_FOUND') throw err
      if (standard.requiredFor !== undefined) {
        throw new LoadError('ERR_PACKAGE_NOT_FOUND', `middleware ${standard.name}: package "${standard.package}" is not installed, and conn does not ` +
          `run without it (${standard.requiredFor}): install it (npm i ${standard.package}), or list "${standard.name}" in disableMiddleware ` +
          'to run without it on purpose', { cause: err })
      }
      absent.push({ standard, why: 'not installed' })
      continue
    }
    middlewares.push(await create(manifest, standard.name, {}, api))
    manifests.set(standard.name, manifest)
  }
  for (const [name, entry] of Object.entries(config.middlewares)) {
    const manifest = await loadManifest(importer, entry.type, name, host)
    if (manifest.options !== undefined) {
      const c = new Checker()
      c.schema(`middlewares.${name}.options`, entry.options ?? {}, manifest.options)
      if (c.issues.length > 0) throw new ConfigError(c.issues)
    }
    const middleware = await create(manifest, name, entry.options ?? {}, api)
    manifests.set(name, manifest)
    place(middlewares, middleware, {
      before: entry.before ?? (entry.after === undefined ? manifest.before : undefined),
      after: entry.after ?? (entry.before === undefined ? manifest.after : undefined)
    })
  }
  return { middlewares, manifests, absent }
}

async function create (manifest: MiddlewareManifest, name: string, options: Record<string, unknown>, api: MiddlewareApi): Promise<Middleware> {
  let middleware: Middleware
  try {
    middleware = await manifest.create(options, api)
  } catch (err) {
    throw new LoadError('ERR_PACKAGE_LOAD', `middleware ${name} failed to start: ${(err as Error).message}`, { cause: err })
  }
  for (const service of manifest.provides ?? []) {
    if (typeof middleware.services?.[service] !== 'object') {
      throw new LoadError('ERR_PACKAGE_INVALID', `middleware ${name}: its manifest says it provides ${service}, but the middleware it creates has no services.${service}`)
    }
  }
  // Custom middlewares are known by their configured name, whatever they call themselves.
  if (middleware.name === name) return middleware
  return Object.defineProperty(Object.create(middleware) as Middleware, 'name', { value: name, enumerable: true })
}

/** The middleware that provides each service, checked to be one at most. */
export function serviceProviders (loaded: Pick<LoadedMiddlewares, 'middlewares' | 'manifests'>): Map<ServiceName, Middleware> {
  const providers = new Map<ServiceName, Middleware>()
  for (const middleware of loaded.middlewares) {
    for (const service of loaded.manifests.get(middleware.name)?.provides ?? []) {
      const other = providers.get(service)
      if (other !== undefined) {
        throw new LoadError('ERR_PACKAGE_INVALID', `middlewares ${other.name} and ${middleware.name} both provide ${service}; disable one of them`)
      }
      providers.set(service, middleware)
    }
  }
  return providers
}

/**
 * The manifests of the middlewares a configuration names, imported but not created, to check account options
 * before anything starts (the cli lists these problems with all others). A package that cannot be loaded is
 * left out here: start-up reports it.
 */
export async function middlewareManifests (config: Pick<ConnectorConfig, 'disableMiddleware' | 'middlewares'>, importer: ModuleImporter, host: ReferenceHost): Promise<LoadedMiddlewares> {
  const disabled = new Set<string>(Array.isArray(config.disableMiddleware) ? config.disableMiddleware : [])
  const manifests = new Map<string, MiddlewareManifest>()
  const absent: LoadedMiddlewares['absent'] = []
  for (const standard of STANDARD_MIDDLEWARES) {
    if (disabled.has(standard.name)) { absent.push({ standard, why: 'disabled' }); continue }
    try {
      manifests.set(standard.name, await loadManifest(importer, standard.package, standard.name, host))
    } catch (err) {
      if ((err as LoadError).code === 'ERR_PACKAGE_NOT_FOUND') absent.push({ standard, why: 'not installed' })
    }
  }
  const custom = config.middlewares !== null && typeof config.middlewares === 'object' ? config.middlewares : {}
  for (const [name, entry] of Object.entries(custom)) {
    if (typeof entry?.type !== 'string') continue
    try {
      manifests.set(name, await loadManifest(importer, entry.type, name, host))
    } catch {}
  }
  return { middlewares: [], manifests, absent }
}

export interface AccountOptionsCheck {
  /** Options that do not fit the schema their middleware declares, or that no middleware declares. */
  issues: ConfigIssue[]
  /** Options (and defaults) of standard middlewares that do not run, so nothing enforces them. */
  unenforced: Array<{ middleware: string, package: string, why: 'disabled' | 'not installed', options: string[] }>
}

/**
 * Checks the accounts' middleware options (every key but core's own) against the schemas the running
 * middlewares declare. A key no running middleware declares is an error naming it, unless it belongs to a
 * standard middleware that does not run: then it is reported as not enforced.
 */
export function checkAccountOptions (accounts: Readonly<Record<string, AccountConfig>>, loaded: LoadedMiddlewares): AccountOptionsCheck {
  const c = new Checker()
  const declared = new Map<string, Array<{ middleware: string, schema: NonNullable<MiddlewareManifest['accountOptions']>[string] }>>()
  for (const [middleware, manifest] of loaded.manifests) {
    for (const [option, schema] of Object.entries(manifest.accountOptions ?? {})) {
      declared.set(option, [...(declared.get(option) ?? []), { middleware, schema }])
    }
  }
  const absentByOption = new Map<string, LoadedMiddlewares['absent'][number]>()
  for (const absent of loaded.absent) for (const option of absent.standard.accountOptions ?? []) absentByOption.set(option, absent)
  const unenforced = new Map<string, AccountOptionsCheck['unenforced'][number]>()
  const unenforcedOf = ({ standard, why }: LoadedMiddlewares['absent'][number]): AccountOptionsCheck['unenforced'][number] => {
    let entry = unenforced.get(standard.name)
    if (entry === undefined) unenforced.set(standard.name, entry = { middleware: standard.name, package: standard.package, why, options: [] })
    return entry
  }
  for (const [id, account] of Object.entries(accounts)) {
    // an account that is not an object is core's to report
    if (account === null || typeof account !== 'object' || Array.isArray(account)) continue
    for (const [option, value] of Object.entries(account)) {
      if (value === undefined || CORE_ACCOUNT_OPTIONS.includes(option)) continue
      const path = `accounts.${id}.${option}`
      const schemas = declared.get(option)
      if (schemas !== undefined) {
        for (const { schema } of schemas) c.schema(path, value, schema)
        continue
      }
      const absent = absentByOption.get(option)
      if (absent !== undefined) unenforcedOf(absent).options.push(path)
      else c.fail(path, 'unknown option (no middleware that runs declares it)')
    }
  }
  if (Object.keys(accounts).length > 0) {
    for (const absent of loaded.absent) {
      if (absent.why === 'not installed' && absent.standard.accountDefault !== undefined) unenforcedOf(absent).options.push(absent.standard.accountDefault)
    }
  }
  return { issues: c.issues, unenforced: [...unenforced.values()].filter((entry) => entry.options.length > 0) }
}
