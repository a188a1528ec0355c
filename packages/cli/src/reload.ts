/**
 * Configuration changes without a restart (SIGHUP, or a change of the --config file with --watch): the new
 * configuration is read and checked in full, as at start; with any problem it is refused whole (every problem
 * logged) and the running one stays. Otherwise the difference is applied, account by account:
 * - an account added is created and connected;
 * - an account removed is drained (its new Prepares get T03, nothing more is routed to it, its packets in flight
 *   are answered) and then removed, its plugin disconnected;
 * - an account changed only in options the middlewares read (balance, limits, rates...) keeps its plugin and
 *   connections: its middleware state is re-made with the new options;
 * - an account whose plugin, plugin options, relation or asset changed is drained, removed and created again.
 * Static routes are replaced; a new `backend`, `spread` or `backendConfig` makes a new backend, which takes over once
 * it has connected. Other options (address, store, admin API, ports...) need a restart: a change of them is logged
 * and left as it runs. The configuration is the source of truth: an account added through the
 * admin API and not in it is removed at the next reload (logged as such).
 */
import { isDeepStrictEqual } from 'node:util'
import type { Connector } from '@conn/core'
import type { AccountConfig, ConnectorConfig, Logger } from '@conn/types'

/** What a reload reads: the configuration, or every problem with it. */
export type ConfigSource = () => Promise<{ config: ConnectorConfig } | { problems: Array<{ path: string, message: string }> }>

/** The account fields that make a change a new plugin (the rest are middleware options, applied in place). */
const PLUGIN_FIELDS = ['plugin', 'options', 'relation', 'assetCode', 'assetScale', 'ilpAddressSegment'] as const

/** The options that make the backend. */
const BACKEND_FIELDS = ['backend', 'spread', 'backendConfig'] as const

/** Options applied by a reload; any other that changed is logged as needing a restart. */
const RELOADED = new Set<string>(['accounts', 'routes', ...BACKEND_FIELDS])

export interface ReloadResult {
  applied: boolean
  added: string[]
  removed: string[]
  changed: string[]
  recreated: string[]
  /** The backend was made again from new options. */
  backend: boolean
}

export class ConfigReloader {
  private running: Promise<ReloadResult> | undefined
  private again = false

  constructor (
    private readonly app: Connector,
    private current: ConnectorConfig,
    private readonly read: ConfigSource,
    private readonly logger: Logger
  ) {}

  /** Reloads; a reload asked for while one runs happens once more after it. */
  async reload (): Promise<ReloadResult> {
    if (this.running !== undefined) {
      this.again = true
      return await this.running
    }
    this.running = this.apply()
    try {
      return await this.running
    } finally {
      this.running = undefined
      if (this.again) {
        this.again = false
        void this.reload()
      }
    }
  }

  private async apply (): Promise<ReloadResult> {
    const result: ReloadResult = { applied: false, added: [], removed: [], changed: [], recreated: [], backend: false }
    const read = await this.read()
    if ('problems' in read) {
      for (const problem of read.problems) this.logger.error({ path: problem.path }, `configuration reload refused: ${problem.path}: ${problem.message}`)
      this.logger.error({ problems: read.problems.length }, 'configuration reload refused whole; the running configuration stays')
      return result
    }
    const next = read.config
    for (const key of new Set([...Object.keys(this.current), ...Object.keys(next)])) {
      if (RELOADED.has(key)) continue
      const option = key as keyof ConnectorConfig
      if (!isDeepStrictEqual(this.current[option], next[option])) {
        this.logger.warn({ option: key }, `configuration reload: ${key} changed, which takes a restart; it stays as it runs`)
      }
    }
    let backendKept = false
    if (BACKEND_FIELDS.some((field) => !isDeepStrictEqual(this.current[field], next[field]))) {
      try {
        await this.app.reconfigureBackend({ backend: next.backend, spread: next.spread, backendConfig: next.backendConfig })
        result.backend = true
        this.logger.info({ backend: next.backend, spread: next.spread }, 'configuration reload: backend options applied')
      } catch (err) {
        this.logger.error({ err }, `configuration reload: the new backend could not start, the running one stays: ${(err as Error).message}`)
        backendKept = true
      }
    }
    const running = new Set([...this.app.getAccounts()].map((account) => account.id))
    for (const id of running) {
      if (id in next.accounts) continue
      if (!(id in this.current.accounts)) this.logger.warn({ account: id }, 'configuration reload: account added through the admin API is not in the configuration; removed')
      await this.remove(id)
      result.removed.push(id)
    }
    // what runs after this reload: an account that could not be applied keeps its earlier configuration (or none)
    const accounts = { ...next.accounts }
    for (const [id, config] of Object.entries(next.accounts)) {
      const before = this.current.accounts[id]
      try {
        if (!running.has(id)) {
          await this.app.addPlugin(id, config, { waitForConnect: false })
          result.added.push(id)
          this.logger.info({ account: id }, 'configuration reload: account added')
        } else if (before !== undefined && !isDeepStrictEqual(before, config)) {
          if (samePlugin(before, config)) {
            await this.app.reconfigureAccount(id, config)
            result.changed.push(id)
            this.logger.info({ account: id }, 'configuration reload: account options applied')
          } else {
            await this.remove(id)
            await this.app.addPlugin(id, config, { waitForConnect: false })
            result.recreated.push(id)
            this.logger.info({ account: id }, 'configuration reload: account created again (its plugin changed)')
          }
        }
      } catch (err) {
        this.logger.error({ err, account: id }, `configuration reload: account ${id} could not be applied: ${(err as Error).message}`)
        if (before === undefined || ![...this.app.getAccounts()].some((account) => account.id === id)) delete accounts[id]
        else accounts[id] = before
      }
    }
    if (!isDeepStrictEqual(this.current.routes, next.routes)) this.app.setStaticRoutes(next.routes)
    // a backend that could not start is tried again at the next reload
    const { backend, spread, backendConfig } = this.current
    this.current = backendKept ? { ...next, accounts, backend, spread, backendConfig } : { ...next, accounts }
    result.applied = true
    this.logger.info(result, 'configuration reloaded')
    return result
  }

  private async remove (id: string): Promise<void> {
    const answered = await this.app.drainAndRemove(id)
    this.logger.info({ account: id, answered }, answered
      ? 'configuration reload: account removed after its packets in flight were answered'
      : 'configuration reload: account removed; some of its packets were still unanswered after shutdownTimeout')
  }
}

function samePlugin (a: AccountConfig, b: AccountConfig): boolean {
  return PLUGIN_FIELDS.every((field) => isDeepStrictEqual(a[field as keyof AccountConfig], b[field as keyof AccountConfig]))
}
