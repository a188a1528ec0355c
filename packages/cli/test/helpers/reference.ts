/**
 * The reference connector, ilp-connector 23.0.2 (a devDependency), run in process as a black box: built with
 * its own `createApp`, given plugin instances, read only through its admin API. Its logs (riverpig, always on,
 * to stdout; `debug`, off unless DEBUG is set) are kept quiet.
 */
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import type { Plugin } from '@conn/types'
import { freePort } from './harness.ts'

process.env.DEBUG = ''
const require = createRequire(import.meta.url)
const referenceRequire = createRequire(require.resolve('ilp-connector'))
const reference = require('ilp-connector') as { createApp: (opts: Record<string, unknown>, container?: unknown) => ReferenceApp }
referenceRequire('./common/log').setOutputStream(new Writable({ write: (_chunk, _encoding, done) => done() }))
const reduct = referenceRequire('reduct').default as () => (Service: unknown) => unknown
const AdminApi = referenceRequire('./services/admin-api').default as unknown

export interface ReferenceApp {
  listen: () => Promise<void>
  shutdown: () => Promise<void>
}

/** The reference's `GET /routing`, the parts the tests read. */
export interface ReferenceRouting {
  routingTableId: string
  localRoutingTable: Record<string, { nextHop: string, path: string }>
  peers: Record<string, { send?: { epoch: number, mode: string }, receive?: { routingTableId: string, epoch: number } }>
}

/** A reference connector (not started: call `app.listen()`) and what the tests need of it. */
export interface Reference {
  app: ReferenceApp
  /** GET /routing on its admin API; only with `adminApi: true`. */
  routing: () => Promise<ReferenceRouting>
  /** Shuts it down, closes its admin API and disconnects its plugins, which its own shutdown may leave listening. */
  close: () => Promise<void>
}

export interface ReferenceOptions {
  ilpAddress: string
  accounts: Record<string, { relation: string, plugin: Plugin }>
  /** Starts its admin API on 127.0.0.1 and a free port (default false). */
  adminApi?: boolean
  /** Any other reference option (e.g. routeBroadcastInterval); the reference's defaults otherwise. */
  settings?: Record<string, unknown>
}

/** A reference connector, env test, one-to-one backend without spread, every account XYZ scale 9. */
export async function createReference (options: ReferenceOptions): Promise<Reference> {
  const adminApi = options.adminApi ?? false
  const adminApiPort = adminApi ? await freePort() : 0
  const container = reduct()
  const app = reference.createApp({
    env: 'test',
    ilpAddress: options.ilpAddress,
    backend: 'one-to-one',
    spread: 0,
    ...options.settings,
    ...(adminApi ? { adminApi: true, adminApiHost: '127.0.0.1', adminApiPort } : {}),
    accounts: Object.fromEntries(Object.entries(options.accounts).map(([id, account]) => [id, { ...account, assetCode: 'XYZ', assetScale: 9 }]))
  }, container)
  const admin = container(AdminApi) as { server?: { close: () => void } }
  return {
    app,
    routing: async () => {
      if (!adminApi) throw new Error('the reference was created without its admin API')
      return await (await fetch(`http://127.0.0.1:${adminApiPort}/routing`)).json() as ReferenceRouting
    },
    close: async () => {
      await app.shutdown()
      admin.server?.close()
      // its shutdown disconnects only the plugins it sees connected: a listener whose client already left (or that
      // it saw disconnect, e.g. after a peer withdrew its routes and went) would keep its port
      await Promise.all(Object.values(options.accounts).map(async ({ plugin }) => await plugin.disconnect().catch(() => {})))
    }
  }
}
