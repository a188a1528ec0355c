/**
 * A cluster: several connectors on one shared store (Redis) that deliver to any account connected to any of
 * them. A store that offers it has a `cluster` (see Store); the connector starts it once its accounts are
 * attached, and asks it at the packet path's last step where a Prepare to an account that is not connected
 * here goes. The Prepare has run the whole outgoing pipeline on this connector (balance, limits, expiry)
 * before it is handed over; the member that holds the connection passes its bytes straight to the account's
 * plugin.
 */
import type { Account } from './account.ts'
import type { Logger } from './logger.ts'
import type { IlpPrepare } from './packet.ts'
import type { Plugin } from './plugin.ts'

/** What a cluster needs from the connector. */
export interface ClusterHost {
  readonly logger: Logger
  getOwnAddress (): string
  getAccount (id: string): Account | undefined
  getAccounts (): Iterable<Account>
  /** Connections coming and going (and accounts added or removed): the cluster tells the others at once. */
  on (event: 'account-connect' | 'account-disconnect' | 'account-added' | 'account-removed', listener: (accountId: string) => void): void
  off (event: 'account-connect' | 'account-disconnect' | 'account-added' | 'account-removed', listener: (accountId: string) => void): void
  /**
   * A route another member learned from an account connected to it (route exchange with a peer that member
   * holds), or its withdrawal (undefined): the host puts it in its routing table as learned from that account,
   * so a packet for the prefix goes to the account, and through the cluster to the member holding it.
   */
  importRoute (accountId: string, prefix: string, route: SharedRoute | undefined): void
}

/** A route as members share it: the path and auth the peer advertised. */
export interface SharedRoute {
  path: string[]
  auth?: Buffer
}

export interface Cluster {
  /** Registers this member and starts serving the others; called once the accounts are attached. */
  start (host: ClusterHost): Promise<void>
  /** Whether another live member holds a connection for the account (asked when it is not connected here). */
  reaches (accountId: string): boolean
  /**
   * The last step of the outgoing pipeline: when the Prepare's next hop (or, for a plugin with clients, the
   * client its destination names) is connected to another live member and not here, sends `packet` there and
   * resolves with the reply (rejects with an IlpError, T01 when that member is lost before it answers).
   * Undefined when the packet leaves through the local plugin. No store call: answered from memory.
   */
  send (account: Account, prepare: IlpPrepare, packet: Buffer): Promise<Buffer> | undefined
  /**
   * One routing view: a route this connector learned (or lost: undefined) from an account, reported by its
   * routing table. A cluster that implements it shares the routes of the accounts connected here with the
   * other members (which get them through ClusterHost.importRoute); routes of accounts not connected here are
   * the others' and are ignored.
   */
  shareRoute? (accountId: string, prefix: string, route: SharedRoute | undefined): void
  /** Deregisters (the others stop sending here), answers what is in flight (at most `timeout` ms), closes. */
  stop (timeout?: number): Promise<void>
}

/**
 * A plugin that serves many clients under its account's address (mini-accounts): `<prefix><client>[.more]`.
 * It says which clients are connected, and emits `client-connect` / `client-disconnect` with the client's name.
 */
export interface ClientsPlugin extends Plugin {
  /** The account's address plus '.' ('' before it is known). */
  getPrefix (): string
  /** The clients with at least one live connection. */
  getAccounts (): string[]
  /** Whether the client has a live connection here. */
  hasAccount (client: string): boolean
}

export function isClientsPlugin (plugin: Plugin): plugin is ClientsPlugin {
  const p = plugin as Partial<ClientsPlugin>
  return typeof p.getPrefix === 'function' && typeof p.getAccounts === 'function' && typeof p.hasAccount === 'function'
}
