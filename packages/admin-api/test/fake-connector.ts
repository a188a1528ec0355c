/**
 * A ConnectorHandle for the admin API's unit tests: accounts made with @conn/testkit, a routing table from a
 * list, sinon stubs for the account operations and the middlewares' admin methods.
 */
import sinon from 'sinon'
import { MapBalances, RecordingLogger, fakeAccount, type FakeAccountOptions } from '@conn/testkit'
import {
  SettlementAdminError,
  type Account, type AccountConfig, type ConnectorConfig, type ConnectorHandle, type Middleware, type MetricsExport, type Rate, type Route, type Routing,
  type RoutingTableView, type ConnectorState, type SettlementAdmin, type SettlementOutcome, type SettlementResolution, type UnsettledSettlement
} from '@conn/types'

export interface FakeConnector extends ConnectorHandle {
  readonly logger: RecordingLogger
  readonly accounts: Map<string, Account>
  readonly middlewares: Map<string, Middleware>
  routes: Array<[string, Route]>
  routing: Routing | undefined
  state: ConnectorState
  rates: (src: string, dst: string) => Promise<Rate>
  addPlugin: sinon.SinonStub<[string, AccountConfig], Promise<void>>
  removePlugin: sinon.SinonStub<[string], Promise<void>>
  /** Adds an account made by fakeAccount. */
  add (options: FakeAccountOptions): Account
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
export const METRICS_TEXT = '# HELP ilp_connector_balance Balances on peer account\n# TYPE ilp_connector_balance gauge\n' +
  'ilp_connector_balance{account="alice",asset="USD",scale="9"} 5\n'
export const METRICS_JSON = [{ name: 'ilp_connector_balance', help: 'Balances on peer account', type: 'gauge', values: [] }]

export function fakeConnector (config: Partial<ConnectorConfig> = {}): FakeConnector {
  const accounts = new Map<string, Account>()
  const middlewares = new Map<string, Middleware>()
  const fullConfig = {
    ilpAddress: 'test.conn',
    adminApi: true,
    adminApiHost: '127.0.0.1',
    adminApiPort: 0,
    adminApiToken: '',
    initialConnectTimeout: 10000,
    ...config
  } as ConnectorConfig
  const connector: FakeConnector = {
    config: fullConfig,
    logger: new RecordingLogger(),
    accounts,
    middlewares,
    routes: [],
    routing: undefined,
    state: 'started',
    rates: async () => 1,
    balances: new MapBalances(),
    getOwnAddress: () => 'test.conn',
    getAccount: (id) => accounts.get(id),
    getAccounts: () => accounts.values(),
    getMiddleware: (name) => middlewares.get(name),
    getService: (name) => {
      for (const middleware of middlewares.values()) {
        const service = middleware.services?.[name]
        if (service !== undefined) return service as never
      }
      return undefined
    },
    getRouting: () => connector.routing,
    get routingTable (): RoutingTableView {
      return { entries: () => connector.routes } as unknown as RoutingTableView
    },
    getRate: async (src, dst) => await connector.rates(src, dst),
    metricsExport: {
      contentType: METRICS_CONTENT_TYPE,
      text: async () => METRICS_TEXT,
      json: async () => METRICS_JSON
    } satisfies MetricsExport,
    addPlugin: sinon.stub<[string, AccountConfig], Promise<void>>().resolves(),
    removePlugin: sinon.stub<[string], Promise<void>>().resolves(),
    add (options) {
      const account = fakeAccount(options)
      accounts.set(account.id, account)
      return account
    }
  }
  return connector
}

/** A balance middleware's admin side, as @conn/middleware-balance has it. */
export function fakeBalanceMiddleware (): Middleware & {
  getBalances: sinon.SinonStub<[], Promise<Record<string, { balance: string, minimum: string, maximum: string }>>>
  adjustBalance: sinon.SinonStub<[string, bigint], Promise<bigint>>
} {
  const balance = {
    name: 'balance',
    getBalances: sinon.stub<[], Promise<Record<string, { balance: string, minimum: string, maximum: string }>>>().resolves({
      alice: { balance: '100', minimum: '-Infinity', maximum: '1000' },
      bob: { balance: '-94', minimum: '-500', maximum: 'Infinity' }
    }),
    adjustBalance: sinon.stub<[string, bigint], Promise<bigint>>().resolves(0n)
  }
  return Object.assign(balance, { services: { balanceAdmin: balance } })
}

export interface FakeAlert { id: number, accountId: string, triggeredBy: string, message: string, count: number, createdAt: Date, updatedAt: Date }

/** An alert middleware's admin side, as @conn/middleware-alert has it. */
export function fakeAlertMiddleware (alerts: FakeAlert[]): Middleware & {
  getAlerts: () => FakeAlert[]
  deleteAlert: sinon.SinonSpy<[number], boolean>
  raiseAlert: (fields: { accountId: string, triggeredBy: string, message: string }) => FakeAlert
} {
  const alert = {
    name: 'alert',
    getAlerts: () => [...alerts],
    deleteAlert: sinon.spy((id: number) => {
      const index = alerts.findIndex((alert) => alert.id === id)
      if (index < 0) return false
      alerts.splice(index, 1)
      return true
    }),
    raiseAlert: (fields: { accountId: string, triggeredBy: string, message: string }): FakeAlert => {
      const raised = { id: alerts.length + 1, ...fields, count: 1, createdAt: new Date(), updatedAt: new Date() }
      alerts.push(raised)
      return raised
    }
  }
  return Object.assign(alert, { services: { alertAdmin: alert } })
}

/**
 * A balance middleware's settlement side, as @conn/middleware-balance has it: unsettled settlements in memory,
 * resolved with its errors; `paid` adds the amount to `balances` (what the real one books).
 */
export function fakeSettlementMiddleware (unsettled: UnsettledSettlement[], balances: Map<string, bigint> = new Map()): Middleware & SettlementAdmin & {
  resolutions: Array<[string, SettlementOutcome, string | undefined]>
} {
  const resolutions: Array<[string, SettlementOutcome, string | undefined]> = []
  const settlement = {
    name: 'balance',
    resolutions,
    getUnsettled: () => unsettled.map((u) => ({ ...u })),
    resolveSettlement: async (accountId: string, outcome: SettlementOutcome, id?: string): Promise<SettlementResolution> => {
      resolutions.push([accountId, outcome, id])
      const index = unsettled.findIndex((u) => u.accountId === accountId)
      const found = unsettled[index]
      if (found === undefined) throw new SettlementAdminError('ERR_SETTLEMENT_NOT_FOUND', `no unsettled settlement for account ${accountId}`)
      if (id !== undefined && id !== found.id) {
        throw new SettlementAdminError('ERR_SETTLEMENT_MISMATCH', `the unsettled settlement of account ${accountId} is ${found.id} (${found.amount}), not ${id}`)
      }
      unsettled.splice(index, 1)
      const balance = (balances.get(accountId) ?? 0n) + (outcome === 'paid' ? BigInt(found.amount) : 0n)
      balances.set(accountId, balance)
      return { settlement: found, outcome, balance: String(balance), resolvedBy: 'operator' }
    }
  }
  return Object.assign(settlement, { services: { settlementAdmin: settlement } })
}
