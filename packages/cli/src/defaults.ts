/**
 * The embedded default, used when there is no configuration at all: a connector at `test.conn` with one
 * `@conn/plugin-btp/mini-accounts` account (compatible with ilp-plugin-mini-accounts) on 127.0.0.1 that any
 * local BTP client can join (its balance kept without limits), a memory store and the one-to-one backend
 * without spread, so local payments arrive in full.
 */
import type { ConnectorConfig } from '@conn/types'

export const DEFAULT_PORT = 7768
export const DEFAULT_ACCOUNT = 'local'

export function embeddedDefault (port = DEFAULT_PORT): Partial<ConnectorConfig> & Pick<ConnectorConfig, 'accounts'> {
  return {
    ilpAddress: 'test.conn',
    backend: 'one-to-one',
    spread: 0,
    store: 'memory',
    accounts: {
      [DEFAULT_ACCOUNT]: {
        relation: 'child',
        plugin: '@conn/plugin-btp/mini-accounts',
        assetCode: 'XRP',
        assetScale: 9,
        // balances kept (and shown by the admin API) without a limit: said here, so the balance middleware
        // does not warn that this account can spend unlimited funds
        balance: { maximum: 'Infinity' },
        options: { wsOpts: { host: '127.0.0.1', port } }
      }
    }
  }
}
