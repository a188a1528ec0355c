/**
 * Rate backends written for ilp-connector v23: `new Backend({ spread, ...backendConfig }, { getInfo, accounts })`
 * with `connect()`, `getRate(source, destination)` (a number: the multiplier with scale shift and spread),
 * `submitPayment(payment)` after each fulfilled forward and, optionally, `submitPacket(packet)` with every
 * forwarded packet's result.
 */
import type { Account, AccountConfig, Backend, BackendApi, BackendOptions, IlpPrepare, Logger, PaymentInfo, Plugin, Rate } from '@conn/types'
import { decimalToFraction } from '../rate.ts'
import { checkReferenceInstance, type ReferenceConstructor, type ReferenceHost } from './host.ts'

/** The reference's submitPacket parameters: the payment, the incoming Prepare as ilp-packet parses it, and the reply. */
export interface ReferencePacketInfo extends PaymentInfo {
  parsedPacket: { amount: string, expiresAt: Date, executionCondition: Buffer, destination: string, data: Buffer }
  result: Buffer
}

interface ReferenceBackendInstance {
  connect? (): Promise<void> | void
  getRate (sourceAccount: string, destinationAccount: string): Promise<unknown> | unknown
  submitPayment? (payment: PaymentInfo): Promise<void> | void
  submitPacket? (packet: ReferencePacketInfo): Promise<void> | void
}

/**
 * How the switch hands a forwarded packet's result to a backend written for ilp-connector (its `submitPacket`).
 * Only the reference adapter has it, and only when the backend has `submitPacket`; the switch looks for it only
 * for backends with `submitPayment` (this adapter always has one), so conn's own backends never pay for it.
 */
export interface PacketReporter {
  reportPacket (sourceAccount: string, prepare: IlpPrepare, destinationAccount: string, destinationAmount: bigint, result: Buffer): void
}

/**
 * The reference's `accounts` service as a backend sees it, limited to what a backend plausibly reads:
 * getInfo (throws for an unknown account, as the reference's), exists, getAccountIds, getAssetCode,
 * getOwnAddress and getPlugin.
 */
export interface ReferenceAccounts {
  getInfo (accountId: string): AccountConfig
  exists (accountId: string): boolean
  getAccountIds (): string[]
  getAssetCode (accountId: string): string | undefined
  getOwnAddress (): string
  getPlugin (accountId: string): Plugin
}

export function referenceAccounts (getAccount: (id: string) => Account | undefined, host: ReferenceHost): ReferenceAccounts {
  const known = (accountId: string): Account => {
    const account = getAccount(accountId)
    if (account === undefined) throw new Error('unknown account id. accountId=' + accountId)
    return account
  }
  return {
    getInfo: (accountId) => known(accountId).config,
    exists: (accountId) => getAccount(accountId) !== undefined,
    getAccountIds: () => [...host.getAccounts()].map((account) => account.id),
    getAssetCode: (accountId) => getAccount(accountId)?.assetCode,
    getOwnAddress: () => host.getOwnAddress(),
    getPlugin: (accountId) => known(accountId).plugin
  }
}

export class ReferenceBackend implements Backend, Partial<PacketReporter> {
  readonly reportPacket: PacketReporter['reportPacket'] | undefined

  constructor (private readonly backend: ReferenceBackendInstance, private readonly logger: Logger) {
    this.reportPacket = typeof backend.submitPacket === 'function' ? this.submitPacket : undefined
  }

  async connect (): Promise<void> { await this.backend.connect?.() }

  getRate (sourceAccount: string, destinationAccount: string): Promise<Rate> {
    return Promise.resolve(this.backend.getRate(sourceAccount, destinationAccount)).then(toRate)
  }

  /** Always there (the switch reports packets only to backends with submitPayment), even if the backend has none. */
  async submitPayment (payment: PaymentInfo): Promise<void> {
    await this.backend.submitPayment?.(payment)
  }

  private readonly submitPacket = (sourceAccount: string, prepare: IlpPrepare, destinationAccount: string, destinationAmount: bigint, result: Buffer): void => {
    const packet: ReferencePacketInfo = {
      sourceAccount,
      sourceAmount: prepare.amount.toString(),
      destinationAccount,
      destinationAmount: destinationAmount.toString(),
      parsedPacket: {
        amount: prepare.amount.toString(),
        expiresAt: new Date(prepare.expiresAt),
        executionCondition: prepare.executionCondition,
        destination: prepare.destination,
        data: prepare.data
      },
      result
    }
    let submitted: Promise<void> | void
    try {
      submitted = this.backend.submitPacket!(packet)
    } catch (err) {
      submitted = Promise.reject(err)
    }
    Promise.resolve(submitted).catch((err: Error) => this.logger.warn({ err }, 'backend failed to record a packet (submitPacket)'))
  }
}

/** A rate as the reference reads it: a number, or anything whose string form is a decimal (a BigNumber). */
function toRate (rate: unknown): Rate {
  if (typeof rate === 'number') return rate
  if (typeof rate === 'string' || (typeof rate === 'object' && rate !== null)) return decimalToFraction(String(rate))
  throw new RangeError('invalid rate: ' + String(rate))
}

/** The `create` of a backend manifest for a backend class written for ilp-connector. */
export function referenceBackendFactory (Reference: ReferenceConstructor, packageName: string, host: ReferenceHost) {
  return (options: BackendOptions, api: BackendApi): Backend => {
    // conn adds the backend's name to its options; a reference backend gets `{ spread, ...backendConfig }` only
    const { name, ...rest } = options
    const instance = new Reference(name === packageName ? rest : options, {
      getInfo: (accountId: string) => api.getInfo(accountId)?.config,
      accounts: referenceAccounts((id) => api.getInfo(id), host)
    })
    checkReferenceInstance(instance, 'backend', packageName, ['getRate'])
    return new ReferenceBackend(instance as ReferenceBackendInstance, api.logger)
  }
}
