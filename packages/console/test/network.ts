/**
 * A running conn for the console's tests: createApp from @conn/core with the admin API and the console, whose
 * accounts are real ilp-plugin-btp listeners on 127.0.0.1, and real ilp-plugin-btp clients that pay each other.
 */
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import BtpPluginModule from 'ilp-plugin-btp'
import { pino } from 'pino'
import { createApp, type Connector } from '@conn/core'
import { freePort } from '@conn/testkit'
import { isFulfill, parsePrepare, parseReject, serializeFulfill, serializePrepare, serializeReject } from '@conn/codec'
import type { AccountConfig, ConnectorConfig, Logger, Plugin } from '@conn/types'
import { Console } from '../src/console.ts'
import manifest from '../src/index.ts'

const BtpPlugin = BtpPluginModule.default
type BtpPluginInstance = InstanceType<typeof BtpPlugin>

/** This package's folder: the admin API and the middlewares (its devDependencies) resolve from here. */
export const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url))
export const silentLogger = pino({ level: 'silent' }) as unknown as Logger

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** A BTP client at the edge: fulfills the conditions its network made, rejects anything else (F99, or T04 for `*.full`). */
export class Client {
  constructor (readonly name: string, readonly plugin: BtpPluginInstance, fulfillments: Map<string, Buffer>) {
    plugin.registerDataHandler(async (data: Buffer) => {
      const prepare = parsePrepare(data)
      // A destination ending in ".full" stands for a receiver at its limit (the alert middleware records it).
      if (prepare.destination.endsWith('.full')) {
        return serializeReject({ code: 'T04', triggeredBy: 'test.conn.' + name, message: 'exceeded maximum balance.', data: Buffer.alloc(0) })
      }
      const fulfillment = fulfillments.get(prepare.executionCondition.toString('hex'))
      if (fulfillment !== undefined) return serializeFulfill({ fulfillment, data: Buffer.alloc(0) })
      return serializeReject({ code: 'F99', triggeredBy: 'test.conn.' + name, message: 'unknown condition', data: Buffer.alloc(0) })
    })
  }
}

/**
 * An account configuration with a BTP listener by package name (as an operator writes it, e.g. in the console's
 * add-account form) and a client that dials it; close the client when done.
 */
export async function btpAccount (): Promise<{ config: Record<string, unknown>, client: BtpPluginInstance }> {
  const port = await freePort()
  const config = {
    relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 9,
    options: { listener: { port, secret: 'secret-new' } }
  }
  return { config, client: new BtpPlugin({ server: `btp+ws://:secret-new@127.0.0.1:${port}`, reconnectIntervals: [50] }) }
}

export interface TestNetwork {
  app: Connector
  port: number
  token: string
  url: string
  clients: Record<string, Client>
  /** `from` sends `amount` to `destination`; resolves with `fulfill` or the Reject's code. */
  pay: (from: string, destination: string, amount: bigint) => Promise<string>
  close: () => Promise<void>
}

export interface NetworkOptions {
  /** The console's feed interval, ms. */
  interval?: number
  /** Resolve @conn/console by name from this package's folder (where it is not installed) instead of using this source copy. */
  byName?: boolean
  config?: Partial<ConnectorConfig>
  /**
   * Also start a second connector, test.up, peered with ours over BTP (account `up` here, `down` there), both
   * exchanging routes by CCP at short intervals.
   */
  upstream?: boolean
}

/** Route exchange fast enough for a test: updates 100 ms apart. */
const CCP_FAST = { routeBroadcastEnabled: true, routeBroadcastInterval: 100, routeExpiry: 2000, routeCleanupInterval: 100 }

/**
 * alice (child, may owe up to 1,000,000), bob (child, may be owed up to 1,000,000) and carol (child), the admin
 * API on a free port with a random token.
 */
export async function startNetwork (options: NetworkOptions = {}): Promise<TestNetwork> {
  const port = await freePort()
  const token = 'test-console-' + randomBytes(8).toString('hex')
  const fulfillments = new Map<string, Buffer>()
  const specs: Record<string, Partial<AccountConfig>> = {
    alice: { relation: 'child', balance: { minimum: '-1000000', maximum: '1000000' } },
    bob: { relation: 'child', balance: { minimum: '-1000000', maximum: '1000000' } },
    carol: { relation: 'child', balance: { minimum: '-1000', maximum: '1000', settleThreshold: '-500', settleTo: '0' } }
  }
  const accounts: Record<string, AccountConfig> = {}
  const clientPlugins: Record<string, BtpPluginInstance> = {}
  for (const [id, spec] of Object.entries(specs)) {
    const listenPort = await freePort()
    const secret = 'secret-' + id
    const listener = new BtpPlugin({ listener: { port: listenPort, secret, wsOpts: { host: '127.0.0.1', port: listenPort } } })
    accounts[id] = { assetCode: 'XYZ', assetScale: 9, ...spec, plugin: listener as unknown as Plugin } as AccountConfig
    clientPlugins[id] = new BtpPlugin({ server: `btp+ws://:${secret}@127.0.0.1:${listenPort}`, reconnectIntervals: [50] })
  }
  let upstream: Connector | undefined
  if (options.upstream === true) {
    const linkPort = await freePort()
    accounts.up = {
      relation: 'peer', assetCode: 'XYZ', assetScale: 9,
      plugin: new BtpPlugin({ listener: { port: linkPort, secret: 'secret-up', wsOpts: { host: '127.0.0.1', port: linkPort } }, responseTimeout: 3000 }) as unknown as Plugin
    }
    upstream = createApp({
      ilpAddress: 'test.up', backend: 'one-to-one', spread: 0, minMessageWindow: 200, initialConnectTimeout: 3000, ...CCP_FAST,
      accounts: {
        down: {
          relation: 'peer', assetCode: 'XYZ', assetScale: 9,
          plugin: new BtpPlugin({ server: `btp+ws://:secret-up@127.0.0.1:${linkPort}`, reconnectIntervals: [50], responseTimeout: 3000 }) as unknown as Plugin
        }
      }
    }, { logger: silentLogger, resolveFrom: [PACKAGE_DIR] })
  }
  const modules: Record<string, unknown> = options.byName === true
    ? {}
    : { '@conn/console': { ...manifest, create: (_: unknown, connector: never) => new Console(connector, { interval: options.interval ?? 250 }) } }
  const app = createApp({
    ilpAddress: 'test.conn',
    backend: 'one-to-one',
    spread: 0,
    minMessageWindow: 200,
    routeBroadcastEnabled: false,
    initialConnectTimeout: 3000,
    ...(upstream === undefined ? {} : CCP_FAST),
    adminApi: true,
    adminApiPort: port,
    adminApiToken: token,
    ...options.config,
    accounts
  }, { logger: silentLogger, resolveFrom: [PACKAGE_DIR], modules })
  const clients: Record<string, Client> = {}
  for (const [id, plugin] of Object.entries(clientPlugins)) clients[id] = new Client(id, plugin, fulfillments)
  await Promise.all([app.listen(), upstream?.listen(), ...Object.values(clientPlugins).map(async (plugin) => await plugin.connect())])

  const pay = async (from: string, destination: string, amount: bigint): Promise<string> => {
    const fulfillment = randomBytes(32)
    const condition = createHash('sha256').update(fulfillment).digest()
    fulfillments.set(condition.toString('hex'), fulfillment)
    const reply = await clientPlugins[from]!.sendData(serializePrepare({
      amount, destination, executionCondition: condition, expiresAt: Date.now() + 5000, data: Buffer.alloc(0)
    }))
    return isFulfill(reply) ? 'fulfill' : parseReject(reply).code
  }
  const close = async (): Promise<void> => {
    for (const plugin of Object.values(clientPlugins)) await plugin.disconnect().catch(() => {})
    await upstream?.shutdown()
    await app.shutdown()
  }
  return { app, port, token, url: `http://127.0.0.1:${port}`, clients, pay, close }
}
