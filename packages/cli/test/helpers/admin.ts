/** Real HTTP requests (fetch) to a connector's admin API, and a reader for the Prometheus text format. */

export interface AdminAnswer {
  status: number
  contentType: string | null
  text: string
  /** The body parsed as JSON (throws if it is not). */
  json: () => any
}

export class AdminClient {
  constructor (readonly baseUrl: string, private readonly token?: string) {}

  static on (port: number, token?: string): AdminClient {
    return new AdminClient(`http://127.0.0.1:${port}`, token)
  }

  async request (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<AdminAnswer> {
    const allHeaders: Record<string, string> = { ...headers }
    if (this.token !== undefined && allHeaders.authorization === undefined) allHeaders.authorization = `Bearer ${this.token}`
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: allHeaders,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, contentType: res.headers.get('content-type'), text, json: () => JSON.parse(text) }
  }

  async get (path: string, headers?: Record<string, string>): Promise<AdminAnswer> { return await this.request('GET', path, undefined, headers) }
  async post (path: string, body?: unknown): Promise<AdminAnswer> { return await this.request('POST', path, body) }
  async delete (path: string): Promise<AdminAnswer> { return await this.request('DELETE', path) }
}

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (comments skipped; label values unescaped). */
export function parsePrometheus (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (match === null) throw new Error('not a Prometheus sample line: ' + line)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}

/** The value of the one sample with this name whose labels include `labels`; undefined if none, throws if several. */
export function sampleValue (samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
