/**
 * The connector configuration: the reference connector's options, defaults and rules, checked in full.
 * Every problem is reported with its option path and reason, all of them at once, before anything starts.
 */
import { Checker, describe, isPlainObject, type ConfigIssue } from './checker.ts'

export type { ConfigIssue }
import { PLUGIN_SUBSTITUTES } from './names.ts'
import { OperatorError, type AccountConfig, type ConnectorConfig, type Plugin } from '@conn/types'
import { STANDARD_MIDDLEWARE_NAMES } from './standard.ts'

export class ConfigError extends OperatorError {
  constructor (readonly issues: ConfigIssue[]) {
    super('ERR_CONFIG', issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'))
  }
}

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array'

/** Every top-level option with its type (how the cli converts a `CONNECTOR_*` variable) and default. */
export const OPTIONS: { [K in keyof ConnectorConfig]: { type: OptionType, default: ConnectorConfig[K] | undefined } } = {
  env: { type: 'string', default: 'test' },
  ilpAddress: { type: 'string', default: 'unknown' },
  ilpAddressInheritFrom: { type: 'string', default: '' },
  accounts: { type: 'object', default: undefined },
  defaultRoute: { type: 'string', default: 'auto' },
  routes: { type: 'array', default: [] },
  spread: { type: 'number', default: 0.002 },
  minMessageWindow: { type: 'integer', default: 1000 },
  maxHoldTime: { type: 'integer', default: 30000 },
  routeBroadcastEnabled: { type: 'boolean', default: true },
  routeBroadcastInterval: { type: 'integer', default: 30000 },
  routeCleanupInterval: { type: 'integer', default: 1000 },
  routeExpiry: { type: 'integer', default: 45000 },
  routingSecret: { type: 'string', default: '' },
  backend: { type: 'string', default: '' },
  backendConfig: { type: 'object', default: {} },
  store: { type: 'string', default: 'memory' },
  storePath: { type: 'string', default: '' },
  storeConfig: { type: 'object', default: {} },
  middlewares: { type: 'object', default: {} },
  disableMiddleware: { type: 'array', default: [] },
  reflectPayments: { type: 'boolean', default: true },
  initialConnectTimeout: { type: 'integer', default: 10000 },
  adminApi: { type: 'boolean', default: false },
  adminApiPort: { type: 'integer', default: 7780 },
  adminApiHost: { type: 'string', default: '127.0.0.1' },
  adminApiToken: { type: 'string', default: '' },
  collectDefaultMetrics: { type: 'boolean', default: false },
  legacyPlugins: { type: 'array', default: [] },
  maxPacketsInFlight: { type: 'integer', default: 10000 },
  shutdownTimeout: { type: 'integer', default: 30000 }
}


const ADDRESS_PATTERN = /^[a-zA-Z0-9._~-]+$/
const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_\-~.]+$/
/**
 * The account options core reads itself. Any other key is a middleware's option, checked against the schemas
 * the middlewares declare once they are loaded (see middleware-options.ts).
 */
export const CORE_ACCOUNT_OPTIONS: readonly string[] = [
  'relation', 'plugin', 'assetCode', 'assetScale', 'options', 'ilpAddressSegment', 'sendRoutes', 'receiveRoutes',
  'maxPacketsInFlight'
]

export function isPluginInstance (value: unknown): value is Plugin {
  return value !== null && typeof value === 'object' &&
    typeof (value as Plugin).sendData === 'function' && typeof (value as Plugin).connect === 'function'
}

function checkAccount (c: Checker, id: string, account: unknown, programmatic: boolean): void {
  const path = `accounts.${id}`
  if (!ACCOUNT_ID_PATTERN.test(id)) c.fail(path, 'account id may only contain letters, digits and _ - ~ .')
  if (!c.object(path, account)) return
  for (const key of ['relation', 'plugin', 'assetCode', 'assetScale'] as const) {
    if (account[key] === undefined) c.fail(`${path}.${key}`, 'required')
  }
  if (account.relation !== undefined) c.string(`${path}.relation`, account.relation, { oneOf: ['parent', 'peer', 'child'] })
  if (account.plugin !== undefined) {
    if (typeof account.plugin === 'string') {
      c.string(`${path}.plugin`, account.plugin, { nonEmpty: true })
    } else if (!programmatic || !isPluginInstance(account.plugin)) {
      c.fail(`${path}.plugin`, programmatic
        ? `expected a package name or a plugin instance (an object with connect and sendData), got ${describe(account.plugin)}`
        : `expected a package name, got ${describe(account.plugin)}`)
    }
  }
  if (account.assetCode !== undefined) c.string(`${path}.assetCode`, account.assetCode, { nonEmpty: true })
  if (account.assetScale !== undefined) c.integer(`${path}.assetScale`, account.assetScale, 0, 255)
  if (account.options !== undefined) c.object(`${path}.options`, account.options)
  if (account.ilpAddressSegment !== undefined) {
    c.string(`${path}.ilpAddressSegment`, account.ilpAddressSegment, { pattern: ADDRESS_PATTERN, patternText: 'a non-empty address segment ([a-zA-Z0-9._~-])' })
  }
  if (account.sendRoutes !== undefined) c.boolean(`${path}.sendRoutes`, account.sendRoutes)
  if (account.receiveRoutes !== undefined) c.boolean(`${path}.receiveRoutes`, account.receiveRoutes)
  if (account.maxPacketsInFlight !== undefined) c.integer(`${path}.maxPacketsInFlight`, account.maxPacketsInFlight, 1)
}

/** Checks one account's configuration (as `addPlugin` receives it). Throws ConfigError. */
export function validateAccount (id: string, account: unknown, programmatic = true): AccountConfig {
  const c = new Checker()
  checkAccount(c, id, account, programmatic)
  if (c.issues.length > 0) throw new ConfigError(c.issues)
  return account as AccountConfig
}

/**
 * Validates a whole configuration and fills in the defaults. `programmatic` allows plugin instances
 * (embedding); from the environment or a file only package names are possible. Throws ConfigError
 * listing every issue.
 */
export function validateConfig (input: unknown, options: { programmatic?: boolean } = {}): ConnectorConfig {
  const programmatic = options.programmatic ?? true
  const c = new Checker()
  if (!isPlainObject(input)) {
    c.fail('(config)', `expected an object, got ${describe(input)}`)
    throw new ConfigError(c.issues)
  }
  c.noExtraKeys('', input, Object.keys(OPTIONS))
  for (const issue of c.issues) issue.path = issue.path.replace(/^\./, '')

  const config = {} as Record<string, unknown>
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const value = input[key] === undefined ? structuredClone(spec.default) : input[key]
    config[key] = value
    if (value === undefined) continue
    switch (spec.type) {
      case 'string': c.string(key, value); break
      case 'boolean': c.boolean(key, value); break
      case 'integer': c.integer(key, value, 0); break
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) c.fail(key, `expected a number, got ${describe(value)}`)
        break
      case 'object': c.object(key, value); break
      case 'array': if (!Array.isArray(value)) c.fail(key, `expected an array, got ${describe(value)}`); break
    }
  }

  // The reference's README sets a database path and no store: a path names the persistent store, never memory.
  if (input.store === undefined && typeof input.storePath === 'string' && input.storePath !== '') config.store = 'level'

  c.string('env', config.env, { oneOf: ['production', 'test'] })
  if (typeof config.ilpAddress === 'string') {
    c.string('ilpAddress', config.ilpAddress, { pattern: ADDRESS_PATTERN, patternText: 'an ILP address ([a-zA-Z0-9._~-])' })
  }
  if (typeof config.spread === 'number' && (config.spread < 0 || config.spread >= 1)) {
    c.fail('spread', `expected a fraction 0 <= spread < 1, got ${config.spread}`)
  }
  if (typeof config.adminApiPort === 'number') c.integer('adminApiPort', config.adminApiPort, 0, 65535)
  if (typeof config.maxPacketsInFlight === 'number') c.integer('maxPacketsInFlight', config.maxPacketsInFlight, 1)

  const accounts = config.accounts
  if (accounts === undefined) {
    c.fail('accounts', 'required (use {} for a connector without accounts)')
  } else if (isPlainObject(accounts)) {
    for (const [id, account] of Object.entries(accounts)) checkAccount(c, id, account, programmatic)
  }
  const accountIds = new Set(isPlainObject(accounts) ? Object.keys(accounts) : [])
  const relationOf = (id: string): unknown => isPlainObject(accounts) && isPlainObject(accounts[id]) ? accounts[id].relation : undefined

  if (Array.isArray(config.routes)) {
    config.routes.forEach((route: unknown, i: number) => {
      const path = `routes[${i}]`
      if (!c.object(path, route)) return
      c.noExtraKeys(path, route, ['targetPrefix', 'peerId'])
      for (const key of ['targetPrefix', 'peerId']) {
        if (route[key] === undefined) c.fail(`${path}.${key}`, 'required')
        else c.string(`${path}.${key}`, route[key], { pattern: ADDRESS_PATTERN, patternText: 'an address or account id ([a-zA-Z0-9._~-])' })
      }
      if (typeof route.peerId === 'string' && ADDRESS_PATTERN.test(route.peerId) && !accountIds.has(route.peerId)) {
        c.fail(`${path}.peerId`, `no account "${route.peerId}" in accounts`)
      }
    })
  }

  if (typeof config.defaultRoute === 'string' && config.defaultRoute !== 'auto' && config.defaultRoute !== '' &&
      !accountIds.has(config.defaultRoute)) {
    c.fail('defaultRoute', `expected "auto", "" or an account id, got ${describe(config.defaultRoute)} (no such account)`)
  }
  if (typeof config.ilpAddressInheritFrom === 'string' && config.ilpAddressInheritFrom !== '') {
    if (!accountIds.has(config.ilpAddressInheritFrom)) {
      c.fail('ilpAddressInheritFrom', `no account "${config.ilpAddressInheritFrom}" in accounts`)
    } else if (relationOf(config.ilpAddressInheritFrom) !== 'parent') {
      c.fail('ilpAddressInheritFrom', `account "${config.ilpAddressInheritFrom}" is not a parent; only a parent can give us an address`)
    }
  }
  if (config.ilpAddress === 'unknown' && config.ilpAddressInheritFrom === '' &&
      ![...accountIds].some((id) => relationOf(id) === 'parent')) {
    c.fail('ilpAddress', 'required when no account has relation "parent" (there is nobody to learn it from)')
  }

  if (isPlainObject(config.middlewares)) {
    for (const [name, entry] of Object.entries(config.middlewares)) {
      const path = `middlewares.${name}`
      if (STANDARD_MIDDLEWARE_NAMES.includes(name)) {
        c.fail(path, `custom middleware has same name as built-in middleware. name=${name}`)
        continue
      }
      if (!c.object(path, entry)) continue
      c.noExtraKeys(path, entry, ['type', 'options', 'before', 'after'])
      if (entry.type === undefined) c.fail(`${path}.type`, 'required (the package name of the middleware)')
      else c.string(`${path}.type`, entry.type, { nonEmpty: true })
      if (entry.options !== undefined) c.object(`${path}.options`, entry.options)
      if (entry.before !== undefined) c.string(`${path}.before`, entry.before, { nonEmpty: true })
      if (entry.after !== undefined) c.string(`${path}.after`, entry.after, { nonEmpty: true })
      if (entry.before !== undefined && entry.after !== undefined) c.fail(path, 'set before or after, not both')
    }
  }
  if (Array.isArray(config.disableMiddleware)) {
    config.disableMiddleware.forEach((name: unknown, i: number) => {
      c.string(`disableMiddleware[${i}]`, name, { oneOf: STANDARD_MIDDLEWARE_NAMES })
    })
  }
  if (Array.isArray(config.legacyPlugins)) {
    const plugins = Object.keys(PLUGIN_SUBSTITUTES)
    config.legacyPlugins.forEach((entry: unknown, i: number) => {
      const path = `legacyPlugins[${i}]`
      if (!c.string(path, entry)) return
      if (!accountIds.has(entry as string) && !plugins.includes(entry as string)) {
        c.fail(path, `expected an account id or one of ${plugins.map((p) => JSON.stringify(p)).join(', ')}, got ${describe(entry)}`)
      }
    })
  }
  if (typeof config.routingSecret === 'string' && config.routingSecret !== '' &&
      !/^[A-Za-z0-9+/_-]+={0,2}$/.test(config.routingSecret)) {
    c.fail('routingSecret', 'expected a base64 string')
  }

  if (c.issues.length > 0) throw new ConfigError(c.issues)
  return config as unknown as ConnectorConfig
}
