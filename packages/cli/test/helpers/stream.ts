/**
 * ilp-protocol-stream 2.7.1 on Node 20, for end-to-end tests, plus a STREAM server and a one-call STREAM
 * payment on top of any LPI2 plugin.
 *
 * The Node 20 problem: DataAndMoneyStream extends stream.Duplex and assigns `this.closed` (in its constructor,
 * in `_final` and in `_destroy`), but since Node 18 `closed` is a getter-only accessor inherited from
 * Readable.prototype, so `new DataAndMoneyStream()` throws "Cannot set property closed of #<Readable> which has
 * only a getter" and no STREAM connection can open a stream. The library's `closed` is its own flag ("this
 * stream will not send or accept more", read by isOpen(), setSendMax/setReceiveMax and the send loop), not
 * Node's "the stream emitted 'close'", so the fix gives the subclass an own accessor that stores the library's
 * value per instance; Node's internals read their own `_readableState.closed`/`_writableState.closed`, never
 * `stream.closed`, so they are unaffected. node_modules is not touched.
 *
 * `closed` is the only such property: every property the library assigns on its own objects (`this.x =` in
 * stream.js, connection.js, server.js, pool.js, util/congestion.js, and `stream.x =` in connection.js) was
 * checked against the prototype chains on Node 20; only DataAndMoneyStream's `closed` resolves to a getter
 * without a setter. Connection, Server and the pool extend EventEmitter (or nothing), which defines no
 * accessors, so Connection's own `closed` flag is a plain data property. `patchIlpStream()` looks at the
 * properties in PATCHED_PROPERTIES again at run time, replaces those that are getter-only on the running Node,
 * and throws if one is still not writable afterwards.
 */
import { Connection, DataAndMoneyStream, createConnection, createServer, type Server } from 'ilp-protocol-stream'

/** Plugin shape the STREAM library needs (ilp-plugin-btp instances fit). */
export interface StreamPlugin {
  connect: (opts?: object) => Promise<void>
  disconnect: () => Promise<void>
  isConnected: () => boolean
  sendData: (data: Buffer) => Promise<Buffer>
  registerDataHandler: (handler: (data: Buffer) => Promise<Buffer>) => void
  deregisterDataHandler: () => void
}

/** Properties the library assigns on instances whose base classes come from Node. */
const PATCHED_PROPERTIES: ReadonlyArray<[what: string, proto: object, names: string[]]> = [
  ['DataAndMoneyStream', DataAndMoneyStream.prototype, ['closed']],
  ['Connection', Connection.prototype, ['closed']]
]

/** Finds a getter-only accessor for `name` on `proto` or its ancestors. */
function getterOnly (proto: object, name: string): boolean {
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name)
    if (descriptor !== undefined) return descriptor.get !== undefined && descriptor.set === undefined
  }
  return false
}

let patched = false

/**
 * Makes ilp-protocol-stream's classes constructible on Node 20 (idempotent). Call it before creating a STREAM
 * server or connection; the helpers below do.
 */
export function patchIlpStream (): void {
  if (patched) return
  for (const [what, proto, names] of PATCHED_PROPERTIES) {
    for (const name of names) {
      if (!getterOnly(proto, name)) continue
      const values = new WeakMap<object, unknown>()
      Object.defineProperty(proto, name, {
        configurable: true,
        enumerable: false,
        get (this: object) { return values.get(this) ?? false },
        set (this: object, value: unknown) { values.set(this, value) }
      })
      if (getterOnly(proto, name)) throw new Error(`could not make ${what}.${name} writable`)
    }
  }
  patched = true
}

/** Poll interval while waiting for a STREAM connection to go quiet. */
const SETTLE_POLL_MS = 2

/**
 * The plugin as a STREAM Connection or Server sees it: it counts our packets in flight, and it does not
 * disconnect the real plugin (or drop its data handler) while a connection on it could still send.
 *
 * Why: createConnection disconnects its plugin as soon as its connection emits 'close', and Server.close()
 * disconnects right after ending its connections, but the other side may still be in its own send loop then
 * (when the sender's ConnectionClose arrives, the receiver is often still probing the exchange rate it needs
 * to send its stream frames back, and the sender restarts its loop once more from a setImmediate after its
 * stream closes). A packet that meets a websocket that is just closing never gets a reply: the sender of it
 * waits for the packet's expiry (30 s) and ilp-plugin-btp keeps a 35 s response timer alive, so neither
 * close() nor mocha would finish in time. Kept attached, a closed connection still answers (as STREAM does,
 * with a reject that repeats the close), and the real plugin is disconnected once everything is quiet.
 */
class SettlingPlugin implements StreamPlugin {
  private inFlight = 0
  private readonly connections = new Set<Connection>()
  private handlerRegistered = false
  private detached = false

  constructor (readonly plugin: StreamPlugin, private readonly detach: 'never' | 'when-settled') {}

  track (connection: Connection): void { this.connections.add(connection) }

  async connect (): Promise<void> { await this.plugin.connect() }
  isConnected (): boolean { return this.plugin.isConnected() }

  async sendData (data: Buffer): Promise<Buffer> {
    this.inFlight++
    try {
      return await this.plugin.sendData(data)
    } finally {
      this.inFlight--
    }
  }

  registerDataHandler (handler: (data: Buffer) => Promise<Buffer>): void {
    if (this.handlerRegistered) this.plugin.deregisterDataHandler()
    this.plugin.registerDataHandler(handler)
    this.handlerRegistered = true
  }

  /** Server.close() swaps its handler for a rejecting one; keep the last one until the plugin goes. */
  deregisterDataHandler (): void {}

  async disconnect (): Promise<void> {
    if (this.detach === 'never') return
    try {
      await this.settled()
    } finally {
      await this.forceDisconnect()
    }
  }

  /** Drops the handler and disconnects the real plugin now (once). */
  async forceDisconnect (): Promise<void> {
    if (this.detached) return
    this.detached = true
    if (this.handlerRegistered) this.plugin.deregisterDataHandler()
    this.handlerRegistered = false
    await this.plugin.disconnect()
  }

  /** Resolves when no tracked connection is in its send loop and none of our packets is in flight. */
  async settled (timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let quietTurns = 0
    while (quietTurns < 3) {
      await new Promise((resolve) => setImmediate(resolve))
      const busy = this.inFlight > 0 || [...this.connections].some((c) => (c as unknown as { looping: boolean }).looping)
      quietTurns = busy ? 0 : quietTurns + 1
      if (busy) {
        if (Date.now() > deadline) throw new Error(`STREAM connection still busy after ${timeoutMs} ms (${this.inFlight} packets in flight)`)
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS))
      }
    }
  }
}

/** A STREAM receiver: its address and secret for senders, what it has received, and its teardown. */
export interface StreamReceiver {
  server: Server
  /** ILP address of the server, learned over ILDCP (e.g. `test.conn.receiver`). */
  address: string
  assetScale: number
  /** A fresh destination address and shared secret for one sender. */
  credentials: () => { destinationAccount: string, sharedSecret: Buffer }
  /** Units received on all streams of all connections so far (stream 'money' events). */
  totalReceived: () => bigint
  /** Resolves once totalReceived() reaches `amount`; rejects after `timeoutMs`. */
  waitForReceived: (amount: bigint, timeoutMs?: number) => Promise<bigint>
  /** Errors emitted by connections and streams (none expected in a good run). */
  errors: Error[]
  /**
   * Ends every connection, waits until none of them sends any more, then disconnects the plugin (after at
   * most `timeoutMs` whatever state the connections are in). Close it before the senders' plugins, which keep
   * answering its last packets.
   */
  close: (timeoutMs?: number) => Promise<void>
}

/**
 * A STREAM server on `plugin` (connected here if need be; its address comes over ILDCP from the plugin's
 * peer, so the plugin must be a child account of a connector) that accepts any amount on any stream.
 */
export async function createStreamServer (plugin: StreamPlugin): Promise<StreamReceiver> {
  patchIlpStream()
  const view = new SettlingPlugin(plugin, 'when-settled')
  const server = await createServer({ plugin: view })
  let received = 0n
  const errors: Error[] = []
  const waiters = new Set<() => void>()
  server.on('connection', (connection: Connection) => {
    view.track(connection)
    connection.on('error', (err: Error) => errors.push(err))
    connection.on('stream', (stream: DataAndMoneyStream) => {
      stream.on('error', (err: Error) => errors.push(err))
      stream.setReceiveMax('18446744073709551615')
      stream.on('money', (amount: string) => {
        received += BigInt(amount)
        for (const waiter of waiters) waiter()
      })
    })
  })
  const address = server.generateAddressAndSecret().destinationAccount.split('.').slice(0, -1).join('.')
  return {
    server,
    address,
    assetScale: server.assetScale,
    credentials: () => {
      const { destinationAccount, sharedSecret } = server.generateAddressAndSecret()
      return { destinationAccount, sharedSecret }
    },
    totalReceived: () => received,
    waitForReceived: async (amount, timeoutMs = 5000) => {
      if (received >= amount) return received
      return await new Promise<bigint>((resolve, reject) => {
        const check = (): void => {
          if (received < amount) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(received)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for ${amount} units; received ${received}`))
        }, timeoutMs)
        waiters.add(check)
      })
    },
    errors,
    close: async (timeoutMs = 5000) => {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          server.close(),
          new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`STREAM server did not close within ${timeoutMs} ms`)), timeoutMs) })
        ])
      } finally {
        clearTimeout(timer)
        await view.forceDisconnect()
      }
    }
  }
}

export interface StreamPaymentResult {
  /** Source units the sender's stream sent (stream.totalSent). */
  sent: bigint
  /** Destination units the receiver acknowledged (connection.totalDelivered). */
  delivered: bigint
  sourceAssetScale: number
  destinationAssetScale: number | undefined
  /** Milliseconds from opening the connection to the last unit acknowledged. */
  elapsedMs: number
}

/**
 * Pays `amount` source units to a STREAM receiver over `plugin` (connected here if need be; its address
 * comes over ILDCP), on one stream, then ends the connection and waits until it sends no more. The plugin
 * stays connected with the closed connection still answering on it (see SettlingPlugin): one payment per
 * plugin, and the caller disconnects it after closing the receiver.
 */
export async function sendStreamPayment (
  plugin: StreamPlugin, destinationAccount: string, sharedSecret: Buffer, amount: bigint,
  opts: { timeoutMs?: number } = {}
): Promise<StreamPaymentResult> {
  patchIlpStream()
  const view = new SettlingPlugin(plugin, 'never')
  const started = performance.now()
  const connection = await createConnection({ plugin: view, destinationAccount, sharedSecret })
  view.track(connection)
  const errors: Error[] = []
  connection.on('error', (err: Error) => errors.push(err))
  let result: StreamPaymentResult
  try {
    const stream = connection.createStream()
    stream.on('error', (err: Error) => errors.push(err))
    await stream.sendTotal(amount.toString(), { timeout: opts.timeoutMs ?? 5000 })
    result = {
      sent: BigInt(stream.totalSent),
      delivered: BigInt(connection.totalDelivered),
      sourceAssetScale: connection.sourceAssetScale,
      destinationAssetScale: connection.destinationAssetScale,
      elapsedMs: performance.now() - started
    }
  } catch (err) {
    await connection.destroy()
    await view.settled()
    throw err
  }
  await connection.end()
  await view.settled()
  if (errors.length > 0) throw new AggregateError(errors, 'STREAM sender errors: ' + errors.map((e) => e.message).join('; '))
  return result
}
