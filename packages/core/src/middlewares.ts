/**
 * Which middlewares run, in which order, from which packages. The built-ins keep the reference
 * connector's order; custom ones go after them, or before/after a named one.
 */
import type { AccountConfig, BuiltinMiddlewareName, ConnectorConfig, Middleware, MiddlewareApi, MiddlewareManifest } from '@conn/types'
import { defaultExport, LoadError } from './loader.ts'
import { extensionManifest } from './compat/detect.ts'
import type { ReferenceHost } from './compat/host.ts'

export interface BuiltinMiddleware {
  name: BuiltinMiddlewareName
  package: string
  /** The account option this middleware enforces, if any (for the "not installed" warning). */
  accountOption?: keyof AccountConfig
  /** What it enforces on every account even when that option is unset (for the "not installed" warning). */
  accountDefault?: string
  /**
   * Why the connector must not run without it: without its package, start-up fails naming the package, unless
   * the operator leaves it out on purpose with `disableMiddleware`.
   */
  requiredFor?: string
}

/** The built-in middlewares in pipeline order (outermost first), and the package each lives in. */
export const BUILTIN_MIDDLEWARES: readonly BuiltinMiddleware[] = [
  { name: 'errorHandler', package: '@conn/middleware-error-handler', requiredFor: 'it turns errors on the packet path into ILP rejects' },
  {
    name: 'rateLimit',
    package: '@conn/middleware-rate-limit',
    accountOption: 'rateLimit',
    accountDefault: 'the default rate limit (10000 packets per second per account)'
  },
  { name: 'maxPacketAmount', package: '@conn/middleware-max-packet-amount', accountOption: 'maxPacketAmount' },
  { name: 'throughput', package: '@conn/middleware-throughput', accountOption: 'throughput' },
  { name: 'balance', package: '@conn/middleware-balance', accountOption: 'balance' },
  { name: 'deduplicate', package: '@conn/middleware-deduplicate', accountOption: 'deduplicate' },
  { name: 'echo', package: '@conn/middleware-echo' },
  { name: 'expire', package: '@conn/middleware-expire', requiredFor: 'it rejects packets the next hop does not answer before they expire' },
  {
    name: 'validateFulfillment',
    package: '@conn/middleware-validate-fulfillment',
    requiredFor: 'it stops a wrong fulfillment from going back upstream as a Fulfill'
  },
  { name: 'stats', package: '@conn/middleware-stats' },
  { name: 'alert', package: '@conn/middleware-alert' }
]

export type ModuleImporter = (packageName: string) => Promise<Record<string, unknown>>

export interface LoadedMiddlewares {
  middlewares: Middleware[]
  /** Built-ins whose package is not installed, with the account options that are therefore not enforced. */
  missing: Array<{ name: BuiltinMiddlewareName, package: string, unenforced: string[] }>
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
 * Loads and creates the middlewares for a configuration: the enabled built-ins, then the custom ones.
 * A built-in whose package is not installed is skipped (reported in `missing`); a custom one that cannot
 * be found, is neither a middleware manifest nor an ilp-connector middleware class, or fails to create is an
 * error naming it. `host` gives ilp-connector middlewares what their api has beyond conn's.
 */
export async function loadMiddlewares (
  config: ConnectorConfig,
  importer: ModuleImporter,
  api: MiddlewareApi,
  host: ReferenceHost
): Promise<LoadedMiddlewares> {
  const disabled = new Set<string>(config.disableMiddleware)
  const middlewares: Middleware[] = []
  const missing: LoadedMiddlewares['missing'] = []
  for (const builtin of BUILTIN_MIDDLEWARES) {
    if (disabled.has(builtin.name)) continue
    let manifest: MiddlewareManifest
    try {
      manifest = await loadManifest(importer, builtin.package, builtin.name, host)
    } catch (err) {
      if ((err as LoadError).code !== 'ERR_PACKAGE_NOT_FOUND') throw err
      if (builtin.requiredFor !== undefined) {
        throw new LoadError('ERR_PACKAGE_NOT_FOUND', `middleware ${builtin.name}: package "${builtin.package}" is not installed, and conn does not ` +
          `run without it (${builtin.requiredFor}): install it (npm i ${builtin.package}), or list "${builtin.name}" in disableMiddleware ` +
          'to run without it on purpose', { cause: err })
      }
      const option = builtin.accountOption
      const unenforced = option === undefined
        ? []
        : Object.entries(config.accounts).filter(([, account]) => account[option] !== undefined).map(([id]) => `accounts.${id}.${option}`)
      if (builtin.accountDefault !== undefined && Object.keys(config.accounts).length > 0) unenforced.push(builtin.accountDefault)
      missing.push({ name: builtin.name, package: builtin.package, unenforced })
      continue
    }
    middlewares.push(await create(manifest, builtin.name, {}, api))
  }
  for (const [name, entry] of Object.entries(config.middlewares)) {
    const manifest = await loadManifest(importer, entry.type, name, host)
    const middleware = await create(manifest, name, entry.options ?? {}, api)
    place(middlewares, middleware, {
      before: entry.before ?? (entry.after === undefined ? manifest.before : undefined),
      after: entry.after ?? (entry.before === undefined ? manifest.after : undefined)
    })
  }
  return { middlewares, missing }
}

async function create (manifest: MiddlewareManifest, name: string, options: Record<string, unknown>, api: MiddlewareApi): Promise<Middleware> {
  let middleware: Middleware
  try {
    middleware = await manifest.create(options, api)
  } catch (err) {
    throw new LoadError('ERR_PACKAGE_LOAD', `middleware ${name} failed to start: ${(err as Error).message}`, { cause: err })
  }
  // Custom middlewares are known by their configured name, whatever they call themselves.
  if (middleware.name === name) return middleware
  return Object.defineProperty(Object.create(middleware) as Middleware, 'name', { value: name, enumerable: true })
}
