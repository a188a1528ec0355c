/**
 * Ledger Plugin Interface v1 plugins, as the reference connector accepts them: every plugin it loads by name
 * goes through ilp-compat-plugin, which returns LPI2 plugins unchanged and wraps LPI1 ones (objects with
 * `sendTransfer`). conn does the same with that library, loaded by name only when an LPI1 plugin is met, so
 * @conn/core does not depend on it (the cli does); an embedder without it gets an error saying what to install.
 */
import type { Plugin, PluginConstructor } from '@conn/types'
import { defaultExport, LoadError } from '../loader.ts'

export const COMPAT_PACKAGE = 'ilp-compat-plugin'

type Importer = (packageName: string) => Promise<Record<string, unknown>>

/** Refuses, before construction, a plugin class of an LPI version conn cannot run (anything but 1, 2 or unset). */
export function checkPluginVersion (PluginClass: PluginConstructor, label: string, packageName: string): void {
  const version = PluginClass.version
  if (version !== undefined && version !== 1 && version !== 2) {
    throw new LoadError('ERR_PACKAGE_INVALID', `${label}: package "${packageName}" is an LPI${String(version)} plugin; conn runs LPI2 plugins, and LPI1 plugins through ${COMPAT_PACKAGE}`)
  }
}

/**
 * The plugin conn runs: an LPI2 plugin as it is; an LPI1 plugin (a static version other than 2 and a
 * `sendTransfer` method, ilp-compat-plugin's test) wrapped by ilp-compat-plugin.
 */
export async function asLpi2 (plugin: unknown, PluginClass: PluginConstructor, label: string, packageName: string, importer: Importer): Promise<Plugin> {
  const isLpi1 = PluginClass.version !== 2 && typeof (plugin as { sendTransfer?: unknown }).sendTransfer === 'function'
  if (!isLpi1) {
    if (PluginClass.version === 1) {
      throw new LoadError('ERR_PACKAGE_INVALID', `${label}: package "${packageName}" says it is an LPI1 plugin (static version 1) but its instances have no sendTransfer method`)
    }
    return plugin as Plugin
  }
  let compat: unknown
  try {
    compat = defaultExport(await importer(COMPAT_PACKAGE))
  } catch (err) {
    const code = (err as LoadError).code === 'ERR_PACKAGE_NOT_FOUND' ? 'ERR_PACKAGE_NOT_FOUND' : 'ERR_PACKAGE_LOAD'
    throw new LoadError(code, `${label}: package "${packageName}" is an LPI1 plugin; running it needs ${COMPAT_PACKAGE} ` +
      `(npm i ${COMPAT_PACKAGE}@2): ${(err as Error).message}`, { cause: err })
  }
  if (typeof compat !== 'function') {
    throw new LoadError('ERR_PACKAGE_INVALID', `${label}: package "${COMPAT_PACKAGE}" does not export its convert function`)
  }
  try {
    return (compat as (plugin: unknown) => Plugin)(plugin)
  } catch (err) {
    throw new LoadError('ERR_PACKAGE_LOAD', `${label}: ${COMPAT_PACKAGE} could not wrap the LPI1 plugin "${packageName}": ${(err as Error).message}`, { cause: err })
  }
}
