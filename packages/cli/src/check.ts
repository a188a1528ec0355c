/**
 * `conn check`: the configuration read and checked exactly as start-up does, and every package it names
 * resolved and imported, without creating the connector: nothing connects and no port opens.
 */
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { defaultExport, importByName, MemoryStore, OPTIONS, resolvePackage, type ConfigIssue } from '@conn/core'
import { isPluginOptionsError, type AccountConfig, type ConnectorConfig, type Logger } from '@conn/types'
import { aliasedPackages, type NamedPackage } from './packages.ts'
import { CLI_DIR, loadConfig } from './main.ts'

export const CHECK_HELP = `Usage: conn check [--config <file.json>]

Reads the configuration as \`conn\` would (the file, then the CONNECTOR_* variables; the embedded default when
there is neither), checks every option and resolves every package it names, without starting anything or opening
a port. Prints each problem with its option, and exits 0 when the configuration would start, 1 when it would not.
`

/** Packages loaded by a switch rather than named in a field, checked when the switch is on. */
const SWITCHED_PACKAGES: Array<{ option: keyof ConnectorConfig, packageName: string, label: string }> = [
  { option: 'adminApi', packageName: '@conn/admin-api', label: 'admin API: ' }
]

export async function check (argv: string[], env: NodeJS.ProcessEnv = process.env, print = (line: string) => { process.stdout.write(line + '\n') }): Promise<number> {
  let config: string | undefined
  try {
    const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } })
    if (values.help === true) { print(CHECK_HELP); return 0 }
    config = values.config
  } catch (err) {
    print(`conn check: ${(err as Error).message}`)
    return 2
  }

  const loaded = await loadConfig({ help: false, all: false, version: false, config }, env)
  const issues: ConfigIssue[] = []
  let checked: ConnectorConfig
  let packages: NamedPackage[]
  if ('issues' in loaded) {
    issues.push(...loaded.issues)
    // the packages of the options that are still readable, so a missing one is said in this round too
    const flagged = new Set(loaded.issues.map((issue) => issue.path))
    checked = lenientConfig(loaded.raw)
    packages = namedPackages(checked).filter((named) => !flagged.has(named.path))
  } else {
    checked = loaded.config
    packages = namedPackages(checked)
  }
  // package names resolve as at start-up: from the config file's folder, then from the cli's own
  const baseDir = config === undefined ? process.cwd() : dirname(resolve(config))
  const modules = new Map<string, Record<string, unknown>>()
  issues.push(...await packageIssues(packages, [baseDir, CLI_DIR], modules))
  issues.push(...pluginOptionIssues(checked.accounts, packages, modules))

  if (issues.length > 0) {
    for (const issue of issues) print(`${issue.path}: ${issue.message}`)
    print(`conn check: ${issues.length} problem${issues.length === 1 ? '' : 's'}; conn would not start with this configuration.`)
    return 1
  }
  if ('issues' in loaded) throw new Error('unreachable: a configuration that did not load has issues')
  const ids = Object.keys(loaded.config.accounts)
  const names = [...new Set(packages.map((named) => named.packageName))]
  print(`config OK${loaded.embedded ? ' (no configuration given: the embedded default)' : ''}: ` +
    `${ids.length} account${ids.length === 1 ? '' : 's'} (${ids.join(', ')}), packages ${names.join(', ')}`)
  for (const name of loaded.unknownEnv) print(`note: unrecognized environment variable ${name} (ignored)`)
  return 0
}

/** What the configuration loads by name: plugins, custom middlewares, backend, store, and the switched-on extras. */
function namedPackages (config: ConnectorConfig): NamedPackage[] {
  const packages = aliasedPackages(config)
  for (const { option, packageName, label } of SWITCHED_PACKAGES) {
    if (config[option] === true) packages.push({ path: option, packageName, label })
  }
  return packages
}

/** Each package that cannot be found, or found but not imported, as an issue at the option that names it. */
async function packageIssues (packages: NamedPackage[], resolveFrom: string[], modules: Map<string, Record<string, unknown>>): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = []
  for (const { path, packageName, label } of packages) {
    if (resolvePackage(packageName, resolveFrom) === undefined) {
      issues.push({ path, message: `${label}package "${packageName}" is not installed (install it next to your config, e.g. npm i ${packageName})` })
      continue
    }
    try {
      modules.set(packageName, await importByName(packageName, resolveFrom))
    } catch (err) {
      issues.push({ path, message: `${label}package "${packageName}" cannot be loaded: ${(err as Error).message}` })
    }
  }
  return issues
}

/**
 * Each account's plugin constructed as start-up constructs it, then dropped (a plugin connects or listens only
 * in connect()), so the options a plugin refuses are said here too, at `accounts.<id>.options.<option>`.
 */
function pluginOptionIssues (accounts: Readonly<Record<string, AccountConfig>>, packages: NamedPackage[], modules: Map<string, Record<string, unknown>>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  for (const [id, account] of Object.entries(accounts)) {
    const mod = modules.get(packages.find((named) => named.path === `accounts.${id}.plugin`)?.packageName ?? '')
    const PluginClass = mod === undefined ? undefined : defaultExport(mod)
    const options = account.options ?? {}
    if (typeof PluginClass !== 'function' || options === null || typeof options !== 'object') continue
    const store = new MemoryStore()
    try {
      new (PluginClass as new (...args: unknown[]) => unknown)({ _store: store, _log: SILENT, ...options }, { store, log: SILENT })
    } catch (err) {
      if (isPluginOptionsError(err)) {
        for (const issue of err.issues) issues.push({ path: `accounts.${id}.options.${issue.option}`, message: issue.message })
      } else {
        issues.push({ path: `accounts.${id}.plugin`, message: `the plugin refused its options: ${(err as Error).message}` })
      }
    }
  }
  return issues
}

const SILENT = pino({ level: 'silent' }) as unknown as Logger

/**
 * The options that name packages, taken from a configuration that did not validate as far as their shapes
 * allow, with the defaults for the rest; accounts that are not objects are left out.
 */
function lenientConfig (raw: Record<string, unknown>): ConnectorConfig {
  const objectOr = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : {}
  const accounts = Object.fromEntries(Object.entries(objectOr(raw.accounts)).filter(([, account]) => {
    const plugin = objectOr(account).plugin
    return typeof plugin === 'string' && plugin !== ''
  }))
  const middlewares = Object.fromEntries(Object.entries(objectOr(raw.middlewares)).filter(([, entry]) => typeof objectOr(entry).type === 'string'))
  const stringOr = (value: unknown, fallback: string): string => typeof value === 'string' ? value : fallback
  return {
    ...Object.fromEntries(Object.entries(OPTIONS).map(([name, option]) => [name, option.default])),
    accounts,
    middlewares,
    legacyPlugins: Array.isArray(raw.legacyPlugins) ? raw.legacyPlugins.filter((id) => typeof id === 'string') : [],
    backend: stringOr(raw.backend, ''),
    store: stringOr(raw.store, ''),
    adminApi: raw.adminApi === true
  } as unknown as ConnectorConfig
}
