/**
 * For the level store e2e tests: a real `conn` process with two BTP listener accounts (alice, bob) on a level
 * directory, real ilp-plugin-btp clients for both, and a way to read the balances straight from the directory
 * once the process is gone (there is no admin API to ask in these tests).
 */
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { LevelStore } from '@conn/store-level'
import { BtpPlugin, Node, fulfillPacket, rejectPacket, sha256, type PrepareHandler } from './harness.ts'
import { startConn, type ConnProcess } from './process.ts'

export const OWN_ADDRESS = 'test.conn'

export interface StoreConnOptions {
  dir: string
  alicePort: number
  bobPort: number
  /** alice's balance.maximum (default 1000000000). */
  aliceMaximum?: string
  store?: string
  /** More CONNECTOR_* variables (e.g. CONNECTOR_STORE_CONFIG). */
  env?: Record<string, string>
}

/** The CONNECTOR_* environment of a one-to-one connector with alice and bob as BTP listeners on the level store. */
/** A child account over ilp-plugin-btp listening on 127.0.0.1:port, as a config names it. */
export function btpChild (port: number, secret: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    relation: 'child',
    plugin: 'ilp-plugin-btp',
    assetCode: 'USD',
    assetScale: 9,
    options: { listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } },
    ...extra
  }
}

/**
 * The accounts of the cluster and workers tests: alice and bob over ilp-plugin-btp, `minis` over
 * ilp-plugin-mini-accounts, each with wide balance limits (so every packet is booked in the store).
 */
export function clusterAccounts (ports: { alice: number, bob: number, minis: number }): Record<string, unknown> {
  const balance = { minimum: '-1000000000', maximum: '1000000000' }
  return {
    alice: btpChild(ports.alice, 'alice-secret', { balance }),
    bob: btpChild(ports.bob, 'bob-secret', { balance }),
    minis: {
      relation: 'child',
      plugin: 'ilp-plugin-mini-accounts',
      assetCode: 'USD',
      assetScale: 9,
      options: { wsOpts: { host: '127.0.0.1', port: ports.minis } },
      balance
    }
  }
}

/** The CONNECTOR_* of a cluster member on the redis store at `url` (short heartbeats and sweeps for tests). */
export function clusterMemberEnv (url: string, prefix: string, secret: string, accounts: Record<string, unknown>): Record<string, string> {
  return {
    CONNECTOR_ILP_ADDRESS: OWN_ADDRESS,
    CONNECTOR_BACKEND: 'one-to-one',
    CONNECTOR_SPREAD: '0',
    CONNECTOR_INITIAL_CONNECT_TIMEOUT: '300',
    CONNECTOR_STORE: 'redis',
    CONNECTOR_STORE_CONFIG: JSON.stringify({
      url,
      prefix,
      sweepInterval: 200,
      cluster: { secret, listen: { host: '127.0.0.1', port: 0 }, heartbeat: 250, ttl: 1000 }
    }),
    CONNECTOR_ACCOUNTS: JSON.stringify(accounts)
  }
}

export function storeConnEnv (options: StoreConnOptions): Record<string, string> {
  const listener = (port: number, secret: string): Record<string, unknown> =>
    ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
  const account = (port: number, secret: string, maximum = '1000000000'): Record<string, unknown> => ({
    relation: 'child',
    plugin: 'ilp-plugin-btp',
    assetCode: 'USD',
    assetScale: 9,
    options: listener(port, secret),
    balance: { minimum: '-1000000000', maximum }
  })
  return {
    CONNECTOR_ILP_ADDRESS: OWN_ADDRESS,
    CONNECTOR_BACKEND: 'one-to-one',
    CONNECTOR_SPREAD: '0',
    CONNECTOR_STORE: options.store ?? 'leveldown',
    CONNECTOR_STORE_PATH: options.dir,
    CONNECTOR_ACCOUNTS: JSON.stringify({
      alice: account(options.alicePort, 'alice-secret', options.aliceMaximum),
      bob: account(options.bobPort, 'bob-secret')
    }),
    ...options.env
  }
}

export interface StoreNetwork {
  conn: ConnProcess
  /** alice's BTP client; it sends, and rejects anything sent to it. */
  alice: Node
  /** bob's BTP client; set its `handler` to answer. */
  bob: Node
}

/**
 * Starts conn on the store, connects a client for alice and for bob (the listeners wait for their first
 * client before the connector is ready) and resolves once conn logged `connector ready`.
 */
export async function startStoreNetwork (options: StoreConnOptions, aliceResponseTimeout?: number): Promise<StoreNetwork> {
  const conn = startConn([], storeConnEnv(options))
  const refuse: PrepareHandler = () => rejectPacket({ code: 'F02', triggeredBy: `${OWN_ADDRESS}.alice`, message: 'alice receives nothing' })
  const clients = Promise.all([
    clientNode('alice', options.alicePort, 'alice-secret', refuse, aliceResponseTimeout),
    clientNode('bob', options.bobPort, 'bob-secret', refuse)
  ])
  const died = conn.exited.then((code) => { throw new Error(`conn exited (${String(code)}) while starting:\n${conn.stderr()}`) })
  died.catch(() => {}) // it rejects at every exit, also the expected one at the end of a test
  const [alice, bob] = await Promise.race([clients, died])
  await conn.waitFor('connector ready')
  return { conn, alice, bob }
}

/** The committed balances as the directory holds them (the key absent: undefined). The directory must be free. */
export async function readBalances (dir: string): Promise<{ alice: bigint | undefined, bob: bigint | undefined }> {
  const store = new LevelStore({ path: dir })
  await store.open()
  try {
    const [alice, bob] = [await store.get('balance:alice'), await store.get('balance:bob')]
    return { alice: alice === undefined ? undefined : BigInt(alice), bob: bob === undefined ? undefined : BigInt(bob) }
  } finally {
    await store.close()
  }
}

/** A BTP client node for an account (fast reconnects; `responseTimeout` ms for its own requests). */
export async function clientNode (name: string, port: number, secret: string, handler: PrepareHandler, responseTimeout = 5000): Promise<Node> {
  const plugin = new BtpPlugin({ server: `btp+ws://:${secret}@127.0.0.1:${port}`, reconnectIntervals: [50], responseTimeout } as any)
  const node = new Node(name, plugin, () => handler)
  node.address = `${OWN_ADDRESS}.${name}`
  await node.connect()
  return node
}

/**
 * Prepare data that carries its own fulfillment (32 bytes) and the packet's index (uint32), so a receiver can
 * fulfil any packet and tell which one it is.
 */
export function paymentData (index: number): { data: Buffer, executionCondition: Buffer } {
  const fulfillment = randomBytes(32)
  const data = Buffer.alloc(36)
  fulfillment.copy(data)
  data.writeUInt32BE(index, 32)
  return { data, executionCondition: sha256(fulfillment) }
}

export function indexOf (data: Buffer): number { return data.readUInt32BE(32) }

/** Answers a Prepare made with paymentData: Fulfill, or (`reject`) F99 from `node`. */
export function answer (data: Buffer, reject: boolean, from: string): Buffer {
  return reject
    ? rejectPacket({ code: 'F99', triggeredBy: from, message: 'rejected by the receiver' })
    : fulfillPacket(data.subarray(0, 32))
}

/** After a test: disconnects the clients, kills the conn processes still running and waits for them. */
export async function stopEverything (nodes: Node[], conns: ConnProcess[]): Promise<void> {
  await Promise.all(nodes.map(async (node) => { await node.disconnect().catch(() => {}) }))
  for (const conn of conns) {
    if (conn.child.exitCode === null && conn.child.signalCode === null) {
      conn.child.kill('SIGKILL')
      await conn.exited
    }
  }
}

/** Deletes every key under a Redis prefix (the tests' own). */
export async function deletePrefix (redis: { keys: (pattern: string) => Promise<string[]>, del: (...keys: string[]) => Promise<number> }, prefix: string): Promise<void> {
  const keys = await redis.keys(prefix + '*')
  if (keys.length > 0) await redis.del(...keys)
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export async function isListening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}
