import type { AccountConfig, Relation } from './config.ts'
import type { Plugin } from './plugin.ts'

/** An account as every package sees it: its configuration and its plugin. */
export interface Account {
  readonly id: string
  readonly relation: Relation
  readonly assetCode: string
  readonly assetScale: number
  readonly config: Readonly<AccountConfig>
  readonly plugin: Plugin
}
