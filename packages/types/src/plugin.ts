/**
 * Ledger Plugin Interface v2 (LPI2), the shape every account plugin has: `ilp-plugin-btp`,
 * `ilp-plugin-mini-accounts`, or anything else that moves ILP packets and money to one counterparty.
 */

/** Receives a serialized ILP Prepare, resolves with the serialized Fulfill or Reject. */
export type PluginDataHandler = (data: Buffer) => Promise<Buffer>
/** Receives an amount (a base-unit integer as a decimal string) the counterparty says it sent us. */
export type PluginMoneyHandler = (amount: string) => Promise<void>

export interface Plugin {
  connect (options?: { timeout?: number }): Promise<void>
  disconnect (): Promise<void>
  isConnected (): boolean
  sendData (data: Buffer): Promise<Buffer>
  sendMoney (amount: string): Promise<void>
  registerDataHandler (handler: PluginDataHandler): void
  deregisterDataHandler (): void
  registerMoneyHandler (handler: PluginMoneyHandler): void
  deregisterMoneyHandler (): void
  /** Plugins are EventEmitters; the connector listens for `connect` and `disconnect`. */
  on (event: 'connect' | 'disconnect' | string, listener: (...args: any[]) => void): unknown
  removeListener (event: 'connect' | 'disconnect' | string, listener: (...args: any[]) => void): unknown
  getAdminInfo? (): Promise<unknown>
  sendAdminInfo? (info: unknown): Promise<unknown>
}

/** What a plugin constructor receives besides its own options (the reference passes the same two). */
export interface PluginServices {
  /** A key-value store namespaced to this account. */
  store: import('./store.ts').Store
  log: import('./logger.ts').Logger
}

export interface PluginConstructor {
  new (options: Record<string, unknown>, services: PluginServices): Plugin
  /** LPI version; 2 for every plugin conn accepts. */
  readonly version?: number
}
