/** An account: its validated configuration, its plugin, and the two handlers registered on that plugin. */
import type { Account, AccountConfig, Plugin, Relation } from '@conn/types'
import type { InFlight } from './switch.ts'

export class ConnectorAccount implements Account {
  readonly relation: Relation
  readonly assetCode: string
  readonly assetScale: number
  /** `connect`/`disconnect` listeners we put on the plugin, to take off again on removal. */
  readonly listeners: Array<[event: 'connect' | 'disconnect', listener: () => void]> = []
  /** The switch's count of this account's Prepares not answered yet (made by the switch on the first one). */
  inFlight: InFlight | undefined = undefined
  /** Prepares sent to this account and not answered yet. */
  outgoingInFlight = 0
  /** Set while the account is being removed: its new Prepares get T03, the ones in flight finish. */
  closing = false

  constructor (
    readonly id: string,
    /** Replaced by a configuration reload that changes only options the middlewares read (see Connector.reconfigureAccount). */
    public config: Readonly<AccountConfig>,
    readonly plugin: Plugin,
    /** The configured plugin package name, or undefined for an instance passed in. */
    readonly pluginName: string | undefined
  ) {
    this.relation = config.relation
    this.assetCode = config.assetCode
    this.assetScale = config.assetScale
  }

  isConnected (): boolean {
    try {
      return this.plugin.isConnected()
    } catch {
      return false
    }
  }
}
