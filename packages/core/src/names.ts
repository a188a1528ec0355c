/**
 * Built-in names for stores and backends, and the packages behind the ones that are not in core.
 * Any other name is a package name.
 */
import type { ConnectorConfig } from '@conn/types'

const MEMORY_STORE_NAMES = new Set(['', 'memory', 'memdown'])
const STORE_ALIASES: Record<string, string> = { leveldown: '@conn/store-level', level: '@conn/store-level', redis: '@conn/store-redis' }
const BACKEND_ALIASES: Record<string, string> = {
  ecb: '@conn/backend-ecb',
  'ecb-plus-xrp': '@conn/backend-ecb',
  'ecb-plus-coinmarketcap': '@conn/backend-ecb'
}

/** `table[name]` if the table itself has it: a name from a config such as `constructor` must not find Object's. */
function own (table: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined
}

/**
 * The reference's BTP plugins, and the package of conn's wire-compatible transport that runs in their place: the
 * same options and bytes on the wire, hardened and faster. `legacyPlugins` keeps the named package instead.
 */
export const PLUGIN_SUBSTITUTES: Readonly<Record<string, string>> = {
  'ilp-plugin-btp': '@conn/plugin-btp',
  'ilp-plugin-mini-accounts': '@conn/plugin-btp/mini-accounts'
}

/** The package an account's plugin runs: conn's transport for the reference's BTP plugins unless kept by `legacyPlugins`. */
export function pluginPackageName (accountId: string, plugin: string, legacyPlugins: readonly string[]): string {
  const substitute = own(PLUGIN_SUBSTITUTES, plugin)
  if (substitute === undefined || legacyPlugins.includes(accountId) || legacyPlugins.includes(plugin)) return plugin
  return substitute
}

/** The package of a store name, or undefined for the built-in memory store. */
export function storePackageName (store: string): string | undefined {
  return MEMORY_STORE_NAMES.has(store) ? undefined : own(STORE_ALIASES, store) ?? store
}

/**
 * The backend to use: as configured, else `one-to-one` when every account has the same asset code and
 * `ecb` otherwise (the reference always defaults to `ecb`, which needs the network just to start).
 */
export function backendName (config: Pick<ConnectorConfig, 'backend' | 'accounts'>): string {
  if (config.backend !== '') return config.backend
  const codes = new Set(Object.values(config.accounts).map((account) => account.assetCode))
  return codes.size <= 1 ? 'one-to-one' : 'ecb'
}

/** The package of a backend name, or undefined for the built-in `one-to-one`. */
export function backendPackageName (backend: string): string | undefined {
  return backend === 'one-to-one' ? undefined : own(BACKEND_ALIASES, backend) ?? backend
}
