/**
 * Middlewares wrap the packet path like an onion (as in koa-compose): work before `next(ctx)` sees the
 * Prepare, work after it sees the reply. The connector composes each direction ONCE from every
 * middleware's handler; one middleware instance serves all accounts and keeps per-account state itself.
 */
import type { Account } from './account.ts'
import type { Balances } from './balances.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import type { IlpPrepare } from './packet.ts'
import type { Store } from './store.ts'
import type { ConnectorServices, ServiceName } from './services.ts'
import type { PacketTrace } from './tracing.ts'

export interface PacketContext {
  /** incomingData: the account the Prepare came from; outgoingData: the next hop. */
  readonly account: Account
  /** The Prepare; a middleware may replace it (the echo middleware does) before calling next. */
  prepare: IlpPrepare
  /** outgoingData only: the context of the incoming packet this one forwards. */
  readonly incoming: PacketContext | undefined
  /** Set while the packet is traced (someone subscribes to TRACE_CHANNELS); undefined otherwise. */
  trace?: PacketTrace
}

export interface MoneyContext {
  readonly account: Account
  /** Amount in the account's base units. */
  readonly amount: bigint
}

/**
 * Resolves with the serialized Fulfill or Reject, or rejects with an IlpError. It never throws synchronously
 * (the connector turns a handler that throws into a rejected promise), so a handler may chain on it with
 * `then` instead of being an async function: on the packet path that saves an async frame per packet.
 */
export type NextData = (ctx: PacketContext) => Promise<Buffer>
export type NextMoney = (ctx: MoneyContext) => Promise<void>
export type DataHandler = (ctx: PacketContext, next: NextData) => Promise<Buffer>
export type MoneyHandler = (ctx: MoneyContext, next: NextMoney) => Promise<void>

export interface Middleware {
  /** The name it is configured and placed by (`balance`, `expire`, ...). */
  readonly name: string
  incomingData?: DataHandler
  outgoingData?: DataHandler
  incomingMoney?: MoneyHandler
  outgoingMoney?: MoneyHandler
  /** Once, when the connector starts (before accounts connect). */
  start? (): Promise<void> | void
  /** Once, at shutdown, after every account was removed. */
  stop? (): Promise<void> | void
  /** For each account, when the connector starts or the account is added later. */
  addAccount? (account: Account): Promise<void> | void
  /** For each account, when it is removed or the connector shuts down. */
  removeAccount? (account: Account): Promise<void> | void
  /** The services it offers other packages, as its manifest's `provides` declares. */
  readonly services?: Partial<ConnectorServices>
}

/** What the connector offers a middleware when it creates it. */
export interface MiddlewareApi {
  readonly logger: Logger
  /** The connector's store; use a key prefix of your own (`<middleware name>:`). */
  readonly store: Store
  /** The connector's ILP address now (it may be learned from a parent after creation). */
  getOwnAddress (): string
  getAccount (id: string): Account | undefined
  getAccounts (): Iterable<Account>
  /** Send money to an account through the outgoing money pipeline (settlement). */
  sendMoney (accountId: string, amount: bigint): Promise<void>
  /** Account balances, kept atomically in the connector's store. */
  readonly balances: Balances
  /** Counters and gauges in the connector's metrics registry. */
  readonly metrics: Metrics
  /**
   * A service another middleware provides (see services.ts), or undefined when none does. Ask when you need it,
   * not in the constructor: every middleware is created before the services are known.
   */
  getService<K extends ServiceName> (name: K): ConnectorServices[K] | undefined
}
