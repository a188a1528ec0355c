/** `storeConfig.cluster`: checked once, each problem named by its option path. */
import { RedisStoreError } from './errors.ts'

export interface ClusterOptions {
  /** Shared by every member (at least 16 characters): only holders can use the internal link. */
  secret: string
  /** Where this member listens for the others (default 127.0.0.1 and a free port). */
  listen?: { host?: string, port?: number }
  /** `host:port` the others dial (default the listen host and the port it got). */
  advertise?: string
  /** How often this member renews its entry and reads the others' (ms, default 1000). */
  heartbeat?: number
  /** How long an entry lives without a renewal (ms, default 3000; more than `heartbeat`). */
  ttl?: number
}

export interface ClusterSettings {
  secret: string
  host: string
  port: number
  advertise: string | undefined
  heartbeat: number
  ttl: number
}

const KNOWN = new Set(['secret', 'listen', 'advertise', 'heartbeat', 'ttl'])

function fail (path: string, message: string): never {
  throw new RedisStoreError('ERR_STORE_CONFIG', `storeConfig.cluster${path}: ${message}`)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const positiveInteger = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

/** The settings of `storeConfig.cluster`, or undefined when it is absent (no cluster). */
export function clusterSettings (options: unknown): ClusterSettings | undefined {
  if (options === undefined || options === null || options === false) return undefined
  if (!isObject(options)) fail('', `expected an object { secret, listen, advertise, heartbeat, ttl }, got ${JSON.stringify(options)}`)
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key))
  if (unknown.length > 0) fail('.' + unknown[0]!, `not an option of the cluster (expected secret, listen, advertise, heartbeat, ttl)`)
  const { secret, listen = {}, advertise, heartbeat = 1000, ttl = 3000 } = options
  if (typeof secret !== 'string' || secret.length < 16) fail('.secret', 'expected a string of at least 16 characters, shared by every member')
  if (!isObject(listen)) fail('.listen', `expected an object { host, port }, got ${JSON.stringify(listen)}`)
  const { host = '127.0.0.1', port = 0 } = listen
  if (typeof host !== 'string' || host === '') fail('.listen.host', `expected a host name or IP address, got ${JSON.stringify(host)}`)
  if (!Number.isSafeInteger(port) || (port as number) < 0 || (port as number) > 65535) fail('.listen.port', `expected a port 0..65535 (0: any free port), got ${JSON.stringify(port)}`)
  if (advertise !== undefined && (typeof advertise !== 'string' || !/^[^\s:]+:[0-9]{1,5}$/.test(advertise))) {
    fail('.advertise', `expected "host:port" the other members can dial, got ${JSON.stringify(advertise)}`)
  }
  if (!positiveInteger(heartbeat)) fail('.heartbeat', `expected a positive integer of milliseconds, got ${JSON.stringify(heartbeat)}`)
  if (!positiveInteger(ttl) || ttl <= heartbeat) fail('.ttl', `expected an integer of milliseconds above heartbeat (${heartbeat}), got ${JSON.stringify(ttl)}`)
  return { secret, host, port: port as number, advertise: advertise as string | undefined, heartbeat, ttl }
}
