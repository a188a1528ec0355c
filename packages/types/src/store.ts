/**
 * A string key-value store. Plugins get one namespaced by account id; the connector and its
 * middlewares keep their own state (balances, for instance) in namespaces of their own.
 */
import type { AtomicBalanceStore } from './balances.ts'
import type { Cluster } from './cluster.ts'

export interface Store extends Partial<AtomicBalanceStore> {
  get (key: string): Promise<string | undefined>
  put (key: string, value: string): Promise<void>
  del (key: string): Promise<void>
  /** Called once at start, before any other method. */
  open? (): Promise<void>
  /** Called once at shutdown; the store must not be used afterwards. */
  close? (): Promise<void>
  /**
   * Offered by a store several connectors share, when configured for it: delivery to accounts connected to
   * another connector of the group (see cluster.ts). Read once after open().
   */
  readonly cluster?: Cluster
}

export interface StoreOptions {
  /** `storePath` from the configuration, if any. */
  path?: string
  [option: string]: unknown
}
