import type { StoreManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { RedisStore, type RedisStoreOptions } from './redis-store.ts'

export { RedisStore, RedisStoreError, safeUrl, DEFAULT_URL, DEFAULT_PREFIX, type RedisStoreErrorCode, type RedisStoreOptions } from './redis-store.ts'
export { RedisCluster } from './cluster.ts'
export { LinkClient, LinkServer, type Deliver } from './cluster-link.ts'
export { clusterSettings, type ClusterOptions, type ClusterSettings } from './cluster-options.ts'
export { BATCH_SCRIPT, CLAIM_SCRIPT, TOKENS_SCRIPT } from './balance-script.ts'

/** The `redis` store: `storeConfig` `{ url, prefix, connectTimeout, sweepInterval, sharedLimits, cluster }` (CONNECTOR_STORE_CONFIG as JSON). */
const manifest: StoreManifest = {
  kind: 'store',
  name: 'redis',
  types: TYPES_RANGE,
  // other keys are warned about and ignored
  options: {
    type: 'object',
    properties: {
      url: { type: 'string', nonEmpty: true, description: 'redis://host:port[/db] (default redis://127.0.0.1:6379)' },
      prefix: { type: 'string', description: 'put before every key (default conn:)' },
      connectTimeout: { type: 'number', description: 'ms to wait for Redis at start (default 5000)' },
      cluster: { type: 'any', description: '{ secret, listen: { host, port }, advertise, heartbeat, ttl }: deliver through the other conn instances on this prefix (checked when the store is created)' }
    },
    additionalProperties: { type: 'any' }
  },
  create: (options, { logger }) => new RedisStore(options as RedisStoreOptions, logger)
}
export default manifest
