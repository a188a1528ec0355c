/**
 * The console extension: a single page under `/console` on the admin API's port, its data (`/console/state`, the
 * live feed `/console/events`) and the ping tool (`POST /console/ping`). Viewing needs no token; anything that
 * acts (a ping, and the admin API's own routes the page calls with the token) needs the admin token, so a page
 * opened without it is read-only. The page's files are read from the package at start: no CDN, no network.
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError, readJsonBody } from '@conn/admin-api'
import { isValidIlpAddress } from '@conn/codec'
import type { ConnectorHandle, Extension, HttpAccess, HttpMount, Logger } from '@conn/types'
import { EventStreams } from './events.ts'
import { PING_ACCOUNT, Pinger } from './ping.ts'
import { takeSnapshot } from './snapshot.ts'
import { TrafficMeter } from './traffic.ts'

export interface ConsoleOptions {
  /** How often the live feed reads the connector and pushes to open pages, in ms (default 1000). */
  interval?: number
  /** How long a ping waits for its echo, in ms (default 10000). */
  pingTimeout?: number
}

export const PREFIX = '/console'
const ASSETS = new URL('../assets/', import.meta.url)
const HIDDEN = new Set([PING_ACCOUNT])
/** A ping's body is one address. */
const BODY_LIMIT = 4096

/** The page may only load and talk to this origin. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store'
}

interface Asset { type: string, body: Buffer }

function loadAssets (): Map<string, Asset> {
  const read = (name: string): Buffer => readFileSync(new URL(name, ASSETS))
  const html = { type: 'text/html; charset=utf-8', body: read('console.html') }
  return new Map([
    [PREFIX, html],
    [PREFIX + '/', html],
    [PREFIX + '/console.js', { type: 'text/javascript; charset=utf-8', body: read('console.js') }],
    [PREFIX + '/console.css', { type: 'text/css; charset=utf-8', body: read('console.css') }]
  ])
}

export class Console implements Extension, HttpMount {
  readonly prefix = PREFIX
  readonly http: HttpMount = this
  private readonly assets = loadAssets()
  private readonly traffic: TrafficMeter
  private readonly streams: EventStreams
  private readonly pinger: Pinger
  private readonly log: Logger

  constructor (private readonly connector: ConnectorHandle, options: ConsoleOptions = {}) {
    this.log = connector.logger.child({ component: 'console' })
    this.pinger = new Pinger(connector, options.pingTimeout ?? 10000)
    this.traffic = new TrafficMeter((account) => !HIDDEN.has(account) && connector.getAccount(account) !== undefined)
    this.streams = new EventStreams({
      active: () => this.traffic.start(Date.now()),
      tick: async () => {
        const state = await takeSnapshot(this.connector, HIDDEN)
        return [['state', state], ['traffic', this.traffic.sample(Date.now(), state.accounts.map((a) => a.id))]]
      },
      idle: () => this.traffic.stop()
    }, options.interval ?? 1000, (err) => this.log.warn({ err }, 'console feed failed'))
  }

  start (): void {
    this.log.info({ path: PREFIX }, 'console served on the admin API port')
  }

  stop (): void {
    this.streams.close()
    this.traffic.stop()
  }

  async handle (req: IncomingMessage, res: ServerResponse, access: HttpAccess): Promise<void> {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0]!
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
    try {
      if (method !== 'GET' && method !== 'HEAD' && !access.admin) {
        // Acting needs the token; without one configured nothing can be done from the console.
        res.setHeader('WWW-Authenticate', 'Bearer realm="conn admin API"')
        throw new HttpError(401, 'Unauthorized')
      }
      await this.route(method, path, req, res, access)
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, (e as Error).message)
      if (err.status >= 500) this.log.warn({ err: e, method, path }, 'console request failed')
      if (res.headersSent) {
        res.destroy()
        return
      }
      res.statusCode = err.status
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end(err.status === 401 ? 'Unauthorized' : `Error: ${err.message}`)
    }
  }

  private async route (method: string, path: string, req: IncomingMessage, res: ServerResponse, access: HttpAccess): Promise<void> {
    const asset = this.assets.get(path)
    if (asset !== undefined && (method === 'GET' || method === 'HEAD')) {
      res.statusCode = 200
      res.setHeader('Content-Type', asset.type)
      res.end(method === 'HEAD' ? undefined : asset.body)
      return
    }
    if (method === 'GET' && path === PREFIX + '/state') return json(res, await takeSnapshot(this.connector, HIDDEN))
    if (method === 'GET' && path === PREFIX + '/access') {
      return json(res, { admin: access.admin, tokenConfigured: (this.connector.config.adminApiToken ?? '') !== '' })
    }
    if (method === 'GET' && path === PREFIX + '/events') {
      this.streams.open(req, res)
      return
    }
    if (method === 'POST' && path === PREFIX + '/ping') {
      const body = await readJsonBody(req, BODY_LIMIT)
      const destination = (body as { destination?: unknown } | undefined)?.destination
      if (typeof destination !== 'string' || !isValidIlpAddress(destination)) {
        throw new HttpError(400, `invalid ping: destination must be an ILP address, got ${JSON.stringify(destination) ?? 'nothing'}`)
      }
      const result = await this.pinger.ping(destination)
      if (this.log.isLevelEnabled('debug')) this.log.debug(result, 'console ping')
      return json(res, result)
    }
    throw new HttpError(404, 'Not Found')
  }
}

function json (res: ServerResponse, body: unknown): void {
  res.statusCode = 200
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify(body))
}
