/**
 * The switch: the innermost step of the incoming pipeline. It answers peer protocol requests (ILDCP,
 * route exchange), picks the next hop by longest prefix, converts the amount, shortens the expiry and hands
 * the new Prepare to the next hop's outgoing pipeline. Checks happen in the reference connector's order,
 * so the same packet gets the same error code.
 */
import {
  BadRequestError, InvalidPacketError, PeerUnreachableError, UnreachableError, AmountTooLargeError,
  isFulfill, type Backend, type PacketContext, type Rate, type Logger, type NextData
} from '@conn/types'
import type { ConnectorAccount } from './account.ts'
import { outgoingExpiry, type ExpirySettings } from './expiry.ts'
import { childAddress, type RoutingTable } from './routing.ts'
import { convert, rateToFraction } from './rate.ts'
import { MAX_UINT64, PEER_PROTOCOL_CONDITION, patchPrepare } from './packet.ts'
import { serveIldcp } from './vendor/ildcp.ts'
import type { PacketReporter } from './compat/reference-backend.ts'

/** Answers a peer protocol request (`peer.route.control`, ...) arriving from an account. */
export type PeerProtocolHandler = (ctx: PacketContext) => Promise<Buffer>

export interface SwitchSettings extends ExpirySettings {
  reflectPayments: boolean
}

export interface SwitchDeps {
  settings: SwitchSettings
  routingTable: RoutingTable
  getAccount: (id: string) => ConnectorAccount | undefined
  getOwnAddress: () => string
  backend: () => Backend
  outgoingData: NextData
  peerProtocols: Map<string, PeerProtocolHandler>
  logger: Logger
}

export class PacketSwitch {
  private readonly debug: boolean

  constructor (private readonly deps: SwitchDeps) {
    this.debug = deps.logger.isLevelEnabled('debug')
  }

  /**
   * Terminal handler of the incoming data pipeline. Not async (one frame less per packet): what it throws,
   * the composed pipeline turns into a rejection.
   */
  readonly forward = (ctx: PacketContext): Promise<Buffer> => {
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
    const { settings } = this.deps
    const rate = rateToFraction(backendRate)
    const nextHop = this.deps.getAccount(nextHopId)
    if (nextHop === undefined) {
      throw new UnreachableError('no route found. source=' + source.id + ' destination=' + destination)
    }
    if (!nextHop.isConnected()) throw new PeerUnreachableError('no connection to account. account=' + nextHopId)

    const amount = convert(prepare.amount, rate)
    if (amount > MAX_UINT64) {
      // Tell the sender the largest amount that still converts into a UInt64, in its own units.
      const maximumAmount = MAX_UINT64 * rate.denominator / rate.numerator
      throw new AmountTooLargeError('packet size too large. maxAmount=' + maximumAmount + ' actualAmount=' + prepare.amount,
        { receivedAmount: prepare.amount, maximumAmount })
    }
    const expiresAt = outgoingExpiry(prepare.expiresAt, Date.now(), settings)

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
      incoming: ctx
    }
    if (this.debug) {
      this.deps.logger.debug({ from: source.id, to: nextHopId, destination, amount: String(prepare.amount), outAmount: String(amount) }, 'forwarding')
    }
    const reply = this.deps.outgoingData(outgoing)
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
    if (destination === 'peer.config') return await this.ildcp(ctx)
    for (const [prefix, handler] of this.deps.peerProtocols) {
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
    return await serveIldcp({
      requestPacket: raw,
      serverAddress: ownAddress,
      handler: async () => ({
        clientAddress: childAddress(ownAddress, account),
        assetScale: account.assetScale,
        assetCode: account.assetCode
      })
    })
  }
}

