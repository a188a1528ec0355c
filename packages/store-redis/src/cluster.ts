/**
 * The cluster of the redis store: every conn on one Redis prefix with `storeConfig.cluster` registers which
 * accounts it holds a live connection for (and, for a plugin with clients such as mini-accounts, which clients),
 * renews that entry every heartbeat, and reads the others'. A Prepare whose next hop is connected to another
 * member and not here goes there over the internal link (cluster-link.ts) once the whole outgoing pipeline ran
 * here. Lookups on the packet path are answered from memory, rebuilt at each heartbeat, at once when a member
 * announces a change (pub/sub), and when a link to a member goes up or down.
 *
 * Keys (under the store's prefix):
 *   cluster:members          sorted set: member id -> when its entry expires (ms, the member's clock; ids are
 *                            dropped a minute after that, liveness is the entry's own expiry in Redis)
 *   cluster:member:<id>      JSON { address, accounts, clients: { <account>: [client...] }, at }, PX ttl
 *   cluster:changed          pub/sub channel: a member's id, published when its entry changed
 *   cluster:routes:<id>      the routes a member learned from the peers it holds (see cluster-routes.ts)
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import {
  isClientsPlugin,
  type Account, type ClientsPlugin, type Cluster, type ClusterHost, type IlpPrepare, type Logger, type SharedRoute
} from '@conn/types'
import { LinkClient, LinkServer } from './cluster-link.ts'
import type { ClusterSettings } from './cluster-options.ts'
import { ClusterRoutes } from './cluster-routes.ts'

/** What a member's registry entry says. */
interface Entry {
  address: string
  accounts: string[]
  clients: Record<string, string[]>
  /** The version of the routes this member shares (cluster:routes:<id>); absent from members without sharing. */
  routes?: number
  at: number
}

interface Member {
  readonly id: string
  entry: Entry
  link: LinkClient
}

/** How long (ms) after its entry expired a member's id stays in `cluster:members`. */
const FORGET_AFTER = 60_000

type HostEvent = 'account-connect' | 'account-disconnect' | 'account-added' | 'account-removed'
const HOST_EVENTS: readonly HostEvent[] = ['account-connect', 'account-disconnect', 'account-added', 'account-removed']

export interface RedisClusterDeps {
  /** The store's Redis connection (open). */
  redis: () => Redis
  prefix: string
  logger: Logger | undefined
}

export class RedisCluster implements Cluster {
  /** This member's id, random per process. */
  readonly id = randomUUID()
  private host: ClusterHost | undefined
  private logger: Logger | undefined
  private server: LinkServer | undefined
  private subscriber: Redis | undefined
  private timer: NodeJS.Timeout | undefined
  private address = ''
  private stopped = false
  /** The other members, by id. */
  private readonly members = new Map<string, Member>()
  /** Lookups of the packet path: a plain account's owner, and a clients plugin's clients' owners, among live links. */
  private owners = new Map<string, Member>()
  private clientOwners = new Map<string, Map<string, Member>>()
  /** The accounts here whose plugin serves clients. */
  private readonly clientPlugins = new Map<string, ClientsPlugin>()
  /** This member's entry as last written, to publish only a change. */
  private lastWritten = ''
  private heartbeatRunning: Promise<void> | undefined
  private heartbeatAgain = false
  private refreshing: Promise<void> | undefined
  private refreshAgain = false
  private failing = false
  /** The routes shared with the others and imported from them (one routing view). */
  private routes: ClusterRoutes | undefined

  constructor (private readonly settings: ClusterSettings, private readonly deps: RedisClusterDeps) {}

  private key (suffix: string): string { return this.deps.prefix + 'cluster:' + suffix }

  async start (host: ClusterHost): Promise<void> {
    if (this.host !== undefined) throw new Error('the cluster is already started')
    this.host = host
    const logger = this.logger = host.logger.child({ member: this.id })
    const { secret, host: listenHost, port, advertise, heartbeat } = this.settings
    const server = this.server = new LinkServer({ secret, deliver: this.deliver, logger })
    const boundPort = await server.listen(listenHost, port)
    this.address = advertise ?? `${listenHost}:${boundPort}`
    this.routes = new ClusterRoutes(
      (accountId, prefix, route) => { host.importRoute(accountId, prefix, route) },
      (accountId) => this.isConnectedHere(accountId),
      (memberId) => this.members.has(memberId)
    )
    for (const account of host.getAccounts()) this.track(account.id)
    for (const event of HOST_EVENTS) host.on(event, this.onAccountEvent)
    host.on('account-disconnect', this.onAccountGone)
    host.on('account-removed', this.onAccountGone)
    const subscriber = this.subscriber = this.deps.redis().duplicate({ enableOfflineQueue: true, lazyConnect: true })
    subscriber.on('error', () => {})
    subscriber.on('message', (_channel: string, from: string) => { if (from !== this.id) this.refresh() })
    await subscriber.connect()
    await subscriber.subscribe(this.key('changed'))
    await this.beat()
    this.timer = setInterval(() => { this.heartbeat() }, heartbeat)
    this.timer.unref()
    logger.info({ address: this.address, heartbeat, ttl: this.settings.ttl }, 'cluster member started: delivering to accounts connected to other members')
  }

  reaches (accountId: string): boolean {
    return this.owners.has(accountId)
  }

  send (account: Account, prepare: IlpPrepare, packet: Buffer): Promise<Buffer> | undefined {
    const id = account.id
    const clients = this.clientPlugins.get(id)
    let member: Member | undefined
    if (clients === undefined) {
      if (account.plugin.isConnected()) return undefined
      member = this.owners.get(id)
    } else {
      const owners = this.clientOwners.get(id)
      if (owners === undefined) return undefined
      const prefix = clients.getPrefix()
      const destination = prepare.destination
      if (prefix === '' || !destination.startsWith(prefix)) return undefined
      const dot = destination.indexOf('.', prefix.length)
      const client = destination.slice(prefix.length, dot === -1 ? undefined : dot)
      if (clients.hasAccount(client)) return undefined
      member = owners.get(client)
    }
    if (member === undefined) return undefined
    return member.link.send(id, packet, prepare.expiresAt)
  }

  shareRoute (accountId: string, prefix: string, route: SharedRoute | undefined): void {
    if (this.stopped) return
    if (this.routes?.share(accountId, prefix, route) === true) this.heartbeat()
  }

  async stop (timeout = 30000): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.timer)
    const host = this.host
    if (host === undefined) return
    for (const event of HOST_EVENTS) host.off(event, this.onAccountEvent)
    host.off('account-disconnect', this.onAccountGone)
    host.off('account-removed', this.onAccountGone)
    for (const id of [...this.clientPlugins.keys()]) this.untrack(id)
    try {
      await this.deps.redis().multi()
        .del(this.key('member:' + this.id))
        .del(this.key('routes:' + this.id))
        .zrem(this.key('members'), this.id)
        .publish(this.key('changed'), this.id)
        .exec()
    } catch (err) {
      this.logger?.warn({ err }, 'cluster: could not remove this member from the registry (it expires by itself)')
    }
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect())
    // the others stop sending here; what they sent already is answered before our plugins go
    await this.server?.close(timeout)
    for (const member of this.members.values()) member.link.close()
    this.members.clear()
    this.rebuild()
    this.logger?.info('cluster member stopped')
  }

  // ---- the packets other members send here -----------------------------------------------------------

  /** Straight to the account's plugin: the sender ran the pipeline (balance, limits, expiry) already. */
  private readonly deliver = (accountId: string, packet: Buffer): Promise<Buffer> => {
    const account = this.host?.getAccount(accountId)
    if (account === undefined) return Promise.reject(new Error('no such account here. account=' + accountId))
    if (!this.clientPlugins.has(accountId) && !account.plugin.isConnected()) {
      return Promise.reject(new Error('account not connected here. account=' + accountId))
    }
    return account.plugin.sendData(packet)
  }

  // ---- this member's entry ------------------------------------------------------------------------------

  private readonly onAccountEvent = (accountId: string): void => {
    if (this.stopped) return
    this.untrack(accountId)
    this.track(accountId)
    this.heartbeat()
  }

  /** Its routes leave what this member shares at once (not only as the route exchange withdraws them). */
  private readonly onAccountGone = (accountId: string): void => {
    if (!this.stopped && this.routes?.dropAccount(accountId) === true) this.heartbeat()
  }

  private isConnectedHere (accountId: string): boolean {
    const account = this.host?.getAccount(accountId)
    if (account === undefined) return false
    try { return account.plugin.isConnected() } catch { return false }
  }

  private readonly onClientEvent = (): void => {
    if (!this.stopped) this.heartbeat()
  }

  private track (accountId: string): void {
    const plugin = this.host?.getAccount(accountId)?.plugin
    if (plugin === undefined || !isClientsPlugin(plugin)) return
    this.clientPlugins.set(accountId, plugin)
    plugin.on('client-connect', this.onClientEvent)
    plugin.on('client-disconnect', this.onClientEvent)
  }

  private untrack (accountId: string): void {
    const plugin = this.clientPlugins.get(accountId)
    if (plugin === undefined) return
    this.clientPlugins.delete(accountId)
    plugin.removeListener('client-connect', this.onClientEvent)
    plugin.removeListener('client-disconnect', this.onClientEvent)
  }

  /** What this member holds now. */
  private entry (): Omit<Entry, 'at'> {
    const routes = this.routes?.version ?? 0
    const accounts: string[] = []
    const clients: Record<string, string[]> = {}
    for (const account of this.host!.getAccounts()) {
      const plugin = this.clientPlugins.get(account.id)
      let connected: boolean
      try { connected = account.plugin.isConnected() } catch { connected = false }
      if (!connected) continue
      if (plugin === undefined) accounts.push(account.id)
      else clients[account.id] = plugin.getAccounts()
    }
    return { address: this.address, accounts, clients, routes }
  }

  /** Renews this member's entry and reads the others' (one at a time; a call meanwhile runs once more after). */
  private heartbeat (): void {
    if (this.heartbeatRunning !== undefined) {
      this.heartbeatAgain = true
      return
    }
    this.heartbeatRunning = this.beat().finally(() => {
      this.heartbeatRunning = undefined
      if (this.heartbeatAgain && !this.stopped) {
        this.heartbeatAgain = false
        this.heartbeat()
      }
    })
  }

  private async beat (): Promise<void> {
    if (this.stopped) return
    const { ttl } = this.settings
    const multi = this.deps.redis().multi()
    // the routes first: the entry written with them carries their new version
    const routesWrite = this.routes?.write(multi, this.key('routes:' + this.id), ttl)
    const entry = this.entry()
    const written = JSON.stringify(entry)
    const changed = written !== this.lastWritten
    const now = Date.now()
    try {
      multi
        .set(this.key('member:' + this.id), JSON.stringify({ ...entry, at: now }), 'PX', ttl)
        .zadd(this.key('members'), now + ttl, this.id)
        // ids whose entries are long gone (the entries themselves expire by Redis's clock, so members' clocks may differ)
        .zremrangebyscore(this.key('members'), '-inf', now - ttl - FORGET_AFTER)
      if (changed) multi.publish(this.key('changed'), this.id)
      const results = await multi.exec()
      const failed = results?.find(([err]) => err !== null)
      if (failed !== undefined) throw failed[0]!
      routesWrite?.written()
      this.lastWritten = written
      if (this.failing) this.logger?.info('cluster: the registry in Redis works again')
      this.failing = false
    } catch (err) {
      routesWrite?.failed()
      if (!this.failing) this.logger?.warn({ err }, 'cluster: could not renew this member\'s entry; trying again every heartbeat')
      this.failing = true
      return
    }
    await this.read()
  }

  // ---- the other members ------------------------------------------------------------------------------

  /** Reads the others' entries again (after a member announced a change); one at a time. */
  private refresh (): void {
    if (this.refreshing !== undefined) {
      this.refreshAgain = true
      return
    }
    this.refreshing = this.read().finally(() => {
      this.refreshing = undefined
      if (this.refreshAgain && !this.stopped) {
        this.refreshAgain = false
        this.refresh()
      }
    })
  }

  private async read (): Promise<void> {
    if (this.stopped) return
    let entries: Map<string, Entry>
    try {
      const redis = this.deps.redis()
      // an entry not renewed within ttl is gone (PX): mget answers null for it
      const ids = (await redis.zrange(this.key('members'), 0, -1)).filter((id) => id !== this.id)
      const values = ids.length === 0 ? [] : await redis.mget(ids.map((id) => this.key('member:' + id)))
      entries = new Map()
      for (let i = 0; i < ids.length; i++) {
        const value = values[i]
        if (typeof value !== 'string') continue
        try {
          entries.set(ids[i]!, JSON.parse(value) as Entry)
        } catch {
          this.logger?.warn({ member: ids[i] }, 'cluster: ignoring a member entry that is not JSON')
        }
      }
    } catch (err) {
      if (!this.failing) this.logger?.warn({ err }, 'cluster: could not read the other members\' entries')
      return
    }
    if (this.stopped) return
    this.apply(entries)
  }

  /** Takes the entries read: links to new members (and again to members whose link closed), lookups rebuilt. */
  private apply (entries: Map<string, Entry>): void {
    for (const [id, member] of this.members) {
      if (entries.has(id)) continue
      // gone from the registry: no new packets; the ones it has are answered before the link closes
      this.members.delete(id)
      member.link.close(true)
      this.routes?.forget(id)
    }
    for (const [id, entry] of entries) {
      const member = this.members.get(id)
      if (member !== undefined && member.entry.address === entry.address && !member.link.isClosed) {
        member.entry = entry
        continue
      }
      member?.link.close(true)
      this.members.set(id, { id, entry, link: this.connect(id, entry.address) })
    }
    for (const [id, entry] of entries) {
      if (typeof entry.routes === 'number') this.routes?.sync(this.deps.redis(), id, this.key('routes:' + id), entry.routes)
    }
    this.rebuild()
  }

  private connect (id: string, address: string): LinkClient {
    const colon = address.lastIndexOf(':')
    const link = new LinkClient({
      secret: this.settings.secret,
      memberId: this.id,
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      logger: this.logger!
    })
    link.on('up', () => {
      this.logger?.info({ member: id, address }, 'cluster: linked to member')
      this.rebuild()
    })
    link.on('down', () => {
      if (this.members.get(id)?.link === link) this.logger?.warn({ member: id, address }, 'cluster: link to member lost; its accounts are unreachable from here until it, or another member, holds them again')
      this.rebuild()
    })
    return link
  }

  /** The lookups of the packet path, from the members whose link is up. */
  private rebuild (): void {
    const owners = new Map<string, Member>()
    const clientOwners = new Map<string, Map<string, Member>>()
    for (const member of this.members.values()) {
      if (!member.link.isUp) continue
      for (const account of member.entry.accounts) if (!owners.has(account)) owners.set(account, member)
      for (const [account, clients] of Object.entries(member.entry.clients)) {
        let byClient = clientOwners.get(account)
        if (byClient === undefined) clientOwners.set(account, byClient = new Map())
        for (const client of clients) if (!byClient.has(client)) byClient.set(client, member)
      }
    }
    this.owners = owners
    this.clientOwners = clientOwners
  }
}
