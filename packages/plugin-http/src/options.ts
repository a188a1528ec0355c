/**
 * The plugin's options, named as ilp-plugin-http names them (so an account moves from it unchanged) and
 * checked at construction: a wrong one is an error naming the field.
 */

export interface HttpIncomingOptions {
  /** Port the HTTP server listens on (HTTP/1.1 and cleartext HTTP/2 on the same port). */
  port: number
  /** Interface to listen on (default: all, as ilp-plugin-http). */
  host?: string
  /** JWT (HS256) secret the peer signs its tokens with (ilp-plugin-http's `secret`). */
  secret?: string
  jwtSecret?: string
  /** A static bearer token the peer sends (ilp-plugin-http's `secretToken`). */
  secretToken?: string
  staticToken?: string
  /** Largest request body taken (bytes, default 65536); a larger one gets 413 and never reaches the connector. */
  maxBodyBytes?: number
}

export interface HttpOutgoingOptions {
  /** Where to POST Prepares (http: or https:). */
  url: string
  /** JWT (HS256) secret to sign our tokens with (sent as the Authorization header, as ilp-plugin-http sends them). */
  secret?: string
  jwtSecret?: string
  /** A static token, sent as `Authorization: Bearer <token>`. */
  secretToken?: string
  staticToken?: string
  /** How long a signed token is used (ms, default 30000). */
  tokenExpiry?: number
  /** HTTP/2 to the peer (default false: HTTP/1.1 with keep-alive). */
  http2?: boolean
  /** Sent in the `ILP-Peer-Name` header (ilp-plugin-http uses it in multilateral mode). */
  name?: string
  /** Connections kept open to the peer over HTTP/1.1 at most (default 64). */
  maxSockets?: number
}

export interface HttpPluginOptions {
  incoming: HttpIncomingOptions
  outgoing: HttpOutgoingOptions
}

export class HttpPluginOptionsError extends Error {
  readonly code = 'ERR_PLUGIN_OPTIONS'
}

/** The options, checked; throws HttpPluginOptionsError naming the first wrong field. */
export function checkHttpOptions (options: Record<string, unknown>): HttpPluginOptions {
  const incoming = options.incoming as Record<string, unknown> | undefined
  const outgoing = options.outgoing as Record<string, unknown> | undefined
  if (typeof incoming !== 'object' || incoming === null) fail('incoming', 'an object with port and secret or secretToken', incoming)
  if (typeof outgoing !== 'object' || outgoing === null) fail('outgoing', 'an object with url and secret or secretToken', outgoing)
  if (!Number.isInteger(incoming.port) || (incoming.port as number) < 0 || (incoming.port as number) > 65535) fail('incoming.port', 'a port number', incoming.port)
  for (const field of ['host', 'secret', 'jwtSecret', 'secretToken', 'staticToken'] as const) {
    if (incoming[field] !== undefined && (typeof incoming[field] !== 'string' || incoming[field] === '')) fail(`incoming.${field}`, 'a non-empty string', incoming[field])
  }
  if (incomingSecret(incoming) === undefined && incomingToken(incoming) === undefined) {
    fail('incoming.secret', 'a JWT secret (secret) or a static token (secretToken): requests must be authenticated', undefined)
  }
  if (incoming.maxBodyBytes !== undefined && !(Number.isInteger(incoming.maxBodyBytes) && (incoming.maxBodyBytes as number) >= 1024)) {
    fail('incoming.maxBodyBytes', 'an integer of at least 1024', incoming.maxBodyBytes)
  }
  let url: URL
  try {
    url = new URL(String(outgoing.url))
  } catch {
    fail('outgoing.url', 'an http: or https: URL', outgoing.url)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('outgoing.url', 'an http: or https: URL', outgoing.url)
  for (const field of ['secret', 'jwtSecret', 'secretToken', 'staticToken', 'name'] as const) {
    if (outgoing[field] !== undefined && (typeof outgoing[field] !== 'string' || outgoing[field] === '')) fail(`outgoing.${field}`, 'a non-empty string', outgoing[field])
  }
  if (outgoingSecret(outgoing) === undefined && outgoingToken(outgoing) === undefined) {
    fail('outgoing.secret', 'a JWT secret (secret) or a static token (secretToken) for the peer', undefined)
  }
  if (outgoing.tokenExpiry !== undefined && !(Number.isInteger(outgoing.tokenExpiry) && (outgoing.tokenExpiry as number) >= 2000)) {
    fail('outgoing.tokenExpiry', 'an integer of milliseconds, at least 2000', outgoing.tokenExpiry)
  }
  if (outgoing.http2 !== undefined && typeof outgoing.http2 !== 'boolean') fail('outgoing.http2', 'true or false', outgoing.http2)
  if (outgoing.maxSockets !== undefined && !(Number.isInteger(outgoing.maxSockets) && (outgoing.maxSockets as number) >= 1)) {
    fail('outgoing.maxSockets', 'a positive integer', outgoing.maxSockets)
  }
  return { incoming: incoming as unknown as HttpIncomingOptions, outgoing: outgoing as unknown as HttpOutgoingOptions }
}

export function incomingSecret (incoming: Partial<HttpIncomingOptions>): string | undefined { return incoming.secret ?? incoming.jwtSecret }
export function incomingToken (incoming: Partial<HttpIncomingOptions>): string | undefined { return incoming.secretToken ?? incoming.staticToken }
export function outgoingSecret (outgoing: Partial<HttpOutgoingOptions>): string | undefined { return outgoing.secret ?? outgoing.jwtSecret }
export function outgoingToken (outgoing: Partial<HttpOutgoingOptions>): string | undefined { return outgoing.secretToken ?? outgoing.staticToken }

function fail (field: string, expected: string, got: unknown): never {
  throw new HttpPluginOptionsError(`options.${field}: expected ${expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`)
}
