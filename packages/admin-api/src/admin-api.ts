/**
 * The admin API server: a plain node:http server on `adminApiHost:adminApiPort` (127.0.0.1:7780 by default)
 * that answers the reference connector's admin routes. It can add accounts with any plugin, move balances and
 * show plugin admin info, with no TLS: it must only ever be reachable from the machine itself (or through a
 * TLS reverse proxy), and `adminApiToken` makes every route require `Authorization: Bearer <token>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ConnectorHandle, Extension, HttpMount, Logger } from '@conn/types'
import { BearerToken, DEFAULT_BODY_LIMIT, HttpError, readJsonBody } from './http.ts'
import { AdminRoutes, JsonReply, TextReply } from './routes.ts'

export interface AdminApiOptions {
  /** Default `config.adminApiHost` (127.0.0.1). */
  host?: string
  /** Default `config.adminApiPort` (7780); 0 picks a free port (see `port`). */
  port?: number
  /** Default `config.adminApiToken`; '' (the default) means no token is required. */
  token?: string
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  bodyLimit?: number
  /** Path prefixes other extensions serve on this port (the console); each decides itself what needs the token. */
  mounts?: readonly HttpMount[]
}

/** Whether a host name or address only reaches this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

export class AdminApi implements Extension {
  readonly host: string
  private readonly requestedPort: number
  private readonly token: BearerToken | undefined
  private readonly bodyLimit: number
  private readonly routes: AdminRoutes
  private readonly mounts: readonly HttpMount[]
  private readonly log: Logger
  private server: Server | undefined
  private boundPort: number | undefined

  constructor (private readonly connector: ConnectorHandle, options: AdminApiOptions = {}) {
    const config = connector.config
    this.host = options.host ?? config.adminApiHost ?? '127.0.0.1'
    this.requestedPort = options.port ?? config.adminApiPort ?? 7780
    const token = options.token ?? config.adminApiToken ?? ''
    this.token = token === '' ? undefined : new BearerToken(token)
    this.bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
    this.routes = new AdminRoutes(connector)
    this.mounts = options.mounts ?? []
    this.log = connector.logger.child({ component: 'admin-api' })
  }

  /** The port listened on (the real one when 0 was asked for); throws before start(). */
  get port (): number {
    if (this.boundPort === undefined) throw new Error('the admin API is not listening')
    return this.boundPort
  }

  /** `http://host:port` of the running server. */
  get url (): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `http://${host}:${this.port}`
  }

  async start (): Promise<void> {
    if (this.server !== undefined) return
    const server = createServer((req, res) => { void this.handle(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    }).catch((err: Error) => {
      throw new Error(`admin API cannot listen on ${this.host}:${this.requestedPort}: ${err.message}`, { cause: err })
    })
    server.on('error', (err) => this.log.warn({ err }, 'admin API server error'))
    this.server = server
    this.boundPort = (server.address() as AddressInfo).port
    this.log.info({ host: this.host, port: this.boundPort, token: this.token !== undefined }, 'admin API listening')
    if (!isLoopback(this.host) && this.token === undefined) {
      this.log.warn({ host: this.host }, 'admin API listens beyond this machine without a token: anyone who reaches it can add accounts ' +
        'and move balances. Bind it to 127.0.0.1, or set adminApiToken and put a TLS reverse proxy in front')
    }
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.boundPort = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now()
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0]!
    try {
      const mount = this.mountFor(path)
      if (mount !== undefined) {
        await mount.handle(req, res, { admin: this.token !== undefined && this.token.matches(req.headers.authorization) })
        return
      }
      const found = this.routes.match(method, path)
      if (this.token !== undefined && found?.route.open !== true && !this.token.matches(req.headers.authorization)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="conn admin API"')
        this.sendText(res, 401, 'Unauthorized', true)
        return
      }
      if (found === undefined) {
        this.sendText(res, 404, 'Not Found', true)
        return
      }
      const body = await readJsonBody(req, this.bodyLimit)
      const reply = await found.route.handler({ params: found.params, body })
      if (reply === undefined || reply === null) {
        res.statusCode = 204
        res.end()
      } else if (reply instanceof JsonReply) {
        res.statusCode = reply.status
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify(reply.body))
      } else if (reply instanceof TextReply) {
        res.statusCode = 200
        res.setHeader('Content-Type', reply.contentType)
        res.end(reply.text)
      } else {
        res.statusCode = 200
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify(reply))
      }
    } catch (e) {
      const err = e !== null && typeof e === 'object' ? e as Error : new Error('non-object thrown. error=' + String(e))
      const status = statusOf(err)
      if (status >= 500) this.log.warn({ err, method, path }, 'error in admin API request handler')
      if (!res.headersSent) this.sendText(res, status, String(err), status === 413)
      else res.destroy()
    } finally {
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ method, path, status: res.statusCode, ms: Date.now() - started }, 'admin API request')
      }
    }
  }

  private mountFor (path: string): HttpMount | undefined {
    for (const mount of this.mounts) {
      if (path === mount.prefix || path.startsWith(mount.prefix + '/')) return mount
    }
    return undefined
  }

  private sendText (res: ServerResponse, status: number, text: string, close = false): void {
    res.statusCode = status
    res.setHeader('Content-Type', 'text/plain; charset=utf-8')
    if (close) res.setHeader('Connection', 'close')
    res.end(text)
  }
}

/** HttpError's status, else the reference's `httpErrorCode`, else 500. */
function statusOf (err: Error): number {
  if (err instanceof HttpError) return err.status
  const code = (err as { httpErrorCode?: unknown }).httpErrorCode
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500
}
