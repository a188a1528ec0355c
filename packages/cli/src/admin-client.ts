/** Reads a running conn's admin API over HTTP, for the terminal commands (`conn routes`, `conn status`). */

export class AdminApiError extends Error {
  readonly code = 'ERR_ADMIN_API'
}

export class AdminApiClient {
  constructor (readonly url: string, private readonly token = '') {}

  /** The JSON body of a GET; `acceptStatus` lists the non-2xx answers that still carry one (the readiness probe's 503). */
  async get<T> (path: string, acceptStatus: number[] = []): Promise<T> {
    let res: Response
    try {
      res = await fetch(this.url + path, {
        headers: this.token === '' ? {} : { authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(5000)
      })
    } catch (err) {
      const reason = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new AdminApiError(`cannot reach the admin API at ${this.url} (${reason}): is conn running with adminApi on, and is this its address?`)
    }
    const text = await res.text()
    if (res.status === 401) {
      throw new AdminApiError(`the admin API at ${this.url} wants its token: set CONNECTOR_ADMIN_API_TOKEN (or adminApiToken in --config)`)
    }
    if (!res.ok && !acceptStatus.includes(res.status)) throw new AdminApiError(`GET ${this.url}${path}: ${res.status} ${text.trim()}`)
    try {
      return JSON.parse(text) as T
    } catch {
      throw new AdminApiError(`GET ${this.url}${path}: the answer is not JSON (is this conn's admin API?)`)
    }
  }
}

/**
 * Where the admin API of the conn configured here listens: `adminApiHost`/`adminApiPort` (defaults 127.0.0.1:7780),
 * a wildcard host reached on the loopback address.
 */
export function adminUrlOf (host: unknown, port: unknown): string {
  const h = typeof host === 'string' && host !== '' ? host : '127.0.0.1'
  const p = typeof port === 'number' ? port : 7780
  const reachable = h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '::1' : h
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${p}`
}
