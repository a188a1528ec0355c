/**
 * The options of both plugins, checked in one place before anything is constructed: every option of
 * ilp-plugin-btp 1.5 and ilp-plugin-mini-accounts 4.2 is either honoured or refused here with its name and
 * the reason, all problems at once (a PluginOptionsError the connector reports per option path). Keys neither
 * plugin knows are returned, so the plugin can warn about them: the reference ignores them silently, and a
 * config that worked there must keep working here.
 */
import { PluginOptionsError, type PluginOptionIssue } from '@conn/types'

/** ws's WebSocketServer options (ws 8; ws 6, which the reference plugins use, has a subset of them). */
const WS_SERVER_OPTIONS = new Set([
  'host', 'port', 'backlog', 'server', 'verifyClient', 'handleProtocols', 'path', 'noServer', 'clientTracking',
  'perMessageDeflate', 'maxPayload', 'skipUTF8Validation', 'WebSocket', 'autoPong', 'allowSynchronousEvents'
])
/** Passed by conn and ilp-connector to every plugin they load by name. */
const CONNECTOR_OPTIONS = ['_store', '_log']
/** Options conn's transport adds to both plugins (none of them changes the wire). */
const HARDENING_OPTIONS = ['responseTimeout', 'authTimeout', 'pingInterval', 'maxPayload']
/** A count, not a time: at least one socket must be able to authenticate. */
const MAX_UNAUTHENTICATED = 'maxUnauthenticated'

const BTP_OPTIONS = new Set([
  'server', 'listener', 'btpAccount', 'btpToken', 'btpAuthFlags', 'reconnectInterval', 'reconnectIntervals',
  'reconnectClearTryTimeout', 'transfers', MAX_UNAUTHENTICATED, ...HARDENING_OPTIONS, ...CONNECTOR_OPTIONS
])
const LISTENER_OPTIONS = new Set(['port', 'secret', 'wsOpts'])
const MINI_ACCOUNTS_OPTIONS = new Set([
  'port', 'wsOpts', 'currencyScale', 'debugHostIldcpInfo', 'allowedOrigins', 'generateAccount', MAX_UNAUTHENTICATED,
  ...HARDENING_OPTIONS, ...CONNECTOR_OPTIONS
])

class Checker {
  readonly issues: PluginOptionIssue[] = []
  readonly unknown: string[] = []

  fail (option: string, message: string): void { this.issues.push({ option, message }) }

  unknownKeys (prefix: string, value: Record<string, unknown>, known: Set<string>): void {
    for (const key of Object.keys(value)) if (!known.has(key)) this.unknown.push(prefix + key)
  }

  object (option: string, value: unknown): value is Record<string, unknown> {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return true
    this.fail(option, `expected an object, got ${describe(value)}`)
    return false
  }

  milliseconds (option: string, value: unknown): void {
    if (value === undefined) return
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      this.fail(option, `expected a number of milliseconds >= 0, got ${describe(value)}`)
    }
  }

  count (option: string, value: unknown): void {
    if (value === undefined) return
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(option, `expected an integer >= 1, got ${describe(value)}`)
  }

  port (option: string, value: unknown): void {
    if (value === undefined) return
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
      this.fail(option, `expected a port number 0..65535, got ${describe(value)}`)
    }
  }

  string (option: string, value: unknown): void {
    if (value !== undefined && typeof value !== 'string') this.fail(option, `expected a string, got ${describe(value)}`)
  }

  boolean (option: string, value: unknown): void {
    if (value !== undefined && typeof value !== 'boolean') this.fail(option, `expected true or false, got ${describe(value)}`)
  }

  /** ws options: type-checked where JSON could get them wrong; functions and servers only come from code. */
  wsOpts (option: string, value: unknown): value is Record<string, unknown> {
    if (value === undefined || !this.object(option, value)) return false
    this.unknownKeys(option + '.', value, WS_SERVER_OPTIONS)
    this.port(option + '.port', value.port)
    this.string(option + '.host', value.host)
    this.string(option + '.path', value.path)
    this.milliseconds(option + '.maxPayload', value.maxPayload)
    return true
  }

  done (): string[] {
    if (this.issues.length > 0) throw new PluginOptionsError(this.issues)
    return this.unknown
  }
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

/**
 * BtpPlugin's (ilp-plugin-btp's) options: throws PluginOptionsError naming every refused one; returns the
 * keys it does not know. Refused where the reference would run but badly: an empty listener secret lets any
 * client in, and `server` with `listener` (the reference ignores `server` then).
 */
export function checkBtpOptions (options: Record<string, unknown>): string[] {
  const c = new Checker()
  c.unknownKeys('', options, BTP_OPTIONS)
  const { server, listener } = options
  if (server !== undefined && listener !== undefined) {
    c.fail('server', 'set either `server` (client mode) or `listener` (server mode), not both')
  } else if (server === undefined && listener === undefined) {
    c.fail('server', '`server` (client mode) or `listener` (server mode) is required')
  }
  if (listener !== undefined && c.object('listener', listener)) {
    c.unknownKeys('listener.', listener, LISTENER_OPTIONS)
    c.port('listener.port', listener.port)
    if (typeof listener.secret !== 'string' || listener.secret === '') {
      c.fail('listener.secret', listener.secret === ''
        ? 'an empty secret lets any client in; conn\'s transport refuses it'
        : `expected a non-empty string, got ${describe(listener.secret)}`)
    }
    const wsOpts = listener.wsOpts
    const attached = c.wsOpts('listener.wsOpts', wsOpts) && (wsOpts.server !== undefined || wsOpts.noServer === true)
    if (listener.port === undefined && !attached && (wsOpts as { port?: unknown } | undefined)?.port === undefined) {
      c.fail('listener.port', 'required (or listener.wsOpts.port, or listener.wsOpts.server)')
    }
  }
  if (server !== undefined) {
    if (typeof server !== 'string' || !/^btp\+wss?:\/\//.test(server)) {
      c.fail('server', `expected a btp+ws:// or btp+wss:// URL, got ${typeof server === 'string' ? JSON.stringify(redactUrl(server)) : describe(server)}`)
    } else if (!URL.canParse(server.substring(4))) {
      c.fail('server', `not a valid URL: ${JSON.stringify(redactUrl(server))}`)
    } else {
      const url = new URL(server.substring(4))
      if ((url.username !== '' || url.password !== '') && (options.btpAccount !== undefined || options.btpToken !== undefined)) {
        c.fail('server', 'account/token must be passed in via constructor or uri, but not both')
      }
    }
  }
  c.string('btpAccount', options.btpAccount)
  c.string('btpToken', options.btpToken)
  if (options.btpAuthFlags !== undefined) c.object('btpAuthFlags', options.btpAuthFlags)
  c.milliseconds('reconnectInterval', options.reconnectInterval)
  const intervals = options.reconnectIntervals
  if (intervals !== undefined && (!Array.isArray(intervals) || intervals.length === 0 ||
    !intervals.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0))) {
    c.fail('reconnectIntervals', `expected a non-empty array of milliseconds, got ${describe(intervals)}`)
  }
  c.milliseconds('reconnectClearTryTimeout', options.reconnectClearTryTimeout)
  for (const option of HARDENING_OPTIONS) c.milliseconds(option, options[option])
  c.count(MAX_UNAUTHENTICATED, options[MAX_UNAUTHENTICATED])
  c.boolean('transfers', options.transfers)
  return c.done()
}

/** MiniAccountsPlugin's (ilp-plugin-mini-accounts') options, checked the same way. */
export function checkMiniAccountsOptions (options: Record<string, unknown>, hasStore: boolean): string[] {
  const c = new Checker()
  c.unknownKeys('', options, MINI_ACCOUNTS_OPTIONS)
  c.port('port', options.port)
  if (c.wsOpts('wsOpts', options.wsOpts) && options.wsOpts.port !== undefined && options.port !== undefined) {
    c.fail('port', 'Specify at most one of: `ops.wsOpts.port`, `opts.port`.')
  }
  if (options.currencyScale !== undefined && (typeof options.currencyScale !== 'number' || !Number.isInteger(options.currencyScale))) {
    c.fail('currencyScale', `expected an integer, got ${describe(options.currencyScale)}`)
  }
  const info = options.debugHostIldcpInfo
  if (info !== undefined && c.object('debugHostIldcpInfo', info)) {
    if (typeof info.clientAddress !== 'string') c.fail('debugHostIldcpInfo.clientAddress', `expected an ILP address, got ${describe(info.clientAddress)}`)
    if (typeof info.assetScale !== 'number') c.fail('debugHostIldcpInfo.assetScale', `expected an integer, got ${describe(info.assetScale)}`)
    if (typeof info.assetCode !== 'string') c.fail('debugHostIldcpInfo.assetCode', `expected a string, got ${describe(info.assetCode)}`)
  }
  const origins = options.allowedOrigins
  if (origins !== undefined) {
    if (!Array.isArray(origins)) {
      c.fail('allowedOrigins', 'parameter allowedOrigins must be an array')
    } else {
      origins.forEach((origin: unknown, i) => {
        if (typeof origin !== 'string') { c.fail(`allowedOrigins[${i}]`, `expected a regular expression string, got ${describe(origin)}`); return }
        try { RegExp(origin) } catch (err) { c.fail(`allowedOrigins[${i}]`, (err as Error).message) }
      })
    }
  }
  c.boolean('generateAccount', options.generateAccount)
  if (options.generateAccount === false && !hasStore) c.fail('generateAccount', '_store is required when generateAccount is false')
  for (const option of HARDENING_OPTIONS) c.milliseconds(option, options[option])
  c.count(MAX_UNAUTHENTICATED, options[MAX_UNAUTHENTICATED])
  return c.done()
}

/** A server URL without its token, for messages. */
function redactUrl (url: string): string {
  return url.replace(/\/\/([^/@]*):([^/@]*)@/, '//$1:***@')
}
