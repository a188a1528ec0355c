/**
 * Rate sources for the e2e tests: a local HTTP server on 127.0.0.1 serving the recorded ECB fixtures of
 * @conn/backend-ecb (no outside network), and the reference connector's own ECB backend (ilp-connector
 * v23, a devDependency of this package) to compare amounts with.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'

const BACKEND_FIXTURES = new URL('../../../backend-ecb/test/fixtures/', import.meta.url)

/** A recorded fixture of @conn/backend-ecb (packages/backend-ecb/test/fixtures/<name>). */
export function rateFixture (name: string): string {
  return readFileSync(new URL(name, BACKEND_FIXTURES), 'utf8')
}

/** The daily fixture's rates (units per EUR) as written in the file, read with a regular expression. */
export function fixtureRates (): Record<string, string> {
  const xml = rateFixture('eurofxref-daily.xml')
  return Object.fromEntries([...xml.matchAll(/currency='(\w+)' rate='([\d.]+)'/g)].map((m) => [m[1]!, m[2]!]))
}

export interface Route { status?: number, body: string, contentType?: string }

/** Serves fixed answers by path (404 otherwise); `requests` lists the paths asked for. */
export class RatesServer {
  readonly requests: string[] = []

  private constructor (private readonly server: Server, readonly port: number, routes: Record<string, Route>) {
    server.on('request', (request, response) => {
      const path = request.url ?? '/'
      this.requests.push(path)
      const route = routes[path] ?? { status: 404, body: 'not found' }
      response.writeHead(route.status ?? 200, { 'content-type': route.contentType ?? 'text/xml' })
      response.end(route.body)
    })
  }

  static async start (routes: Record<string, Route>): Promise<RatesServer> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', resolve)
    })
    return new RatesServer(server, (server.address() as AddressInfo).port, routes)
  }

  url (path: string): string { return `http://127.0.0.1:${this.port}${path}` }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

interface ReferenceBackend {
  connect (): Promise<void>
  getRate (source: string, destination: string): Promise<number>
}

/**
 * ilp-connector v23's `ecb` backend, fed the given rates through its `mockData` option (no network), for
 * accounts given as { id: { assetCode, assetScale } }. Its log lines (riverpig, on stdout) are discarded.
 */
export async function referenceEcb (rates: Record<string, string>, spread: number, accounts: Record<string, { assetCode: string, assetScale: number }>): Promise<ReferenceBackend> {
  const require = createRequire(import.meta.url)
  const log = require('ilp-connector/dist/common/log.js') as { setOutputStream: (stream: NodeJS.WritableStream) => void }
  log.setOutputStream(new Writable({ write: (_chunk, _encoding, done) => { done() } }))
  const Backend = (require('ilp-connector/dist/backends/ecb.js') as { default: new (options: unknown, api: unknown) => ReferenceBackend }).default
  const backend = new Backend({ spread, mockData: { base: 'EUR', rates: { ...rates } } }, { getInfo: (id: string) => accounts[id] })
  await backend.connect()
  return backend
}

/** floor(amount x rate) the way the reference's route builder does it: the number read through its decimal form. */
export function referenceAmount (amount: bigint, rate: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(rate))
  if (match === null) throw new Error('unexpected rate ' + String(rate))
  const [, whole = '', fraction = '', exponentText = '0'] = match
  const exponent = Number(exponentText) - fraction.length
  const digits = BigInt(whole + fraction)
  return exponent >= 0 ? amount * digits * 10n ** BigInt(exponent) : amount * digits / 10n ** BigInt(-exponent)
}
