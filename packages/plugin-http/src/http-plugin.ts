/**
 * An LPI2 plugin speaking ILP over HTTP (RFC 35) to one peer: our Prepares go out as POST bodies and come back
 * answered in the response; the peer's come in the same way on our port. Stateless on the wire (no connection to
 * keep: any instance behind the peer's URL can answer), so `connect()` means "our server listens" and the link is
 * up from then on. No money moves over HTTP: `sendMoney` does nothing, as in ilp-plugin-http (settle out of band).
 */
import { EventEmitter } from 'node:events'
import type { Plugin, PluginDataHandler, PluginMoneyHandler } from '@conn/types'
import { IncomingAuth, OutgoingAuth } from './auth.ts'
import { IlpHttpClient } from './client.ts'
import { checkHttpOptions, incomingSecret, incomingToken, outgoingSecret, outgoingToken, type HttpPluginOptions } from './options.ts'
import { IlpHttpServer } from './server.ts'

export const DEFAULT_MAX_BODY_BYTES = 65_536

export class HttpPlugin extends EventEmitter implements Plugin {
  static readonly version = 2
  readonly options: HttpPluginOptions
  private readonly server: IlpHttpServer
  private readonly client: IlpHttpClient
  private dataHandler: PluginDataHandler | undefined
  private connected = false
  /** The port the server listens on (the configured one, or the one the system chose for port 0). */
  port: number | undefined

  constructor (options: Record<string, unknown>) {
    super()
    this.options = checkHttpOptions(options)
    const { incoming, outgoing } = this.options
    this.server = new IlpHttpServer({
      auth: new IncomingAuth(incomingToken(incoming), incomingSecret(incoming)),
      maxBodyBytes: incoming.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      handler: () => this.connected ? this.dataHandler : undefined
    })
    this.client = new IlpHttpClient(
      { url: new URL(outgoing.url), http2: outgoing.http2 ?? false, name: outgoing.name, maxSockets: outgoing.maxSockets ?? 64 },
      new OutgoingAuth(outgoingToken(outgoing), outgoingSecret(outgoing), outgoing.tokenExpiry ?? 30_000)
    )
  }

  async connect (): Promise<void> {
    if (this.connected) return
    this.port = await this.server.listen(this.options.incoming.port, this.options.incoming.host)
    this.connected = true
    this.emit('connect')
  }

  async disconnect (): Promise<void> {
    if (!this.connected) return
    this.connected = false
    this.client.close()
    await this.server.close()
    this.emit('disconnect')
  }

  isConnected (): boolean { return this.connected }

  async sendData (data: Buffer): Promise<Buffer> {
    if (!this.connected) throw new Error('the HTTP plugin is not connected')
    return await this.client.send(data)
  }

  async sendMoney (): Promise<void> {}

  registerDataHandler (handler: PluginDataHandler): void { this.dataHandler = handler }
  deregisterDataHandler (): void { this.dataHandler = undefined }
  registerMoneyHandler (_handler: PluginMoneyHandler): void {}
  deregisterMoneyHandler (): void {}
}
