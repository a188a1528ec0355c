/**
 * Test helpers: a small routing table with the core's selection rules, a fake RoutingApi around it whose
 * peers are FakePlugins (every Prepare sent to them is recorded and decoded), and CCP packet builders.
 */
import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import * as ccp from 'ilp-protocol-ccp'
import * as IlpPacket from 'ilp-packet'
import { FakePlugin, RecordingLogger, fakeAccount, packetContext } from '@conn/testkit'
import type {
  Account, AccountConfig, ConnectorConfig, ConnectorEventName, PacketContext, Relation, Route, RouteChangeListener,
  RoutingApi, RoutingTableView
} from '@conn/types'

export const PEER_PROTOCOL_CONDITION = createHash('sha256').update(Buffer.alloc(32)).digest()
export const ZERO_TABLE_ID = '00000000-0000-0000-0000-000000000000'
export const OTHER_TABLE_ID = '11111111-2222-4333-8444-555555555555'
export { ccp, IlpPacket }

const RANK: Record<Relation, number> = { child: 0, peer: 1, parent: 2 }

/** The core's choice per exact prefix: local, then learned by relation (child > peer > parent), path, id. */
export class FakeTable implements RoutingTableView {
  readonly local = new Map<string, Route>()
  readonly learned = new Map<string, Map<string, Route>>()
  private readonly chosen = new Map<string, Route>()
  private readonly listeners: RouteChangeListener[] = []

  constructor (private readonly relationOf: (id: string) => Relation | undefined) {}

  get (prefix: string): Route | undefined { return this.chosen.get(prefix) }

  entries (): Array<[string, Route]> {
    return [...this.chosen.entries()].sort(([a], [b]) => b.length - a.length)
  }

  resolve (destination: string): string | undefined {
    for (const [prefix, route] of this.entries()) {
      if (destination === prefix || destination.startsWith(prefix + '.')) return route.nextHop
    }
    return undefined
  }

  onChange (listener: RouteChangeListener): () => void {
    this.listeners.push(listener)
    return () => { this.listeners.splice(this.listeners.indexOf(listener), 1) }
  }

  setLocal (prefix: string, route: Route | undefined): void {
    if (route === undefined) this.local.delete(prefix)
    else this.local.set(prefix, route)
    this.recompute(prefix)
  }

  addLearnedRoute (accountId: string, prefix: string, route: { path: string[], auth?: Buffer }): void {
    let byAccount = this.learned.get(prefix)
    if (byAccount === undefined) this.learned.set(prefix, byAccount = new Map())
    byAccount.set(accountId, { nextHop: accountId, path: route.path, auth: route.auth })
    this.recompute(prefix)
  }

  removeLearnedRoute (accountId: string, prefix: string): void {
    if (this.learned.get(prefix)?.delete(accountId) === true) this.recompute(prefix)
  }

  removeLearnedRoutesOf (accountId: string): void {
    for (const prefix of [...this.learned.keys()]) this.removeLearnedRoute(accountId, prefix)
  }

  learnedPrefixesOf (accountId: string): string[] {
    return [...this.learned].filter(([, byAccount]) => byAccount.has(accountId)).map(([prefix]) => prefix)
  }

  /** Prefixes learned from an account. */
  learnedFrom (accountId: string): string[] {
    return [...this.learned].filter(([, byAccount]) => byAccount.has(accountId)).map(([prefix]) => prefix).sort()
  }

  private recompute (prefix: string): void {
    let best = this.local.get(prefix)
    if (best === undefined) {
      for (const route of this.learned.get(prefix)?.values() ?? []) {
        const relation = this.relationOf(route.nextHop)
        if (relation === undefined) continue
        if (best === undefined) { best = route; continue }
        const a = RANK[relation]
        const b = RANK[this.relationOf(best.nextHop)!]
        if (a < b || (a === b && (route.path.length < best.path.length ||
          (route.path.length === best.path.length && route.nextHop < best.nextHop)))) best = route
      }
    }
    const current = this.chosen.get(prefix)
    const same = current === undefined || best === undefined
      ? current === best
      : current.nextHop === best.nextHop && current.path.join(' ') === best.path.join(' ')
    if (same) return
    if (best === undefined) this.chosen.delete(prefix)
    else this.chosen.set(prefix, best)
    for (const listener of [...this.listeners]) listener(prefix, best)
  }
}

/** A Prepare some test account sent to a peer, decoded. */
export interface SentPacket {
  accountId: string
  destination: string
  /** Date.now() when it was sent (the fake clock's time in tests that use one). */
  at: number
  control?: ccp.CcpRouteControlRequest
  update?: ccp.CcpRouteUpdateRequest
}

export type Responder = (accountId: string, prepare: Buffer) => Promise<Buffer>

export interface FakeRoutingApiOptions {
  ownAddress?: string
  env?: 'production' | 'test'
  routeBroadcastInterval?: number
  routeExpiry?: number
  routeCleanupInterval?: number
  routingSecret?: Buffer
}

export interface FakeRouting {
  api: RoutingApi
  table: FakeTable
  logger: RecordingLogger
  accounts: Map<string, Account>
  /** Every Prepare sent through sendPeerPacket, oldest first. */
  sent: SentPacket[]
  /** Answers sendPeerPacket; default: the CCP Fulfill. */
  respond: Responder
  /** The `peer.route` handler the routing registered. */
  handler: (ctx: PacketContext) => Promise<Buffer>
  ownAddress: string
  /** Adds an account (connected unless said otherwise); its plugin is a FakePlugin. */
  addAccount: (id: string, relation: Relation, config?: Partial<AccountConfig>, connected?: boolean) => Account
  /** Emits a connector event to the routing's listeners. */
  emit: (event: ConnectorEventName, value: string) => void
  controls: (accountId?: string) => ccp.CcpRouteControlRequest[]
  updates: (accountId?: string) => ccp.CcpRouteUpdateRequest[]
}

export const CCP_FULFILL: Buffer = ccp.serializeCcpResponse()

export function fakeRouting (options: FakeRoutingApiOptions = {}): FakeRouting {
  const accounts = new Map<string, Account>()
  const table = new FakeTable((id) => accounts.get(id)?.relation)
  const logger = new RecordingLogger()
  const events = new EventEmitter()
  const sent: SentPacket[] = []
  const config = {
    env: options.env ?? 'test',
    routeBroadcastInterval: options.routeBroadcastInterval ?? 30000,
    routeExpiry: options.routeExpiry ?? 45000,
    routeCleanupInterval: options.routeCleanupInterval ?? 1000,
    routingSecret: '',
    accounts: {},
    routes: [],
    defaultRoute: 'auto'
  } as unknown as ConnectorConfig
  const fake: FakeRouting = {
    table,
    logger,
    accounts,
    sent,
    ownAddress: options.ownAddress ?? 'test.me',
    respond: async () => CCP_FULFILL,
    handler: async () => { throw new Error('no peer.route handler registered') },
    api: undefined as unknown as RoutingApi,
    addAccount: (id, relation, accountConfig = {}, connected = true) => {
      const account = fakeAccount({ id, relation, config: accountConfig, plugin: new FakePlugin({ connected }) })
      accounts.set(id, account)
      return account
    },
    emit: (event, value) => { events.emit(event, value) },
    controls: (accountId) => sent.filter((p) => p.control !== undefined && (accountId === undefined || p.accountId === accountId)).map((p) => p.control!),
    updates: (accountId) => sent.filter((p) => p.update !== undefined && (accountId === undefined || p.accountId === accountId)).map((p) => p.update!)
  }
  fake.api = {
    logger,
    config,
    routingSecret: options.routingSecret ?? Buffer.alloc(32, 7),
    getOwnAddress: () => fake.ownAddress,
    getAccount: (id) => accounts.get(id),
    getAccounts: () => accounts.values(),
    table,
    registerPeerProtocol: (prefix, handler) => {
      if (prefix !== 'peer.route') throw new Error('unexpected peer protocol ' + prefix)
      fake.handler = handler
    },
    sendPeerPacket: async (accountId, prepare) => {
      const packet = IlpPacket.deserializeIlpPrepare(prepare)
      const record: SentPacket = { accountId, destination: packet.destination, at: Date.now() }
      if (packet.destination === ccp.CCP_CONTROL_DESTINATION) record.control = ccp.deserializeCcpRouteControlRequestPayload(packet.data)
      if (packet.destination === ccp.CCP_UPDATE_DESTINATION) record.update = ccp.deserializeCcpRouteUpdateRequestPayload(packet.data)
      sent.push(record)
      return await fake.respond(accountId, prepare)
    },
    on: (event, listener) => { events.on(event, listener) },
    off: (event, listener) => { events.off(event, listener) }
  }
  return fake
}

/** A `peer.route.*` Prepare from an account, as the handler gets it. */
export function ccpContext (account: Account, destination: string, data: Buffer): PacketContext {
  return packetContext({ account, destination, data, amount: 0n, executionCondition: PEER_PROTOCOL_CONDITION })
}

export function controlData (fields: Partial<ccp.CcpRouteControlRequest> = {}): Buffer {
  return ccp.serializeCcpRouteControlRequestPayload({
    mode: ccp.Mode.MODE_SYNC,
    lastKnownRoutingTableId: ZERO_TABLE_ID,
    lastKnownEpoch: 0,
    features: [],
    ...fields
  })
}

export interface RouteFields {
  prefix: string
  path: string[]
  auth?: Buffer
}

export function updateRequest (fields: Partial<Omit<ccp.CcpRouteUpdateRequest, 'newRoutes'>> & { newRoutes?: RouteFields[] } = {}): ccp.CcpRouteUpdateRequest {
  const newRoutes = (fields.newRoutes ?? []).map((r) => ({ prefix: r.prefix, path: r.path, auth: r.auth ?? Buffer.alloc(32, 1), props: [] }))
  const toEpochIndex = fields.toEpochIndex ?? newRoutes.length + (fields.withdrawnRoutes?.length ?? 0)
  return {
    routingTableId: OTHER_TABLE_ID,
    currentEpochIndex: fields.currentEpochIndex ?? toEpochIndex,
    fromEpochIndex: 0,
    toEpochIndex,
    holdDownTime: 45000,
    speaker: 'test.peer',
    withdrawnRoutes: [],
    ...fields,
    newRoutes
  }
}

export function updateData (fields: Parameters<typeof updateRequest>[0] = {}): Buffer {
  return ccp.serializeCcpRouteUpdateRequestPayload(updateRequest(fields))
}

/** Decodes a reply: the code and message of a Reject, or 'fulfill'. */
export function replyOf (reply: Buffer): { type: 'fulfill', fulfillment: Buffer, data: Buffer } | { type: 'reject', code: string, message: string, triggeredBy: string } {
  if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
    const { fulfillment, data } = IlpPacket.deserializeIlpFulfill(reply)
    return { type: 'fulfill', fulfillment, data }
  }
  const { code, message, triggeredBy } = IlpPacket.deserializeIlpReject(reply)
  return { type: 'reject', code, message, triggeredBy }
}

export function sha256 (data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest()
}
