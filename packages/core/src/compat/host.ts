/**
 * What the adapters for extensions written for ilp-connector v23 share: what the connector gives them beyond
 * conn's extension APIs, and the check of a constructed instance against the reference's interface.
 */
import type { Account, PacketContext } from '@conn/types'
import { LoadError } from '../loader.ts'

/** What the reference's interfaces offer that conn's extension APIs do not; the connector supplies it. */
export interface ReferenceHost {
  getAccounts (): Iterable<Account>
  getOwnAddress (): string
  /** Names of the middlewares that run, outermost first (read when an account is added). */
  middlewareNames (): readonly string[]
  /** The connector's outgoing data pipeline (a reference middleware's `api.sendData`). */
  outgoingData (ctx: PacketContext): Promise<Buffer>
}

/** A constructor as the reference loads it: `new Extension(options, api)`. */
export type ReferenceConstructor = new (options: Record<string, unknown>, api: Record<string, unknown>) => unknown

/** What the reference's form of each kind looks like, for error messages. */
export const REFERENCE_FORMS = {
  backend: 'an ilp-connector backend class (new Backend(options, api); connect(), getRate(source, destination), submitPayment(payment))',
  store: 'an ilp-connector store class (new Store(options, api); get(key), put(key, value), del(key))',
  middleware: 'an ilp-connector middleware class (new Middleware(options, api); applyToPipelines(pipelines, accountId))'
} as const

export type ReferenceKind = keyof typeof REFERENCE_FORMS

/** Throws an error naming both forms if a constructed reference extension lacks one of `methods`. */
export function checkReferenceInstance (instance: unknown, kind: ReferenceKind, packageName: string, methods: readonly string[]): void {
  const missing = methods.filter((method) => typeof (instance as Record<string, unknown> | null)?.[method] !== 'function')
  if (missing.length === 0) return
  throw new LoadError('ERR_PACKAGE_INVALID', `package "${packageName}" exports a class whose instances have no ` +
    `${missing.join(', ')} method${missing.length === 1 ? '' : 's'}: expected a conn ${kind} manifest ` +
    `({ kind, name, types, create }) or ${REFERENCE_FORMS[kind]}`)
}
