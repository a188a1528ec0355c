/** Every package a configuration names, with the option it comes from, so missing ones are found up front. */
import { backendName, backendPackageName, pluginPackageName, storePackageName } from '@conn/core'
import type { ConnectorConfig } from '@conn/types'

export interface NamedPackage {
  path: string
  packageName: string
  /** Prefix for messages, e.g. `backend "ecb": `. */
  label: string
}

export function aliasedPackages (config: ConnectorConfig): NamedPackage[] {
  const packages: NamedPackage[] = []
  for (const [id, account] of Object.entries(config.accounts)) {
    if (typeof account.plugin !== 'string') continue
    // ilp-plugin-btp and ilp-plugin-mini-accounts run on conn's transport unless legacyPlugins keeps them
    const packageName = pluginPackageName(id, account.plugin, config.legacyPlugins)
    packages.push({ path: `accounts.${id}.plugin`, packageName, label: packageName === account.plugin ? '' : `"${account.plugin}" runs on conn's transport: ` })
  }
  for (const [name, entry] of Object.entries(config.middlewares)) {
    packages.push({ path: `middlewares.${name}.type`, packageName: entry.type, label: '' })
  }
  const backend = backendName(config)
  const backendPackage = backendPackageName(backend)
  if (backendPackage !== undefined) {
    packages.push({
      path: 'backend',
      packageName: backendPackage,
      label: config.backend === '' ? `backend "${backend}" (chosen because accounts have different asset codes): ` : `backend "${backend}": `
    })
  }
  const storePackage = storePackageName(config.store)
  if (storePackage !== undefined) packages.push({ path: 'store', packageName: storePackage, label: `store "${config.store}": ` })
  // an optional dependency of the cli: a minimal install may not have it
  if (config.adminApi) packages.push({ path: 'adminApi', packageName: ADMIN_API_PACKAGE, label: 'the admin API: ' })
  return packages
}

export const ADMIN_API_PACKAGE = '@conn/admin-api'

/** What to give `npm i` for a package name that may name a subpath (`@conn/plugin-btp/mini-accounts`). */
export function installName (packageName: string): string {
  const parts = packageName.split('/')
  return parts.slice(0, packageName.startsWith('@') ? 2 : 1).join('/')
}
