/**
 * The packet path, top to bottom, as a packet travels it:
 *
 *   1. bytes in from an account's plugin: parsed once (malformed: F01, never forwarded);
 *   2. the incoming pipeline (the middlewares' `incomingData`, outermost first);
 *   3. the switch, its innermost step: peer protocols (ILDCP, route exchange), the next hop by longest prefix,
 *      the rate, the amount, the expiry, checked in the reference connector's order so the same packet gets
 *      the same error code;
 *   4. the next hop's outgoing pipeline (`outgoingData`);
 *   5. bytes out to the next hop's plugin, and its reply back up the same way.
 *
 * Money takes the two money pipelines. The four pipelines are composed once, when the middlewares are known.
 */
import {
  AmountTooLargeError, BadRequestError, InvalidPacketError, PeerUnreachableError, UnreachableError,
  isIlpError,
  type Backend, type Cluster, type Logger, type Middleware, type MoneyContext, type PacketContext, type Rate
} from '@conn/types'
import type { ConnectorAccount } from './account.ts'
import type { PacketReporter } from './compat/reference-backend.ts'
import { outgoingExpiry, type ExpirySettings } from './expiry.ts'
import {
  isFulfill, isValidReply, MAX_UINT64, parsePrepare, patchPrepare, PEER_PROTOCOL_CONDITION, serializePrepare, serializeReject,
  serveIldcp
} from '@conn/codec'
import { compose } from './pipeline.ts'
import { startTrace, timedHandlers, timedTerminal, traceAnswer, traceForward, tracing } from './tracing.ts'
import { convert, rateToFraction } from './rate.ts'
import { childAddress, type RoutingTable } from './routing.ts'

/** Answers a peer protocol request (`peer.route.control`, ...) arriving from an account. */
export type PeerProtocolHandler = (ctx: PacketContext) => Promise<Buffer>

export interface SwitchSettings extends ExpirySettings {
  reflectPayments: boolean
  /** Most Prepares from one account in flight at once; more get T03 (an account's `maxPacketsInFlight` wins). */
  maxPacketsInFlight: number
}

/**
 * One account's Prepares in flight, and the callbacks that count them down when they are answered: made once
 * per account, so counting costs no closure per packet.
 */
export class InFlight {
  count = 0
  constructor (private readonly all: PacketSwitch, readonly maximum: number) {}
  readonly answered = (reply: Buffer): Buffer => { this.count--; this.all.answered(); return reply }
  readonly failed = (err: unknown): never => { this.count--; this.all.answered(); throw err }
}

export interface SwitchDeps {
  settings: SwitchSettings
  routingTable: RoutingTable
  getAccount: (id: string) => ConnectorAccount | undefined
  getOwnAddress: () => string
  backend: () => Backend
  logger: Logger
}

type Pipeline<C, R> = (ctx: C) => Promise<R>
type HandlerKind = 'incomingData' | 'outgoingData' | 'incomingMoney' | 'outgoingMoney'

export class PacketSwitch {
  /** Handlers of `peer.*` destinations other than `peer.config`, by prefix (`peer.route` for route exchange). */
  readonly peerProtocols = new Map<string, PeerProtocolHandler>()
  private incomingData: Pipeline<PacketContext, Buffer> = notStarted
  private outgoingData: Pipeline<PacketContext, Buffer> = notStarted
  /** The same two with each step timed, for the packets traced while someone subscribes (tracing.ts). */
  private incomingDataTimed: Pipeline<PacketContext, Buffer> = notStarted
  private outgoingDataTimed: Pipeline<PacketContext, Buffer> = notStarted
  private incomingMoney: Pipeline<MoneyContext, void> = notStarted
  private outgoingMoney: Pipeline<MoneyContext, void> = notStarted
  /** Prepares from every account in flight (answered or not, each is counted until its reply goes back). */
  private inFlight = 0
  /** Set by drain(): new Prepares get T03 at once, and `idle` resolves when the last one in flight is answered. */
  private draining = false
  private idle: (() => void) | undefined
  /** The store's cluster, when it runs one: accounts connected to another member are reached through it. */
  private cluster: Cluster | undefined

  constructor (private readonly deps: SwitchDeps) {}

  /** From now on, a next hop not connected here but to another cluster member is sent there (see sendData). */
  useCluster (cluster: Cluster | undefined): void {
    this.cluster = cluster
  }

  /** How many Prepares are in flight (for the drain, the admin API and tests). */
  get packetsInFlight (): number { return this.inFlight }

  /**
   * Stops taking new Prepares (each gets T03 at once) and resolves when every Prepare in flight has been
   * answered, or after `timeout` ms: true if all were answered.
   */
  async drain (timeout: number): Promise<boolean> {
    this.draining = true
    if (this.inFlight === 0) return true
    let timer: NodeJS.Timeout | undefined
    const answered = await Promise.race([
      new Promise<true>((resolve) => { this.idle = () => resolve(true) }),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeout) })
    ])
    clearTimeout(timer)
    this.idle = undefined
    return answered
  }

  /** Called by InFlight when one of its Prepares is answered. */
  answered (): void {
    if (--this.inFlight === 0 && this.idle !== undefined) this.idle()
  }

  /** Composes the four pipelines from the middlewares (outermost first), once. */
  compose (middlewares: readonly Middleware[]): void {
    const handlersOf = <K extends HandlerKind>(kind: K) => middlewares.flatMap((m) => {
      const handler = m[kind]
      return handler === undefined ? [] : [{ name: m.name, handler: handler.bind(m) as NonNullable<Middleware[K]> }]
    })
    this.incomingData = compose(handlersOf('incomingData'), this.forward)
    this.outgoingData = compose(handlersOf('outgoingData'), this.sendData)
    this.incomingDataTimed = compose(timedHandlers(handlersOf('incomingData'), 'incoming'), timedTerminal(this.forward, 'switch', 'incoming'))
    this.outgoingDataTimed = compose(timedHandlers(handlersOf('outgoingData'), 'outgoing'), timedTerminal(this.sendData, 'plugin', 'outgoing'))
    this.incomingMoney = compose(handlersOf('incomingMoney'), async () => {})
    this.outgoingMoney = compose(handlersOf('outgoingMoney'), sendMoney)
  }

  // ---- 1. bytes in ------------------------------------------------------------------------------------

  /**
   * A Prepare from an account's plugin: parsed once, counted while in flight, then the incoming pipeline. Never
   * throws. While the connector drains, or when the account has too many Prepares in flight, it is answered at
   * once with T03 (a temporary reject: the sender may retry, here later or elsewhere).
   */
  readonly handleData = (account: ConnectorAccount, data: Buffer): Promise<Buffer> => {
    if (this.draining) return Promise.resolve(this.reject('T03', 'connector is shutting down.'))
    if (account.closing) return Promise.resolve(this.reject('T03', 'account is being removed. account=' + account.id))
    let prepare
    try {
      prepare = parsePrepare(data)
    } catch (err) {
      const { logger } = this.deps
      if (logger.isLevelEnabled('debug')) logger.debug({ account: account.id, reason: (err as Error).message }, 'malformed packet rejected')
      return Promise.resolve(this.reject('F01', (err as Error).message))
    }
    const inFlight = account.inFlight ??= new InFlight(this, maxInFlightOf(account, this.deps.settings))
    if (inFlight.count >= inFlight.maximum) {
      return Promise.resolve(this.reject('T03', 'too many packets in flight from this account. account=' + account.id + ' maximum=' + inFlight.maximum))
    }
    inFlight.count++
    this.inFlight++
    const ctx: PacketContext = { account, prepare, incoming: undefined, trace: undefined }
    // someone subscribes to the trace channels: this packet takes the timed pipelines (see tracing.ts)
    if (tracing()) return this.traced(ctx, inFlight)
    // not async: the composed pipeline already returns a promise and never throws
    return this.incomingData(ctx).then(inFlight.answered, inFlight.failed)
  }

  private traced (ctx: PacketContext, inFlight: InFlight): Promise<Buffer> {
    startTrace(ctx)
    return this.incomingDataTimed(ctx).then((reply) => {
      traceAnswer(ctx, reply)
      return inFlight.answered(reply)
    }, inFlight.failed)
  }

  private reject (code: string, message: string): Buffer {
    return serializeReject({ code, triggeredBy: this.deps.getOwnAddress(), message, data: Buffer.alloc(0) })
  }

  /** Money an account's plugin says the counterparty sent us: the incoming money pipeline. */
  readonly handleMoney = async (account: ConnectorAccount, amount: string): Promise<void> => {
    if (!/^[0-9]{1,20}$/.test(amount)) throw new Error(`invalid amount from plugin. account=${account.id} amount=${amount}`)
    await this.incomingMoney({ account, amount: BigInt(amount) })
  }

  // ---- 3. the switch: the innermost step of the incoming pipeline ------------------------------------

  /** Not async (one frame less per packet): what it throws, the composed pipeline turns into a rejection. */
  private readonly forward = (ctx: PacketContext): Promise<Buffer> => {
    const { prepare, account: source } = ctx
    const destination = prepare.destination
    if (destination.startsWith('peer.')) return this.peerProtocol(ctx)
    if (destination === '') throw new InvalidPacketError('missing destination.')

    const { routingTable, settings } = this.deps
    const nextHopId = routingTable.resolve(destination)
    if (nextHopId === undefined || nextHopId === '') {
      throw new UnreachableError('no route found. source=' + source.id + ' destination=' + destination)
    }
    if (!settings.reflectPayments && nextHopId === source.id) {
      throw new UnreachableError('refusing to route payments back to sender. sourceAccount=' + source.id +
        ' destinationAccount=' + nextHopId)
    }
    const pending = this.deps.backend().getRate(source.id, nextHopId)
    return pending instanceof Promise
      ? pending.then((rate) => this.forwardAt(ctx, nextHopId, rate))
      : this.forwardAt(ctx, nextHopId, pending as Rate)
  }

  /** The rest of forwarding once the rate is known: convert, shorten the expiry, send, record. */
  private forwardAt (ctx: PacketContext, nextHopId: string, backendRate: Rate): Promise<Buffer> {
    const { prepare, account: source } = ctx
    const destination = prepare.destination
    const rate = rateToFraction(backendRate)
    const nextHop = this.deps.getAccount(nextHopId)
    if (nextHop === undefined) {
      throw new UnreachableError('no route found. source=' + source.id + ' destination=' + destination)
    }
    if (nextHop.closing) throw new PeerUnreachableError('account is being removed. account=' + nextHopId)
    if (!nextHop.isConnected() && this.cluster?.reaches(nextHopId) !== true) {
      throw new PeerUnreachableError('no connection to account. account=' + nextHopId)
    }

    const amount = convert(prepare.amount, rate)
    if (amount > MAX_UINT64) {
      // Tell the sender the largest amount that still converts into a UInt64, in its own units.
      const maximumAmount = MAX_UINT64 * rate.denominator / rate.numerator
      throw new AmountTooLargeError('packet size too large. maxAmount=' + maximumAmount + ' actualAmount=' + prepare.amount,
        { receivedAmount: prepare.amount, maximumAmount })
    }
    const expiresAt = outgoingExpiry(prepare.expiresAt, Date.now(), this.deps.settings)

    const outgoing: PacketContext = {
      account: nextHop,
      prepare: {
        amount,
        expiresAt,
        executionCondition: prepare.executionCondition,
        destination,
        data: prepare.data,
        raw: prepare.raw === undefined ? undefined : patchPrepare(prepare.raw, amount, expiresAt)
      },
      incoming: ctx,
      trace: undefined
    }
    const { logger } = this.deps
    // asked per packet, so a level changed at run time takes effect
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ from: source.id, to: nextHopId, destination, amount: String(prepare.amount), outAmount: String(amount) }, 'forwarding')
    }
    let reply: Promise<Buffer>
    if (ctx.trace === undefined) {
      reply = this.outgoingData(outgoing)
    } else {
      traceForward(ctx, outgoing)
      reply = this.outgoingDataTimed(outgoing)
    }
    const backend = this.deps.backend()
    if (backend.submitPayment === undefined) return reply
    // only a backend written for ilp-connector with submitPacket has reportPacket, and it always has submitPayment
    const reportPacket = (backend as Partial<PacketReporter>).reportPacket
    return reply.then((answer) => {
      if (reportPacket !== undefined) reportPacket(source.id, prepare, nextHopId, amount, answer)
      if (isFulfill(answer)) this.submitPayment(source.id, prepare.amount, nextHopId, amount)
      return answer
    })
  }

  private submitPayment (sourceAccount: string, sourceAmount: bigint, destinationAccount: string, destinationAmount: bigint): void {
    const backend = this.deps.backend()
    if (backend.submitPayment === undefined) return
    backend.submitPayment({
      sourceAccount,
      sourceAmount: sourceAmount.toString(),
      destinationAccount,
      destinationAmount: destinationAmount.toString()
    }).catch((err: Error) => this.deps.logger.warn({ err }, 'backend failed to record a payment'))
  }

  private async peerProtocol (ctx: PacketContext): Promise<Buffer> {
    const { destination, executionCondition } = ctx.prepare
    if (!executionCondition.equals(PEER_PROTOCOL_CONDITION)) {
      throw new InvalidPacketError('condition must be peer protocol condition.')
    }
    // A peer protocol request moves no money: an amount would be credited by the balance middleware on the way in
    // once we fulfill it (the reference does so). Refused before any handler sees it.
    if (ctx.prepare.amount !== 0n) {
      throw new InvalidPacketError('peer protocol request must have amount 0. amount=' + ctx.prepare.amount)
    }
    if (destination === 'peer.config') return await this.ildcp(ctx)
    for (const [prefix, handler] of this.peerProtocols) {
      if (destination === prefix || destination.startsWith(prefix + '.')) return await handler(ctx)
    }
    throw new InvalidPacketError('unknown peer protocol.')
  }

  /** ILDCP (RFC 31): tell a child its address and asset. */
  private async ildcp (ctx: PacketContext): Promise<Buffer> {
    const account = ctx.account as ConnectorAccount
    if (account.relation !== 'child') {
      throw new BadRequestError("Can't generate child address for account that is isn't a child")
    }
    const ownAddress = this.deps.getOwnAddress()
    const raw = ctx.prepare.raw
    if (raw === undefined) throw new BadRequestError('ILDCP request must be the packet as received')
    return serveIldcp(raw, { clientAddress: childAddress(ownAddress, account), assetScale: account.assetScale, assetCode: account.assetCode }, ownAddress)
  }

  // ---- 4. and 5. out to the next hop ------------------------------------------------------------------

  /** A Prepare through an account's outgoing pipeline (what a reference middleware's `api.sendData` does). */
  sendOutgoing (ctx: PacketContext): Promise<Buffer> {
    return this.outgoingData(ctx)
  }

  /** Money to an account through the outgoing money pipeline (settlement). */
  async sendMoney (account: ConnectorAccount, amount: bigint): Promise<void> {
    await this.outgoingMoney({ account, amount })
  }

  /**
   * Terminal of the outgoing data pipeline: the next hop's plugin, or, when the next hop is connected to another
   * cluster member and not here, that member (the cluster answers from memory). Chained with `then`, not an async
   * function (one frame less per packet; what it throws, the composed pipeline turns into a rejection); a plugin
   * that throws, or answers with something other than a promise, is handled as `await` would.
   */
  private readonly sendData = (ctx: PacketContext): Promise<Buffer> => {
    const packet = serializePrepare(ctx.prepare)
    const account = ctx.account as ConnectorAccount
    let sent: Promise<Buffer> | undefined
    try {
      if (this.cluster !== undefined) sent = this.cluster.send(account, ctx.prepare, packet)
      sent ??= account.plugin.sendData(packet)
    } catch (err) {
      throw sendFailed(err, account)
    }
    if (!(sent instanceof Promise)) sent = Promise.resolve(sent)
    // counted so that removing the account (a configuration reload) waits for its answers
    account.outgoingInFlight++
    return sent.then((reply) => {
      account.outgoingInFlight--
      // checked in full: a Reject with a broken triggeredBy, or a Fulfill too short for a fulfillment, is not passed upstream as our reply
      if (!isValidReply(reply)) {
        throw new UnreachableError('failed to send packet: next hop answered with an invalid reply. account=' + account.id)
      }
      return reply
    }, (err: unknown) => {
      account.outgoingInFlight--
      throw sendFailed(err, account)
    })
  }
}

/**
 * A plugin that could not send: its own ILP error (code and message meant for the peer) stands; a next hop whose
 * connection is gone (its plugin fails what was in flight when the link drops) is T01, which tells the sender to
 * retry; anything else is internal, so the error handler answers T00 and logs this error for the operator.
 */
function sendFailed (err: unknown, account: ConnectorAccount): Error {
  if (isIlpError(err)) return err
  if (!account.isConnected()) return new PeerUnreachableError('no connection to account. account=' + account.id)
  const accountId = account.id
  const reason = err instanceof Error ? err.message : String(err)
  return new Error(`failed to send packet: ${reason} (account ${accountId})`, { cause: err })
}

/** Terminal of the outgoing money pipeline. */
async function sendMoney (ctx: MoneyContext): Promise<void> {
  await ctx.account.plugin.sendMoney(ctx.amount.toString())
}

/** The account's cap on Prepares in flight: its own `maxPacketsInFlight`, else the connector's. */
function maxInFlightOf (account: ConnectorAccount, settings: SwitchSettings): number {
  const own = account.config.maxPacketsInFlight
  return typeof own === 'number' ? own : settings.maxPacketsInFlight
}

async function notStarted (): Promise<never> {
  throw new Error('connector not started')
}
