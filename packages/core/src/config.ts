/**
 * The connector configuration: the reference connector's options, defaults and rules, checked in full.
 * Every problem is reported with its option path and reason, all of them at once, before anything starts.
 */
import { PLUGIN_SUBSTITUTES } from './names.ts'
import { OperatorError, type AccountConfig, type BuiltinMiddlewareName, type ConnectorConfig, type Plugin } from '@conn/types'

export interface ConfigIssue {
  /** Option path, e.g. `accounts.alice.assetScale`. */
  path: string
  message: string
}

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
  legacyPlugins: { type: 'array', default: [] }
}

export const BUILTIN_MIDDLEWARE_NAMES: readonly BuiltinMiddlewareName[] = [
  'errorHandler', 'rateLimit', 'maxPacketAmount', 'throughput', 'balance', 'deduplicate',
  'echo', 'expire', 'validateFulfillment', 'stats', 'alert'
]

const ADDRESS_PATTERN = /^[a-zA-Z0-9._~-]+$/
const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_\-~.]+$/
const BALANCE_LIMIT_PATTERN = /^(0|-?([1-9][0-9]*|Infinity))$/
const SETTLE_THRESHOLD_PATTERN = /^(0|(-?[1-9][0-9]*|-Infinity))$/
const SETTLE_TO_PATTERN = /^(0|-?[1-9][0-9]*)$/
const POSITIVE_AMOUNT_PATTERN = /^[1-9][0-9]*$/
const MAX_UINT64 = 0xffffffffffffffffn

const ACCOUNT_KEYS = new Set<keyof AccountConfig>([
  'relation', 'plugin', 'assetCode', 'assetScale', 'options', 'ilpAddressSegment', 'balance',
  'maxPacketAmount', 'throughput', 'rateLimit', 'deduplicate', 'sendRoutes', 'receiveRoutes'
])

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

export function isPluginInstance (value: unknown): value is Plugin {
  return value !== null && typeof value === 'object' &&
    typeof (value as Plugin).sendData === 'function' && typeof (value as Plugin).connect === 'function'
}

/** Collects issues for one config object; each check names its path. */
class Checker {
  readonly issues: ConfigIssue[] = []

  fail (path: string, message: string): void { this.issues.push({ path, message }) }

  string (path: string, value: unknown, opts: { pattern?: RegExp, patternText?: string, nonEmpty?: boolean, oneOf?: readonly string[] } = {}): boolean {
    if (typeof value !== 'string') { this.fail(path, `expected a string, got ${describe(value)}`); return false }
    if (opts.nonEmpty === true && value === '') { this.fail(path, 'expected a non-empty string'); return false }
    if (opts.oneOf !== undefined && !opts.oneOf.includes(value)) {
      this.fail(path, `expected one of ${opts.oneOf.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`)
      return false
    }
    if (opts.pattern !== undefined && !opts.pattern.test(value)) {
      this.fail(path, `expected ${opts.patternText ?? 'a string matching ' + String(opts.pattern)}, got ${describe(value)}`)
      return false
    }
    return true
  }

  integer (path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}..${max}`
      this.fail(path, `expected an integer ${range}, got ${describe(value)}`)
      return false
    }
    return true
  }

  boolean (path: string, value: unknown): boolean {
    if (typeof value !== 'boolean') { this.fail(path, `expected true or false, got ${describe(value)}`); return false }
    return true
  }

  object (path: string, value: unknown): value is Record<string, unknown> {
    if (!isPlainObject(value)) { this.fail(path, `expected an object, got ${describe(value)}`); return false }
    return true
  }

  noExtraKeys (path: string, value: Record<string, unknown>, allowed: Iterable<string>): void {
    const known = new Set(allowed)
    for (const key of Object.keys(value)) {
      if (!known.has(key)) this.fail(`${path}.${key}`, 'unknown option')
    }
  }

  /** An integer amount string within UInt64 (limits may be signed, and ±Infinity where the pattern allows). */
  amount (path: string, value: unknown, pattern: RegExp, what: string): void {
    if (!this.string(path, value, { pattern, patternText: what })) return
    const text = value as string
    if (!text.endsWith('Infinity')) {
      const magnitude = BigInt(text.startsWith('-') ? text.slice(1) : text)
      if (magnitude > MAX_UINT64) this.fail(path, `expected ${what} within 64 bits, got ${describe(value)}`)
    }
  }
}

function checkAccount (c: Checker, id: string, account: unknown, programmatic: boolean): void {
  const path = `accounts.${id}`
  if (!ACCOUNT_ID_PATTERN.test(id)) c.fail(path, 'account id may only contain letters, digits and _ - ~ .')
  if (!c.object(path, account)) return
  c.noExtraKeys(path, account, ACCOUNT_KEYS)
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
  if (account.maxPacketAmount !== undefined) {
    c.amount(`${path}.maxPacketAmount`, account.maxPacketAmount, POSITIVE_AMOUNT_PATTERN, 'a positive integer string')
  }
  const balance = account.balance
  if (balance !== undefined && c.object(`${path}.balance`, balance)) {
    const bp = `${path}.balance`
    c.noExtraKeys(bp, balance, ['minimum', 'maximum', 'settleThreshold', 'settleTo'])
    if (balance.maximum === undefined) c.fail(`${bp}.maximum`, 'required')
    const limit = 'an integer string, "Infinity" or "-Infinity"'
    if (balance.maximum !== undefined) c.amount(`${bp}.maximum`, balance.maximum, BALANCE_LIMIT_PATTERN, limit)
    if (balance.minimum !== undefined) c.amount(`${bp}.minimum`, balance.minimum, BALANCE_LIMIT_PATTERN, limit)
    if (balance.settleThreshold !== undefined) {
      c.amount(`${bp}.settleThreshold`, balance.settleThreshold, SETTLE_THRESHOLD_PATTERN, 'an integer string or "-Infinity"')
    }
    if (balance.settleTo !== undefined) c.amount(`${bp}.settleTo`, balance.settleTo, SETTLE_TO_PATTERN, 'an integer string')
    const min = limitValue(balance.minimum, -Infinity)
    const max = limitValue(balance.maximum, Infinity)
    if (min !== undefined && max !== undefined && min > max) {
      c.fail(`${bp}.minimum`, `must not be greater than balance.maximum (${String(balance.minimum)} > ${String(balance.maximum)})`)
    }
  }
  const throughput = account.throughput
  if (throughput !== undefined && c.object(`${path}.throughput`, throughput)) {
    c.noExtraKeys(`${path}.throughput`, throughput, ['refillPeriod', 'incomingAmount', 'outgoingAmount'])
    if (throughput.refillPeriod !== undefined) c.integer(`${path}.throughput.refillPeriod`, throughput.refillPeriod, 100)
    for (const key of ['incomingAmount', 'outgoingAmount']) {
      if (throughput[key] !== undefined) c.amount(`${path}.throughput.${key}`, throughput[key], POSITIVE_AMOUNT_PATTERN, 'a positive integer string')
    }
  }
  const rateLimit = account.rateLimit
  if (rateLimit !== undefined && c.object(`${path}.rateLimit`, rateLimit)) {
    c.noExtraKeys(`${path}.rateLimit`, rateLimit, ['refillPeriod', 'refillCount', 'capacity'])
    if (rateLimit.refillPeriod !== undefined) c.integer(`${path}.rateLimit.refillPeriod`, rateLimit.refillPeriod, 100)
    if (rateLimit.refillCount !== undefined) c.integer(`${path}.rateLimit.refillCount`, rateLimit.refillCount, 1)
    if (rateLimit.capacity !== undefined) c.integer(`${path}.rateLimit.capacity`, rateLimit.capacity, 0)
  }
  const deduplicate = account.deduplicate
  if (deduplicate !== undefined && c.object(`${path}.deduplicate`, deduplicate)) {
    c.noExtraKeys(`${path}.deduplicate`, deduplicate, ['cleanupInterval', 'packetLifetime'])
    if (deduplicate.cleanupInterval !== undefined) c.integer(`${path}.deduplicate.cleanupInterval`, deduplicate.cleanupInterval, 1)
    if (deduplicate.packetLifetime !== undefined) c.integer(`${path}.deduplicate.packetLifetime`, deduplicate.packetLifetime, 1)
  }
}

/** A balance limit as a comparable number-or-bigint, or undefined when it does not parse. */
function limitValue (value: unknown, fallback: number): bigint | number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !BALANCE_LIMIT_PATTERN.test(value)) return undefined
  if (value === 'Infinity') return Infinity
  if (value === '-Infinity') return -Infinity
  return BigInt(value)
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
      if ((BUILTIN_MIDDLEWARE_NAMES as readonly string[]).includes(name)) {
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
      c.string(`disableMiddleware[${i}]`, name, { oneOf: BUILTIN_MIDDLEWARE_NAMES })
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
