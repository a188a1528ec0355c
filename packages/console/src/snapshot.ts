/**
 * What the console shows, read from the connector in one go: accounts (relation, asset, connection, balance within
 * its limits, settlement), the routing table with the kind of each route, exchange rates and recent alerts. Plain
 * JSON with no secrets: no plugin options, no admin info, nothing a peer's credentials could be read from.
 */
import { pluginName, rateToNumber } from '@conn/admin-api'
import type { Account, ConnectorHandle } from '@conn/types'

export type RouteKind = 'self' | 'local' | 'static' | 'ccp'

export interface AccountView {
  id: string
  relation: string
  assetCode: string
  assetScale: number
  plugin: string
  connected: boolean
  /** Integer strings; `-Infinity`/`Infinity` for no limit. Absent when the balance is not tracked. */
  balance?: { balance: string, minimum: string, maximum: string }
  /** The account's settlement settings and the amount of a settlement whose outcome is unknown. */
  settlement?: { settleThreshold?: string, settleTo?: string, unsettled?: string }
}

export interface RouteView {
  prefix: string
  nextHop: string
  path: string[]
  kind: RouteKind
}

export interface AlertView {
  id: number
  accountId: string
  triggeredBy: string
  message: string
  count: number
  updatedAt: string
}

export interface Snapshot {
  address: string
  state: string
  time: number
  /** Whether an admin token is configured (without one the console is read-only). */
  tokenConfigured: boolean
  accounts: AccountView[]
  routes: RouteView[]
  rates: Record<string, Record<string, number>>
  alerts: AlertView[]
}

/** Alerts shown: the newest. */
const MAX_ALERTS = 50
/** Routes shown; a connector with a full table has more than a page can draw. */
const MAX_ROUTES = 500
/** Beyond this many accounts rates are not read (n² pairs per snapshot). */
const MAX_RATE_ACCOUNTS = 20

export async function takeSnapshot (connector: ConnectorHandle, hidden: ReadonlySet<string>): Promise<Snapshot> {
  const accounts = [...connector.getAccounts()].filter((account) => !hidden.has(account.id))
  const balances = await connector.getService('balanceAdmin')?.getBalances() ?? {}
  const unsettled = new Map((connector.getService('settlementAdmin')?.getUnsettled() ?? []).map((s) => [s.accountId, s.amount]))
  const alerts = connector.getService('alertAdmin')?.getAlerts() ?? []
  return {
    address: connector.getOwnAddress(),
    state: connector.state,
    time: Date.now(),
    tokenConfigured: (connector.config.adminApiToken ?? '') !== '',
    accounts: accounts.map((account) => accountView(account, balances[account.id], unsettled.get(account.id))),
    routes: routeViews(connector, hidden),
    rates: await rates(connector, accounts),
    alerts: alerts.slice(-MAX_ALERTS).map((alert) => ({
      id: alert.id,
      accountId: alert.accountId,
      triggeredBy: alert.triggeredBy,
      message: alert.message,
      count: alert.count,
      updatedAt: new Date(alert.updatedAt).toISOString()
    }))
  }
}

function accountView (account: Account, balance: AccountView['balance'], unsettled: string | undefined): AccountView {
  const config = account.config as { balance?: { settleThreshold?: string | number, settleTo?: string | number } }
  const view: AccountView = {
    id: account.id,
    relation: account.relation,
    assetCode: account.assetCode,
    assetScale: account.assetScale,
    plugin: pluginName(account),
    connected: isConnected(account)
  }
  if (balance !== undefined) view.balance = { balance: balance.balance, minimum: balance.minimum, maximum: balance.maximum }
  const settle = config.balance
  if (settle?.settleThreshold !== undefined || unsettled !== undefined) {
    view.settlement = {}
    if (settle?.settleThreshold !== undefined) view.settlement.settleThreshold = String(settle.settleThreshold)
    if (settle?.settleTo !== undefined) view.settlement.settleTo = String(settle.settleTo)
    if (unsettled !== undefined) view.settlement.unsettled = unsettled
  }
  return view
}

function isConnected (account: Account): boolean {
  try {
    return account.plugin.isConnected()
  } catch {
    return false
  }
}

/**
 * The routing table with where each route comes from: `self` (our address), `static` (the `routes` option),
 * `local` (a child's address or the default route: no path) or `ccp` (learnt from a peer: the path it came by).
 */
function routeViews (connector: ConnectorHandle, hidden: ReadonlySet<string>): RouteView[] {
  const statics = new Set(connector.config.routes.map((route) => `${route.targetPrefix}\u0000${route.peerId}`))
  const views: RouteView[] = []
  for (const [prefix, route] of connector.routingTable.entries()) {
    if (hidden.has(route.nextHop)) continue
    const kind: RouteKind = route.nextHop === ''
      ? 'self'
      : statics.has(`${prefix}\u0000${route.nextHop}`) ? 'static' : route.path.length === 0 ? 'local' : 'ccp'
    views.push({ prefix, nextHop: route.nextHop, path: [...route.path], kind })
    if (views.length >= MAX_ROUTES) break
  }
  return views
}

async function rates (connector: ConnectorHandle, accounts: Account[]): Promise<Record<string, Record<string, number>>> {
  const table: Record<string, Record<string, number>> = {}
  if (accounts.length > MAX_RATE_ACCOUNTS) return table
  for (const src of accounts) {
    const row: Record<string, number> = {}
    for (const dst of accounts) {
      if (dst === src) continue
      try {
        row[dst.id] = rateToNumber(await connector.getRate(src.id, dst.id))
      } catch {
        // The backend has no rate for this pair (e.g. an asset the ECB does not publish): left out.
      }
    }
    table[src.id] = row
  }
  return table
}
