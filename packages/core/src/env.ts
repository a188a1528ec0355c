/**
 * Reads the configuration from `CONNECTOR_*` variables, as the reference connector does: each option
 * `fooBar` is `CONNECTOR_FOO_BAR`, objects and arrays are JSON. Unlike the reference, a value that does not
 * convert (bad JSON, `yes` for a boolean, `abc` for a number) is an error naming the variable.
 */
import type { ConnectorConfig } from '@conn/types'
import { ConfigError, OPTIONS, validateConfig, type ConfigIssue, type OptionType } from './config.ts'

export const ENV_PREFIX = 'CONNECTOR_'

/** `ilpAddressInheritFrom` -> `CONNECTOR_ILP_ADDRESS_INHERIT_FROM` */
export function envName (option: string): string {
  return ENV_PREFIX + option.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

const ENV_TO_OPTION = new Map(Object.keys(OPTIONS).map((option) => [envName(option), option]))

/** `CONNECTOR_FOO_BAR` -> `fooBar`, or undefined for a variable that is not an option. */
export function optionOfEnv (name: string): string | undefined {
  return ENV_TO_OPTION.get(name)
}

export interface EnvConfig {
  /** Options found in the environment, converted to their types. */
  config: Record<string, unknown>
  issues: ConfigIssue[]
  /** `CONNECTOR_*` variables that are not options (ignored, as the reference does, with a warning). */
  unknown: string[]
}

function convert (value: string, type: OptionType): { value?: unknown, error?: string } {
  switch (type) {
    case 'string':
      return { value }
    case 'boolean': {
      const lower = value.trim().toLowerCase()
      if (lower === 'true' || lower === '1') return { value: true }
      if (lower === 'false' || lower === '0') return { value: false }
      return { error: `expected true, false, 1 or 0, got ${JSON.stringify(value)}` }
    }
    case 'integer':
    case 'number': {
      const number = value.trim() === '' ? NaN : Number(value)
      if (!Number.isFinite(number)) return { error: `expected a number, got ${JSON.stringify(value)}` }
      if (type === 'integer' && !Number.isInteger(number)) return { error: `expected an integer, got ${JSON.stringify(value)}` }
      return { value: number }
    }
    case 'object':
    case 'array':
      try {
        return { value: JSON.parse(value) as unknown }
      } catch (err) {
        return { error: `invalid JSON (${(err as Error).message})` }
      }
  }
}

export function readEnv (env: NodeJS.ProcessEnv): EnvConfig {
  const config: Record<string, unknown> = {}
  const issues: ConfigIssue[] = []
  const unknown: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue
    const option = ENV_TO_OPTION.get(name)
    if (option === undefined) { unknown.push(name); continue }
    const result = convert(value, OPTIONS[option as keyof typeof OPTIONS].type)
    if (result.error !== undefined) issues.push({ path: name, message: result.error })
    else config[option] = result.value
  }
  return { config, issues, unknown }
}

/**
 * Validates options that came (at least partly) from the environment: every problem, each path naming the
 * variable it came from (`accounts.alice.assetScale (CONNECTOR_ACCOUNTS)`). An option whose variable did not
 * convert is reported once, by its variable, not again as missing. `accountsHint` says where accounts go when
 * none were given.
 */
export function validateEnvConfig (
  raw: Record<string, unknown>,
  fromEnv: EnvConfig,
  accountsHint = `set ${envName('accounts')} (JSON, '{}' for none)`
): { config: ConnectorConfig, issues: [] } | { config?: undefined, issues: ConfigIssue[] } {
  const issues = [...fromEnv.issues]
  const failed = new Set(fromEnv.issues.map((issue) => optionOfEnv(issue.path)))
  if (raw.accounts === undefined && !failed.has('accounts')) issues.push({ path: 'accounts', message: `required: ${accountsHint}` })
  try {
    const config = validateConfig({ ...raw, accounts: raw.accounts ?? {} }, { programmatic: false })
    return issues.length > 0 ? { issues } : { config, issues: [] }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const issue of err.issues) {
      const top = issue.path.split(/[.[]/)[0]!
      if (failed.has(top)) continue
      issues.push(top in fromEnv.config ? { ...issue, path: `${issue.path} (${envName(top)})` } : issue)
    }
    return { issues }
  }
}

/** The configuration from `CONNECTOR_*` variables alone, as the reference reads it; throws ConfigError listing every problem. */
export function configFromEnv (env: NodeJS.ProcessEnv): { config: ConnectorConfig, unknown: string[] } {
  const fromEnv = readEnv(env)
  const result = validateEnvConfig(fromEnv.config, fromEnv)
  if (result.config === undefined) throw new ConfigError(result.issues)
  return { config: result.config, unknown: fromEnv.unknown }
}
