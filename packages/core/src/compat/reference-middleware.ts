/**
 * Middlewares written for ilp-connector v23: `new Middleware(options, api)`, then for every account
 * `applyToPipelines(pipelines, accountId)`, which inserts `{ name, method }` entries into the account's six
 * pipelines. Each becomes one conn middleware, placed where the configuration says (`middlewares.<name>.before`
 * / `.after`, default last: where the reference appends custom middlewares, after the built-ins).
 *
 * Per account, the adapter hands `applyToPipelines` pipelines that already hold the names of the built-ins the
 * reference would have put there for that account (so `insertBefore('balance', ...)` finds `balance` when the
 * balance middleware runs), keeps the methods the middleware inserted in the order the reference would run them,
 * and composes them once. Data methods get the serialized Prepare and return the serialized reply, as in the
 * reference; what they pass to `next` is parsed back (a malformed packet is an F01). Money methods get the amount
 * as a string. All of this costs only the accounts and packets of reference-style middlewares.
 */
import {
  InvalidPacketError, UnreachableError,
  type Account, type AccountConfig, type DataHandler, type Middleware, type MiddlewareApi, type MoneyContext,
  type MoneyHandler, type PacketContext
} from '@conn/types'
import { LoadError } from '../loader.ts'
import { parsePrepare, serializePrepare } from '@conn/codec'
import { checkReferenceInstance, type ReferenceConstructor, type ReferenceHost } from './host.ts'
import { referenceStats } from './reference-stats.ts'

export type ReferenceMethod<T, U> = (value: T, next: (value: T) => Promise<U>) => Promise<U>
export interface ReferenceEntry<T, U> { name: string, method: ReferenceMethod<T, U> }

export const PIPELINE_NAMES = ['startup', 'teardown', 'incomingData', 'incomingMoney', 'outgoingData', 'outgoingMoney'] as const
export type PipelineName = typeof PIPELINE_NAMES[number]

type Condition = (config: Readonly<AccountConfig>) => unknown
const always: Condition = () => true
const hasBalance: Condition = (config) => config.balance

/**
 * The built-in entries of the reference's pipelines in its order, each with the account option it depends on
 * (the reference inserts maxPacketAmount, throughput and balance only for accounts that configure them).
 */
const BUILTIN_ENTRIES: Record<PipelineName, ReadonlyArray<readonly [string, Condition]>> = {
  startup: [['balance', hasBalance], ['deduplicate', always]],
  teardown: [['deduplicate', always]],
  incomingData: [
    ['errorHandler', always], ['rateLimit', always], ['maxPacketAmount', (c) => c.maxPacketAmount],
    ['throughput', (c) => throughputOf(c).incomingAmount], ['balance', hasBalance], ['echo', always], ['stats', always]
  ],
  incomingMoney: [['errorHandler', always], ['rateLimit', always], ['balance', hasBalance], ['stats', always]],
  outgoingData: [
    ['throughput', (c) => throughputOf(c).outgoingAmount], ['balance', hasBalance], ['deduplicate', always], ['expire', always],
    ['validateFulfillment', always], ['stats', always], ['alert', always]
  ],
  outgoingMoney: [['balance', hasBalance], ['stats', always]]
}

/** The reference's `throughput` account option, as far as its pipelines depend on it. */
function throughputOf (config: Readonly<AccountConfig>): { incomingAmount?: unknown, outgoingAmount?: unknown } {
  return (config.throughput ?? {}) as { incomingAmount?: unknown, outgoingAmount?: unknown }
}

/** Where a method was put relative to the built-ins, for the start-up warning. */
export interface BuiltinPlacement { pipeline: PipelineName, how: 'insertFirst' | 'insertBefore' | 'insertAfter', anchor?: string }

interface Slot<T, U> { name: string, method: ReferenceMethod<T, U> | undefined }

/**
 * One of an account's pipelines as `applyToPipelines` sees it: the reference's insert methods over the names
 * of the built-ins (placeholders without a method) and the entries this middleware inserted.
 */
export class ReferencePipeline<T, U> {
  private slots: Array<Slot<T, U>>

  constructor (readonly pipeline: PipelineName, builtins: readonly string[], private readonly onBuiltinPlacement: (placement: BuiltinPlacement) => void) {
    this.slots = builtins.map((name) => ({ name, method: undefined }))
  }

  insertFirst (entry: ReferenceEntry<T, U>): void {
    const slot = toSlot(entry)
    if (this.slots.some((s) => s.method === undefined)) this.onBuiltinPlacement({ pipeline: this.pipeline, how: 'insertFirst' })
    this.slots.unshift(slot)
  }

  insertLast (entry: ReferenceEntry<T, U>): void {
    this.slots.push(toSlot(entry))
  }

  insertBefore (middlewareName: string, entry: ReferenceEntry<T, U>): void {
    this.insertAt(middlewareName, entry, 'before')
  }

  insertAfter (middlewareName: string, entry: ReferenceEntry<T, U>): void {
    this.insertAt(middlewareName, entry, 'after')
  }

  /** The methods this middleware inserted, in the order the reference would run them (outermost first). */
  getMethods (): Array<ReferenceMethod<T, U>> {
    return this.slots.flatMap((slot) => slot.method === undefined ? [] : [slot.method])
  }

  private insertAt (middlewareName: string, entry: ReferenceEntry<T, U>, where: 'before' | 'after'): void {
    const slot = toSlot(entry)
    const index = this.slots.findIndex((s) => s.name === middlewareName)
    if (index === -1) throw new Error(`could not insert ${where} middleware; not found. name=${middlewareName}`)
    if (this.slots[index]!.method === undefined) {
      this.onBuiltinPlacement({ pipeline: this.pipeline, how: where === 'before' ? 'insertBefore' : 'insertAfter', anchor: middlewareName })
    }
    this.slots.splice(where === 'before' ? index : index + 1, 0, slot)
  }
}

function toSlot<T, U> (entry: ReferenceEntry<T, U>): Slot<T, U> {
  if (entry === null || typeof entry !== 'object' || typeof entry.method !== 'function') {
    throw new TypeError('a pipeline entry must be { name, method } with a method function')
  }
  return { name: String(entry.name), method: entry.method }
}

/** The six pipelines of one account, pre-filled with the built-ins present for it. */
export function referencePipelines (
  config: Readonly<AccountConfig>,
  running: ReadonlySet<string>,
  onBuiltinPlacement: (placement: BuiltinPlacement) => void
): Record<PipelineName, ReferencePipeline<any, any>> {
  const pipelines = {} as Record<PipelineName, ReferencePipeline<any, any>>
  for (const pipeline of PIPELINE_NAMES) {
    const builtins = BUILTIN_ENTRIES[pipeline].filter(([name, when]) => running.has(name) && Boolean(when(config))).map(([name]) => name)
    pipelines[pipeline] = new ReferencePipeline(pipeline, builtins, onBuiltinPlacement)
  }
  return pipelines
}

/** Reference-style methods composed once, as the reference composes them: `next` may be called once. */
export type ComposedReference<T, U> = (value: T, last: (value: T) => Promise<U>) => Promise<U>

export function composeReference<T, U> (methods: ReadonlyArray<ReferenceMethod<T, U>>): ComposedReference<T, U> {
  return (value, last) => {
    let index = -1
    const dispatch = (i: number, current: T): Promise<U> => {
      if (i <= index) return Promise.reject(new Error('next() called multiple times.'))
      index = i
      try {
        return Promise.resolve(i === methods.length ? last(current) : methods[i]!(current, (next) => dispatch(i + 1, next)))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return dispatch(0, value)
  }
}

/** An account's composed methods, per pipeline; undefined where the middleware inserted nothing. */
type AccountChains = { [P in PipelineName]: ComposedReference<any, any> | undefined }

interface ReferenceMiddlewareInstance {
  applyToPipelines (pipelines: Record<PipelineName, ReferencePipeline<any, any>>, accountId: string): Promise<void> | void
}

const done = async (): Promise<void> => {}

function toPrepare (data: unknown): PacketContext['prepare'] {
  if (!Buffer.isBuffer(data)) throw new InvalidPacketError('middleware passed something other than a packet to next().')
  return parsePrepare(data)
}

function toAmount (amount: unknown): bigint {
  if (typeof amount !== 'string' || !/^[0-9]{1,20}$/.test(amount)) {
    throw new Error('middleware passed an invalid amount to next(). amount=' + String(amount))
  }
  return BigInt(amount)
}

export class ReferenceMiddleware implements Middleware {
  private readonly chains = new Map<string, AccountChains>()
  private warned = false

  constructor (
    readonly name: string,
    private readonly packageName: string,
    private readonly instance: ReferenceMiddlewareInstance,
    private readonly api: MiddlewareApi,
    private readonly host: ReferenceHost
  ) {}

  async addAccount (account: Account): Promise<void> {
    const running = new Set(this.host.middlewareNames())
    const pipelines = referencePipelines(account.config, running, (placement) => this.warnPlacement(placement))
    try {
      await this.instance.applyToPipelines(pipelines, account.id)
    } catch (err) {
      throw new LoadError('ERR_PACKAGE_LOAD', `middleware ${this.name} (${this.packageName}): applyToPipelines failed for account ${account.id}: ${(err as Error).message}`, { cause: err })
    }
    const chains = {} as AccountChains
    for (const pipeline of PIPELINE_NAMES) {
      const methods = pipelines[pipeline].getMethods()
      chains[pipeline] = methods.length === 0 ? undefined : composeReference(methods)
    }
    this.chains.set(account.id, chains)
    try {
      await chains.startup?.(undefined, done)
    } catch (err) {
      throw new LoadError('ERR_PACKAGE_LOAD', `middleware ${this.name} (${this.packageName}): its startup pipeline failed for account ${account.id}: ${(err as Error).message}`, { cause: err })
    }
  }

  async removeAccount (account: Account): Promise<void> {
    const chains = this.chains.get(account.id)
    this.chains.delete(account.id)
    await chains?.teardown?.(undefined, done)
  }

  readonly incomingData: DataHandler = (ctx, next) => this.data(this.chains.get(ctx.account.id)?.incomingData, ctx, next)
  readonly outgoingData: DataHandler = (ctx, next) => this.data(this.chains.get(ctx.account.id)?.outgoingData, ctx, next)
  readonly incomingMoney: MoneyHandler = (ctx, next) => this.money(this.chains.get(ctx.account.id)?.incomingMoney, ctx, next)
  readonly outgoingMoney: MoneyHandler = (ctx, next) => this.money(this.chains.get(ctx.account.id)?.outgoingMoney, ctx, next)

  /**
   * Runs the account's reference methods on the serialized Prepare; what they pass on is parsed back and goes to
   * conn's next in a context of its own, so the middlewares outside still see the Prepare they passed in.
   */
  private data (chain: ComposedReference<Buffer, Buffer> | undefined, ctx: PacketContext, next: (ctx: PacketContext) => Promise<Buffer>): Promise<Buffer> {
    if (chain === undefined) return next(ctx)
    return chain(serializePrepare(ctx.prepare), (data) => next({ account: ctx.account, prepare: toPrepare(data), incoming: ctx.incoming }))
  }

  private money (chain: ComposedReference<string, void> | undefined, ctx: MoneyContext, next: (ctx: MoneyContext) => Promise<void>): Promise<void> {
    if (chain === undefined) return next(ctx)
    return chain(ctx.amount.toString(), async (amount) => {
      const value = toAmount(amount)
      await next(value === ctx.amount ? ctx : { account: ctx.account, amount: value })
    })
  }

  private warnPlacement ({ pipeline, how, anchor }: BuiltinPlacement): void {
    if (this.warned) return
    this.warned = true
    const what = anchor === undefined ? `${how} into ${pipeline}` : `${how}("${anchor}") in ${pipeline}`
    this.api.logger.warn({ middleware: this.name, package: this.packageName, pipeline, placement: how, anchor },
      `middleware ${this.name} (${this.packageName}) uses ${what}: conn runs ilp-connector middlewares as one block at their ` +
      `configured position (default: after the built-ins); set middlewares.${this.name}.before or middlewares.${this.name}.after to move it`)
  }
}

/** The reference's api for a middleware: account info, own address, sending through the outgoing pipelines, stats. */
function referenceServices (api: MiddlewareApi, host: ReferenceHost): Record<string, unknown> {
  const known = (accountId: string, what: 'data' | 'money'): Account => {
    const account = api.getAccount(accountId)
    if (account === undefined) throw new UnreachableError(`tried to send ${what} to non-existent account. accountId=${accountId}`)
    return account
  }
  return {
    getInfo: (accountId: string) => {
      const account = api.getAccount(accountId)
      if (account === undefined) throw new Error('unknown account id. accountId=' + accountId)
      return account.config
    },
    getOwnAddress: () => api.getOwnAddress(),
    sendData: async (data: Buffer, accountId: string): Promise<Buffer> =>
      await host.outgoingData({ account: known(accountId, 'data'), prepare: toPrepare(data), incoming: undefined }),
    sendMoney: async (amount: string, accountId: string): Promise<void> => {
      known(accountId, 'money')
      await api.sendMoney(accountId, toAmount(amount))
    },
    stats: referenceStats(api.metrics)
  }
}

/** The `create` of a middleware manifest for a middleware class written for ilp-connector. */
export function referenceMiddlewareFactory (Reference: ReferenceConstructor, packageName: string, host: ReferenceHost, name: string) {
  return (options: Record<string, unknown>, api: MiddlewareApi): Middleware => {
    const instance = new Reference(options, referenceServices(api, host))
    checkReferenceInstance(instance, 'middleware', packageName, ['applyToPipelines'])
    return new ReferenceMiddleware(name, packageName, instance as ReferenceMiddlewareInstance, api, host)
  }
}
