/** Accounts for tests: an id, a relation, an asset, the account's configuration and a plugin. */
import type { Account, AccountConfig, Plugin, Relation } from '@conn/types'
import { FakePlugin } from './plugin.ts'

export interface FakeAccountOptions {
  /** Default `alice`. */
  id?: string
  /** Default `child`. */
  relation?: Relation
  /** Default `USD`. */
  assetCode?: string
  /** Default 9. */
  assetScale?: number
  /** Account options (balance, maxPacketAmount, ...), over the required fields made from the ones above. */
  config?: Partial<AccountConfig>
  /** Default a new FakePlugin. */
  plugin?: Plugin
}

export function fakeAccount (options: FakeAccountOptions = {}): Account {
  const relation = options.relation ?? 'child'
  const assetCode = options.assetCode ?? 'USD'
  const assetScale = options.assetScale ?? 9
  return {
    id: options.id ?? 'alice',
    relation,
    assetCode,
    assetScale,
    config: { relation, plugin: 'ilp-plugin-btp', assetCode, assetScale, ...options.config },
    plugin: options.plugin ?? new FakePlugin()
  }
}
