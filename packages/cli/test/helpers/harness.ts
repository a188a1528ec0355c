/**
 * End-to-end harness: in-process conn connectors (createApp from @conn/core) whose accounts are real
 * ilp-plugin-btp listeners on 127.0.0.1, and the test's own nodes as real ilp-plugin-btp clients.
 *
 * One `Harness` per test: everything it creates (clients, connectors) is torn down by `close()`, clients
 * first, so mocha exits by itself. A `Node` is a BTP client that records every Prepare it receives and
 * answers it with its `handler` (by default: fulfill the conditions made with `harness.condition()`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { freePort } from '@conn/testkit'
import { fileURLToPath } from 'node:url'
import BtpPluginModule from 'ilp-plugin-btp'
// Namespace imports: mocha loads spec files through tsx's require hook, where a default import of these
// CommonJS packages (compiled with __esModule) is undefined.
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import { pino } from 'pino'
import { createApp, type AppOptions, type Connector } from '@conn/core'
import type { AccountConfig, ConnectorConfig, Logger, Plugin } from '@conn/types'

export const BtpPlugin = BtpPluginModule.default
export type BtpPluginInstance = InstanceType<typeof BtpPlugin>
export { IlpPacket }

/** The cli package folder: the built-in middlewares and plugins resolve from here. */
export const CLI_DIR = fileURLToPath(new URL('../../', import.meta.url))
/** A folder with a node_modules of test-only packages (custom middleware fixtures). */
export const FIXTURES_APP_DIR = fileURLToPath(new URL('../fixtures/app/', import.meta.url))

export const silentLogger = pino({ level: 'silent' }) as unknown as Logger

/** SHA-256 of 32 zero bytes: the condition of every peer protocol request (ILDCP, CCP). */
export const PEER_PROTOCOL_CONDITION = createHash('sha256').update(Buffer.alloc(32)).digest()

/** A free TCP port on 127.0.0.1 (bound, read and released). */
export { freePort }

export function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `condition` every 10 ms until it holds; throws after `timeout` ms naming `what`. */
export async function waitFor (what: string, condition: () => boolean, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

// ---- packets ----------------------------------------------------------------------------------------

export interface PrepareFields {
  amount: string | bigint | number
  destination: string
  executionCondition: Buffer
  /** Absolute expiry; default now + `expiresIn`. */
  expiresAt?: Date
  /** ms from now; default 2500. */
  expiresIn?: number
  data?: Buffer
}

/** A serialized Prepare made by ilp-packet (the reference encoder). */
export function serializePrepare (fields: PrepareFields): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount: String(fields.amount),
    destination: fields.destination,
    executionCondition: fields.executionCondition,
    expiresAt: fields.expiresAt ?? new Date(Date.now() + (fields.expiresIn ?? 2500)),
    data: fields.data ?? Buffer.alloc(0)
  })
}

export interface ReceivedPrepare {
  amount: bigint
  destination: string
  executionCondition: Buffer
  expiresAt: number
  data: Buffer
  raw: Buffer
}

export type DecodedReply =
  | { type: 'fulfill', fulfillment: Buffer, data: Buffer }
  | { type: 'reject', code: string, triggeredBy: string, message: string, data: Buffer }

/** Decodes a Fulfill or Reject with ilp-packet. */
export function decodeReply (reply: Buffer): DecodedReply {
  if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
    const { fulfillment, data } = IlpPacket.deserializeIlpFulfill(reply)
    return { type: 'fulfill', fulfillment, data }
  }
  if (reply[0] === IlpPacket.Type.TYPE_ILP_REJECT) {
    const { code, triggeredBy, message, data } = IlpPacket.deserializeIlpReject(reply)
    return { type: 'reject', code, triggeredBy, message, data }
  }
  throw new Error('not an ILP reply: type=' + String(reply[0]))
}

export function fulfillPacket (fulfillment: Buffer, data = Buffer.alloc(0)): Buffer {
  return IlpPacket.serializeIlpFulfill({ fulfillment, data })
}

export function rejectPacket (fields: { code: string, triggeredBy: string, message: string, data?: Buffer }): Buffer {
  return IlpPacket.serializeIlpReject({ ...fields, data: fields.data ?? Buffer.alloc(0) })
}

// ---- nodes (BTP clients) ----------------------------------------------------------------------------

export type PrepareHandler = (prepare: ReceivedPrepare) => Buffer | Promise<Buffer>

/** A BTP client standing for a sender or receiver at the edge of the network. */
export class Node {
  readonly received: ReceivedPrepare[] = []
  /** Answers each Prepare; replace it in a test to fulfill, reject or never answer. */
  handler: PrepareHandler
  /** The node's ILP address as its connector assigns it (set by `harness.network`); used in its rejects. */
  address: string
  /** Releases of the Prepares `hold()` is sitting on. */
  private readonly held: Array<() => void> = []

  constructor (readonly name: string, readonly plugin: BtpPluginInstance, defaultHandler: (node: Node) => PrepareHandler) {
    this.address = 'test.unknown.' + name
    this.handler = defaultHandler(this)
    plugin.registerDataHandler(async (data: Buffer) => {
      const prepare = IlpPacket.deserializeIlpPrepare(data)
      const received: ReceivedPrepare = {
        amount: BigInt(prepare.amount),
        destination: prepare.destination,
        executionCondition: prepare.executionCondition,
        expiresAt: prepare.expiresAt.getTime(),
        data: prepare.data,
        raw: data
      }
      this.received.push(received)
      return await this.handler(received)
    })
  }

  async connect (): Promise<void> { await this.plugin.connect() }

  isConnected (): boolean { return this.plugin.isConnected() }

  /**
   * A handler that never answers while the test runs. At disconnect the held Prepares are answered with a
   * Reject (long after the connector gave up on them), so the connector's plugin is not left waiting for
   * its own 35 s BTP response timeout, which would keep mocha from exiting.
   */
  hold (): PrepareHandler {
    return async () => await new Promise<Buffer>((resolve) => {
      this.held.push(() => resolve(rejectPacket({ code: 'F99', triggeredBy: this.address, message: 'held until the test ended' })))
    })
  }

  /** Sends raw bytes as a BTP ILP packet and returns the raw reply. */
  async sendRaw (packet: Buffer): Promise<Buffer> { return await this.plugin.sendData(packet) }

  /** Sends a Prepare and returns the raw reply. */
  async send (fields: PrepareFields): Promise<Buffer> { return await this.sendRaw(serializePrepare(fields)) }

  /** Sends a Prepare and returns the decoded reply. */
  async pay (fields: PrepareFields): Promise<DecodedReply> { return decodeReply(await this.send(fields)) }

  /** Asks the connector for our address and asset (ILDCP, RFC 31). */
  async ildcp (): Promise<{ clientAddress: string, assetCode: string, assetScale: number }> {
    return await Ildcp.fetch(this.plugin.sendData.bind(this.plugin))
  }

  /** Disconnects without tripping over a WebSocket that is half-way through a reconnect attempt. */
  async disconnect (): Promise<void> {
    if (this.held.length > 0) {
      for (const release of this.held.splice(0)) release()
      await sleep(20) // let the BTP responses go out before the socket closes
    }
    // ilp-plugin-btp's reconnector removes the socket's listeners before closing it, and ws throws an
    // unhandled 'error' when a socket still CONNECTING is closed; wait for that attempt to settle first.
    const instance = (this.plugin as unknown as { _ws?: { _instance?: WsLike } })._ws?._instance
    if (instance !== undefined && instance.readyState === 0) {
      await new Promise<void>((resolve) => {
        instance.once('open', () => resolve())
        instance.once('error', () => resolve())
        instance.once('close', () => resolve())
      })
    }
    await this.plugin.disconnect()
  }
}

interface WsLike {
  readyState: number
  once: (event: string, listener: () => void) => void
}

// ---- the harness ------------------------------------------------------------------------------------

export interface Listener {
  plugin: BtpPluginInstance
  port: number
  secret: string
  /** URL a client dials: btp+ws://:secret@127.0.0.1:port */
  url: string
}

/** Account for `harness.network`: a listener plugin is made for it unless `plugin` is given. */
export type AccountSpec = Omit<AccountConfig, 'plugin' | 'assetCode' | 'assetScale'> & {
  plugin?: AccountConfig['plugin']
  assetCode?: string
  assetScale?: number
  /** false: no client is made for this account (default true for listener accounts). */
  client?: boolean
}

export type ConnectorSpec = Omit<Partial<ConnectorConfig>, 'accounts'> & { accounts: Record<string, AccountSpec> }

export interface Network {
  app: Connector
  /** BTP clients by account id (accounts with a listener made by the harness). */
  nodes: Record<string, Node>
  listeners: Record<string, Listener>
}

export class Harness {
  private readonly clients: Node[] = []
  private readonly apps: Connector[] = []
  private readonly fulfillments = new Map<string, Buffer>()

  /** A fresh condition whose fulfillment every node's default handler knows. */
  condition (): { fulfillment: Buffer, executionCondition: Buffer } {
    const fulfillment = randomBytes(32)
    const executionCondition = sha256(fulfillment)
    this.fulfillments.set(executionCondition.toString('hex'), fulfillment)
    return { fulfillment, executionCondition }
  }

  /** Fulfills conditions made by `condition()` with data "fulfilled by <name>", rejects others with F99. */
  private readonly defaultHandler = (node: Node): PrepareHandler => (prepare) => {
    const fulfillment = this.fulfillments.get(prepare.executionCondition.toString('hex'))
    if (fulfillment !== undefined) return fulfillPacket(fulfillment, Buffer.from('fulfilled by ' + node.name))
    return rejectPacket({ code: 'F99', triggeredBy: node.address, message: 'unknown condition' })
  }

  /** A connector-side BTP listener on 127.0.0.1 and a free port. */
  async listener (secret = 'secret'): Promise<Listener> {
    const port = await freePort()
    const plugin = new BtpPlugin({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
    return { plugin, port, secret, url: `btp+ws://:${secret}@127.0.0.1:${port}` }
  }

  /**
   * A BTP client (retrying every 50 ms, since the listener it dials only opens when its connector gets to
   * it in listen()). Disconnected by close().
   */
  client (name: string, url: string): Node {
    const node = new Node(name, new BtpPlugin({ server: url, reconnectIntervals: [50] }), this.defaultHandler)
    this.clients.push(node)
    return node
  }

  /** A connector (shut down by close()); resolveFrom defaults to the cli folder. */
  connector (config: Partial<ConnectorConfig> & Pick<ConnectorConfig, 'accounts'>, options: AppOptions = {}): Connector {
    const app = createApp(config, { logger: silentLogger, resolveFrom: [CLI_DIR], ...options })
    this.apps.push(app)
    return app
  }

  /**
   * A connector whose accounts are BTP listeners, one client per account, all started together
   * (a listener's connect() resolves only once its client authenticated). Defaults: address test.conn,
   * assetCode XYZ, assetScale 9, backend one-to-one, initialConnectTimeout 2000.
   */
  async network (spec: ConnectorSpec, options: AppOptions = {}): Promise<Network> {
    const accounts: Record<string, AccountConfig> = {}
    const listeners: Record<string, Listener> = {}
    const nodes: Record<string, Node> = {}
    for (const [id, { client, ...account }] of Object.entries(spec.accounts)) {
      let plugin = account.plugin
      if (plugin === undefined) {
        const listener = await this.listener()
        listeners[id] = listener
        plugin = listener.plugin as unknown as Plugin
        if (client !== false) nodes[id] = this.client(id, listener.url)
      }
      accounts[id] = { assetCode: 'XYZ', assetScale: 9, ...account, plugin }
    }
    const app = this.connector({
      ilpAddress: 'test.conn',
      backend: 'one-to-one',
      initialConnectTimeout: 2000,
      ...spec,
      accounts
    }, options)
    await Promise.all([app.listen(), ...Object.values(nodes).map(async (node) => await node.connect())])
    const ownAddress = app.getOwnAddress()
    for (const [id, node] of Object.entries(nodes)) {
      node.address = ownAddress + '.' + (spec.accounts[id]?.ilpAddressSegment ?? id)
    }
    return { app, nodes, listeners }
  }

  /** Disconnects every client, then shuts every connector down (newest first). */
  async close (): Promise<void> {
    const errors: unknown[] = []
    for (const node of this.clients.splice(0)) await node.disconnect().catch((err: unknown) => errors.push(err))
    for (const app of this.apps.splice(0).reverse()) await app.shutdown().catch((err: unknown) => errors.push(err))
    if (errors.length > 0) throw new AggregateError(errors, 'harness teardown failed')
  }
}
