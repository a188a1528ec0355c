/**
 * The admin API's routes: the reference connector's (same paths, request and response shapes), plus removing
 * an account and resolving unsettled settlements. Each handler reads the connector through its ConnectorHandle
 * and returns a JSON-ready value (200), `undefined` (204) or a text reply (/metrics); it throws HttpError for a
 * request it refuses. What it needs from the balance and alert middlewares are services (`balanceAdmin`,
 * `settlementAdmin`, `alertAdmin` in @conn/types) the connector hands out, so this package needs nothing but
 * @conn/types.
 */
import {
  isSettlementAdminError,
  type Account, type AccountConfig, type AlertAdmin, type BalanceAdmin, type BalanceStatus, type ConnectorHandle, type Rate, type Route,
  type SettlementAdmin, type SettlementOutcome, type SettlementResolution, type UnsettledSettlement
} from '@conn/types'
import { HttpError } from './http.ts'

/** What a route resolves with: a JSON value (200), `undefined` (204), or text with its content type (200). */
export type Reply = unknown

export class TextReply {
  constructor (readonly contentType: string, readonly text: string) {}
}

/** A JSON reply with a status of its own (the readiness probe answers 503 while not ready). */
export class JsonReply {
  constructor (readonly status: number, readonly body: unknown) {}
}

export interface RouteRequest {
  /** Captured path segments (e.g. the account id of `/accounts/:id`), raw. */
  params: string[]
  /** The parsed JSON body, `undefined` if there was none. */
  body: unknown
}

export interface RouteDefinition {
  method: 'GET' | 'POST' | 'DELETE'
  /** Matched against the whole path (query string stripped). */
  path: RegExp
  handler: (request: RouteRequest) => Promise<Reply>
  /** Answered without the admin token: the health probes, which tell nothing but whether conn is up. */
  open?: boolean
}

/** Account ids as the connector's config allows them (the reference's admin API pattern). */
const ACCOUNT_ID = /^[A-Za-z0-9_.\-~]+$/
/** The reference's BalanceUpdate schema: a signed integer string without leading zeros. */
const AMOUNT_DIFF = /^(0|-?[1-9][0-9]*)$/

// ---- JSON helpers --------------------------------------------------------------------------------------

export interface RouteJson { nextHop: string, path: string }

/** A route as the reference shows it: the path joined with spaces, no auth. */
export function routeJson (route: Route): RouteJson {
  return { nextHop: route.nextHop, path: route.path.join(' ') }
}

/** A rate as a JS number (an exact fraction is divided in floating point; the admin API only displays it). */
export function rateToNumber (rate: Rate): number {
  if (typeof rate === 'number') return rate
  let { numerator, denominator } = rate
  // Keep both within the range of a double before dividing (the quotient keeps 53 bits of precision).
  while (numerator > 2n ** 1000n || denominator > 2n ** 1000n) {
    numerator >>= 64n
    denominator >>= 64n
  }
  return denominator === 0n ? NaN : Number(numerator) / Number(denominator)
}

/** The configured plugin: its package name, or the class name of an instance passed in by an embedder. */
export function pluginName (account: Account): string {
  const configured = account.config.plugin
  if (typeof configured === 'string') return configured
  const named = (account as { pluginName?: unknown }).pluginName
  if (typeof named === 'string') return named
  return (configured as { constructor?: { name?: string } }).constructor?.name ?? 'plugin'
}

/** The account's configuration without `options` (they hold the plugin's secrets), plugin as a name. */
export function accountInfo (account: Account): Omit<AccountConfig, 'options' | 'plugin'> & { plugin: string } {
  const { options: _options, plugin: _plugin, ...rest } = account.config
  return { ...rest, plugin: pluginName(account) }
}

function isConnected (account: Account): boolean {
  try {
    return account.plugin.isConnected()
  } catch {
    return false
  }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// ---- the routes ----------------------------------------------------------------------------------------

export class AdminRoutes {
  readonly routes: RouteDefinition[]

  constructor (private readonly connector: ConnectorHandle) {
    this.routes = [
      { method: 'GET', path: /^\/status$/, handler: async () => await this.getStatus() },
      { method: 'GET', path: /^\/routing$/, handler: async () => this.getRouting() },
      { method: 'GET', path: /^\/accounts$/, handler: async () => this.getAccounts() },
      { method: 'GET', path: /^\/accounts\/([^/]*)$/, handler: async ({ params }) => await this.getAccountAdminInfo(params[0]!) },
      { method: 'POST', path: /^\/accounts\/([^/]*)$/, handler: async ({ params, body }) => await this.sendAccountAdminInfo(params[0]!, body) },
      { method: 'DELETE', path: /^\/accounts\/([^/]*)$/, handler: async ({ params }) => await this.removeAccount(params[0]!) },
      { method: 'GET', path: /^\/balance$/, handler: async () => await this.getBalances() },
      { method: 'POST', path: /^\/balance$/, handler: async ({ body }) => await this.postBalance(body) },
      { method: 'GET', path: /^\/rates$/, handler: async () => await this.getRates() },
      { method: 'GET', path: /^\/stats$/, handler: async () => await this.connector.metricsExport.json() },
      { method: 'GET', path: /^\/settlements$/, handler: async () => this.getSettlements() },
      { method: 'POST', path: /^\/settlements\/([^/]*)$/, handler: async ({ params, body }) => await this.resolveSettlement(params[0]!, body) },
      { method: 'GET', path: /^\/alerts$/, handler: async () => this.getAlerts() },
      { method: 'DELETE', path: /^\/alerts\/([^/]*)$/, handler: async ({ params }) => this.deleteAlert(params[0]!) },
      { method: 'GET', path: /^\/metrics$/, handler: async () => await this.getMetrics() },
      { method: 'POST', path: /^\/addAccount$/, handler: async ({ body }) => await this.addAccount(body) },
      { method: 'GET', path: /^\/health\/live$/, open: true, handler: async () => ({ status: 'live' }) },
      { method: 'GET', path: /^\/health\/ready$/, open: true, handler: async () => this.getReadiness() }
    ]
  }

  /** The route for a method and path, with its captured segments; undefined: 404. */
  match (method: string, path: string): { route: RouteDefinition, params: string[] } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue
      const match = route.path.exec(path)
      if (match !== null) return { route, params: match.slice(1) }
    }
    return undefined
  }

  // ---- GET /status, /routing, /accounts ------------------------------------------------------------------

  async getStatus (): Promise<{ balances: Record<string, string>, connected: Record<string, boolean>, localRoutingTable: Record<string, RouteJson> }> {
    const balances: Record<string, string> = {}
    for (const [id, status] of Object.entries(await this.balanceStatus())) balances[id] = status.balance
    const connected: Record<string, boolean> = {}
    for (const account of this.connector.getAccounts()) connected[account.id] = isConnected(account)
    return { balances, connected, localRoutingTable: this.localRoutingTable() }
  }

  /**
   * The route-exchange package's status; without one (`routeBroadcastEnabled: false` or not installed) the
   * same shape from the routing table: nothing advertised, no peers.
   */
  getRouting (): unknown {
    const status = this.connector.getRouting()?.getStatus?.()
    if (status !== undefined) return status
    return {
      routingTableId: null,
      currentEpoch: 0,
      localRoutingTable: this.localRoutingTable(),
      forwardingRoutingTable: {},
      routingLog: [],
      peers: {}
    }
  }

  getAccounts (): { address: string, accounts: Record<string, { info: ReturnType<typeof accountInfo>, connected: boolean, adminInfo: boolean }> } {
    const accounts: Record<string, { info: ReturnType<typeof accountInfo>, connected: boolean, adminInfo: boolean }> = {}
    for (const account of this.connector.getAccounts()) {
      accounts[account.id] = {
        info: accountInfo(account),
        connected: isConnected(account),
        adminInfo: typeof account.plugin.getAdminInfo === 'function'
      }
    }
    return { address: this.connector.getOwnAddress(), accounts }
  }

  private localRoutingTable (): Record<string, RouteJson> {
    const table: Record<string, RouteJson> = {}
    for (const [prefix, route] of this.connector.routingTable.entries()) table[prefix] = routeJson(route)
    return table
  }

  // ---- /health/ready ------------------------------------------------------------------------------------

  /**
   * 200 once start-up has finished (the backend connected, our address known, every plugin asked to connect),
   * 503 before and from shutdown on; either way the accounts whose plugin is not connected now.
   */
  getReadiness (): JsonReply {
    const ready = this.connector.state === 'started'
    const notConnected: string[] = []
    for (const account of this.connector.getAccounts()) if (!isConnected(account)) notConnected.push(account.id)
    return new JsonReply(ready ? 200 : 503, { ready, state: this.connector.state, notConnected })
  }

  // ---- /accounts/:id -----------------------------------------------------------------------------------

  private account (id: string): Account {
    if (!ACCOUNT_ID.test(id)) throw new HttpError(400, 'invalid account.')
    const account = this.connector.getAccount(id)
    if (account === undefined) throw new HttpError(404, `account does not exist. account=${id}`)
    return account
  }

  async getAccountAdminInfo (id: string): Promise<{ account: string, plugin: string, info: unknown }> {
    const account = this.account(id)
    if (typeof account.plugin.getAdminInfo !== 'function') throw new HttpError(404, `plugin has no admin info. account=${id}`)
    return { account: id, plugin: pluginName(account), info: await account.plugin.getAdminInfo() }
  }

  async sendAccountAdminInfo (id: string, body: unknown): Promise<{ account: string, plugin: string, result: unknown }> {
    if (body === undefined || body === null) throw new HttpError(400, 'no json body provided to set admin info.')
    const account = this.account(id)
    if (typeof account.plugin.sendAdminInfo !== 'function') {
      throw new HttpError(404, `plugin does not support sending admin info. account=${id}`)
    }
    return { account: id, plugin: pluginName(account), result: await account.plugin.sendAdminInfo(body) }
  }

  /** Not in the reference: takes an account off the connector (handlers, middleware state, routes), then disconnects it. */
  async removeAccount (id: string): Promise<undefined> {
    this.account(id)
    await this.connector.removePlugin(id)
    this.connector.logger.info({ account: id }, 'account removed through the admin API')
    return undefined
  }

  // ---- /balance ----------------------------------------------------------------------------------------

  private balanceAdmin (): BalanceAdmin | undefined {
    return this.connector.getService('balanceAdmin')
  }

  private async balanceStatus (): Promise<Record<string, BalanceStatus>> {
    return await this.balanceAdmin()?.getBalances() ?? {}
  }

  /** `{accounts: {id: {balance, minimum, maximum}}}`; `{}` when the balance middleware does not run (as the reference). */
  async getBalances (): Promise<{ accounts?: Record<string, BalanceStatus> }> {
    const admin = this.balanceAdmin()
    if (admin === undefined) return {}
    return { accounts: await admin.getBalances() }
  }

  /** Adds `amountDiff` to an account's balance (negative: subtracts, then the account may settle). */
  async postBalance (body: unknown): Promise<undefined> {
    const { accountId, amountDiff } = validateBalanceUpdate(body)
    const account = this.connector.getAccount(accountId)
    if (account === undefined) throw new HttpError(400, `invalid balance update: unknown account id. accountId=${accountId}`)
    const admin = this.balanceAdmin()
    if (admin === undefined) throw new HttpError(409, 'the balance middleware is not running (disableMiddleware); balances are not tracked')
    if ((await admin.getBalances())[accountId] === undefined) {
      throw new HttpError(400, `invalid balance update: the account has no balance settings, so its balance is not tracked. accountId=${accountId}`)
    }
    try {
      await admin.adjustBalance(accountId, amountDiff)
    } catch (err) {
      // The limits (T04 exceeded maximum / insufficient funds): the request is fine, the balance does not allow it.
      if (typeof (err as { ilpErrorCode?: unknown }).ilpErrorCode === 'string') throw new HttpError(409, (err as Error).message)
      throw err
    }
    return undefined
  }

  // ---- /settlements ------------------------------------------------------------------------------------

  private settlementAdmin (): SettlementAdmin | undefined {
    return this.connector.getService('settlementAdmin')
  }

  /**
   * `{settlements: [...]}`: the settlements whose outcome is unknown (oldest first), each with the account's asset
   * when the account is still there; `[]` when the balance middleware does not run.
   */
  getSettlements (): { settlements: Array<UnsettledSettlement & { assetCode?: string, assetScale?: number }> } {
    const unsettled = this.settlementAdmin()?.getUnsettled() ?? []
    return {
      settlements: unsettled.map((settlement) => {
        const account = this.connector.getAccount(settlement.accountId)
        return account === undefined ? settlement : { ...settlement, assetCode: account.assetCode, assetScale: account.assetScale }
      })
    }
  }

  /** Resolves an account's unsettled settlement with what the operator found out: `paid` or `not-paid`. */
  async resolveSettlement (accountId: string, body: unknown): Promise<SettlementResolution> {
    if (!ACCOUNT_ID.test(accountId)) throw new HttpError(400, 'invalid account.')
    const { outcome, id } = validateSettlementResolution(body)
    const admin = this.settlementAdmin()
    if (admin === undefined) throw new HttpError(409, 'the balance middleware is not running (disableMiddleware); settlements are not tracked')
    let resolution: SettlementResolution
    try {
      resolution = await admin.resolveSettlement(accountId, outcome, id)
    } catch (err) {
      if (isSettlementAdminError(err)) throw new HttpError(err.code === 'ERR_SETTLEMENT_NOT_FOUND' ? 404 : 409, err.message)
      throw err
    }
    this.connector.logger.info({ account: accountId, settlement: resolution.settlement.id, amount: resolution.settlement.amount, outcome },
      'unsettled settlement resolved through the admin API')
    return resolution
  }

  // ---- /rates, /metrics ----------------------------------------------------------------------------------

  /** `{src: {dst: rate}}` for every ordered pair of distinct accounts; a pair whose rate fails is left out. */
  async getRates (): Promise<Record<string, Record<string, number>>> {
    const ids = [...this.connector.getAccounts()].map((account) => account.id)
    const rates: Record<string, Record<string, number>> = {}
    const failed: string[] = []
    await Promise.all(ids.map(async (src) => {
      const row: Record<string, number> = rates[src] = {}
      for (const dst of ids) {
        if (dst === src) continue
        try {
          row[dst] = rateToNumber(await this.connector.getRate(src, dst))
        } catch (err) {
          failed.push(`${src}->${dst}: ${(err as Error).message}`)
        }
      }
    }))
    if (failed.length > 0 && this.connector.logger.isLevelEnabled('debug')) {
      this.connector.logger.debug({ failed }, 'admin API: some rates are not available; left out of GET /rates')
    }
    return rates
  }

  async getMetrics (): Promise<TextReply> {
    const metrics = this.connector.metricsExport
    return new TextReply(metrics.contentType, await metrics.text())
  }

  // ---- /alerts -----------------------------------------------------------------------------------------

  private alertAdmin (): AlertAdmin | undefined {
    return this.connector.getService('alertAdmin')
  }

  getAlerts (): { alerts: unknown[] } {
    return { alerts: this.alertAdmin()?.getAlerts() ?? [] }
  }

  deleteAlert (id: string): undefined {
    if (!/^[0-9]{1,16}$/.test(id)) throw new HttpError(400, 'invalid alert id')
    if (this.alertAdmin()?.deleteAlert(Number(id)) !== true) throw new HttpError(404, `alert not found. id=${id}`)
    return undefined
  }

  // ---- /addAccount -------------------------------------------------------------------------------------

  /**
   * Adds an account (validated by the connector), wires it into the middlewares and routes, and connects it.
   * Waits for the connection at most `initialConnectTimeout` ms, then answers `connected: false` while the
   * plugin keeps connecting (the reference waits without limit).
   */
  async addAccount (body: unknown): Promise<{ plugin: string, connected: boolean, error?: string }> {
    if (body === undefined || body === null) throw new HttpError(400, 'no json body provided to make plugin.')
    if (!isObject(body)) throw new HttpError(400, 'invalid account: expected a JSON object {id, options}')
    const { id, options } = body
    if (typeof id !== 'string' || !ACCOUNT_ID.test(id)) {
      throw new HttpError(400, `invalid account: id must be a string of letters, digits and _ . - ~, got ${JSON.stringify(id) ?? 'nothing'}`)
    }
    if (!isObject(options)) throw new HttpError(400, `invalid account: options must be an object (the account's configuration). accountId=${id}`)
    if (this.connector.getAccount(id) !== undefined) throw new HttpError(409, `account already exists. accountId=${id}`)

    const log = this.connector.logger
    const adding = this.connector.addPlugin(id, options as unknown as AccountConfig)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), this.connector.config.initialConnectTimeout) })
    try {
      const outcome = await Promise.race([adding.then(() => 'added' as const), timeout])
      if (outcome === 'timeout' && this.connector.getAccount(id) === undefined) await adding // still being set up: wait for it
      if (outcome === 'timeout') {
        adding.catch((err: Error) => log.warn({ err, account: id }, 'account added through the admin API failed to connect'))
      }
    } catch (err) {
      const account = this.connector.getAccount(id)
      if (account !== undefined) {
        // Added, but the plugin failed to connect: it stays configured (DELETE /accounts/:id removes it).
        log.warn({ err, account: id }, 'account added through the admin API failed to connect')
        return { plugin: id, connected: isConnected(account), error: (err as Error).message }
      }
      throw refusal(err)
    } finally {
      clearTimeout(timer)
    }
    log.info({ account: id, plugin: options.plugin }, 'account added through the admin API')
    const account = this.connector.getAccount(id)
    return { plugin: id, connected: account !== undefined && isConnected(account) }
  }
}

/** The connector's refusal of an account as a 400: its config issues, or a plugin package it cannot load. */
function refusal (err: unknown): unknown {
  const e = err as { issues?: unknown, code?: unknown, message?: string }
  if (Array.isArray(e.issues)) {
    const issues = e.issues as Array<{ path?: unknown, message?: unknown }>
    return new HttpError(400, 'invalid account: ' + issues.map((issue) => `${String(issue.path)}: ${String(issue.message)}`).join('; '))
  }
  if (typeof e.code === 'string' && e.code.startsWith('ERR_PACKAGE')) return new HttpError(400, `invalid account: ${e.message ?? ''}`)
  return err
}

/** The reference's BalanceUpdate schema, enforced (the reference computes the check and ignores it). */
export function validateBalanceUpdate (body: unknown): { accountId: string, amountDiff: bigint } {
  const invalid = (reason: string): HttpError => new HttpError(400, `invalid balance update: ${reason}`)
  if (body === undefined) throw invalid('no JSON body; expected {"accountId": "<id>", "amountDiff": "<signed integer>"}')
  if (!isObject(body)) throw invalid('expected a JSON object {"accountId": "<id>", "amountDiff": "<signed integer>"}')
  const extra = Object.keys(body).filter((key) => key !== 'accountId' && key !== 'amountDiff')
  if (extra.length > 0) throw invalid(`unknown properties: ${extra.join(', ')}`)
  const { accountId, amountDiff } = body
  if (accountId === undefined) throw invalid('accountId is required')
  if (typeof accountId !== 'string' || accountId === '') throw invalid('accountId must be a non-empty string')
  if (amountDiff === undefined) throw invalid('amountDiff is required')
  if (typeof amountDiff !== 'string' || !AMOUNT_DIFF.test(amountDiff)) {
    throw invalid(`amountDiff must be a string holding a signed integer (e.g. "12" or "-34"), got ${JSON.stringify(amountDiff)}`)
  }
  return { accountId, amountDiff: BigInt(amountDiff) }
}

/** `POST /settlements/:account`'s body: `{"outcome": "paid" | "not-paid", "id"?: "<the settlement's id>"}`. */
export function validateSettlementResolution (body: unknown): { outcome: SettlementOutcome, id?: string } {
  const invalid = (reason: string): HttpError => new HttpError(400, `invalid settlement resolution: ${reason}`)
  const shape = 'expected {"outcome": "paid" | "not-paid", "id": "<settlement id, optional>"}'
  if (body === undefined) throw invalid(`no JSON body; ${shape}`)
  if (!isObject(body)) throw invalid(shape)
  const extra = Object.keys(body).filter((key) => key !== 'outcome' && key !== 'id')
  if (extra.length > 0) throw invalid(`unknown properties: ${extra.join(', ')}`)
  const { outcome, id } = body
  if (outcome !== 'paid' && outcome !== 'not-paid') throw invalid(`outcome must be "paid" or "not-paid", got ${JSON.stringify(outcome) ?? 'nothing'}`)
  if (id !== undefined && (typeof id !== 'string' || id === '')) throw invalid(`id must be a non-empty string, got ${JSON.stringify(id)}`)
  return id === undefined ? { outcome } : { outcome, id }
}
