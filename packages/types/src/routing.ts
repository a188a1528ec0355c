/**
 * Route exchange as a package (e.g. @conn/routing-ccp): it learns routes from peers and advertises ours.
 * The connector keeps the routing table and picks the best route per prefix (static, then local, then
 * learned); a routing package feeds learned routes in and watches the table to advertise changes.
 */
import type { Account } from './account.ts'
import type { ConnectorConfig } from './config.ts'
import type { Logger } from './logger.ts'
import type { PacketContext } from './middleware.ts'

export interface Route {
  /** Account id of the next hop; '' for the connector itself. */
  nextHop: string
  /** ILP addresses of the connectors the route passes through (empty for local routes). */
  path: string[]
  auth?: Buffer
}

export type RouteChangeListener = (prefix: string, route: Route | undefined) => void

export interface RoutingTableView {
  /** The route chosen for exactly this prefix. */
  get (prefix: string): Route | undefined
  /** Every prefix and its route, longest prefixes first. */
  entries (): Array<[string, Route]>
  /** Next hop for a destination by longest prefix. */
  resolve (destination: string): string | undefined
  /** Called whenever the route chosen for a prefix changes; returns an unsubscribe function. */
  onChange (listener: RouteChangeListener): () => void
  /** Records a route an account advertised (replacing its previous one for that prefix). */
  addLearnedRoute (accountId: string, prefix: string, route: { path: string[], auth?: Buffer }): void
  removeLearnedRoute (accountId: string, prefix: string): void
  removeLearnedRoutesOf (accountId: string): void
  /**
   * The prefixes an account advertised a route for (walks the table: for a disconnect, an expiry or a peer's
   * new table, not per update). A route exchange keeps no copy of what it learned: at 100,000 routes a copy
   * costs memory, and doubling its storage in the same update as the table's blocks the event loop twice as long.
   */
  learnedPrefixesOf (accountId: string): string[]
}

export type ConnectorEventName = 'account-connect' | 'account-disconnect' | 'account-added' | 'account-removed' | 'address-changed'

export interface RoutingApi {
  readonly logger: Logger
  readonly config: Readonly<ConnectorConfig>
  /** HMAC key for route auth values: `routingSecret` decoded, or random bytes when it is empty. */
  readonly routingSecret: Buffer
  getOwnAddress (): string
  getAccount (id: string): Account | undefined
  getAccounts (): Iterable<Account>
  readonly table: RoutingTableView
  /** Answers Prepares to `<prefix>` and `<prefix>.*` (they come through the incoming middlewares). */
  registerPeerProtocol (prefix: string, handler: (ctx: PacketContext) => Promise<Buffer>): void
  /** Sends a Prepare of ours straight through an account's plugin (no outgoing middlewares); resolves the reply. */
  sendPeerPacket (accountId: string, prepare: Buffer): Promise<Buffer>
  /** `account-*` listeners get the account id, `address-changed` the new address. */
  on (event: ConnectorEventName, listener: (value: string) => void): void
  off (event: ConnectorEventName, listener: (value: string) => void): void
}

export interface Routing {
  /** Called once the connector knows its address, before accounts connect. */
  start (): Promise<void> | void
  /** Called first at shutdown. */
  stop (): Promise<void> | void
  /** A JSON-ready picture of the routing state (the admin API's GET /routing). */
  getStatus? (): unknown
}
