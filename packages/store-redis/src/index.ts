import type { StoreManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { RedisStore, type RedisStoreOptions } from './redis-store.ts'

export { RedisStore, RedisStoreError, safeUrl, DEFAULT_URL, DEFAULT_PREFIX, type RedisStoreErrorCode, type RedisStoreOptions } from './redis-store.ts'
export { BATCH_SCRIPT, CLAIM_SCRIPT, TOKENS_SCRIPT } from './balance-script.ts'

/** The `redis` store: `storeConfig` `{ url, prefix, connectTimeout }` (CONNECTOR_STORE_CONFIG as JSON). */
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
      connectTimeout: { type: 'number', description: 'ms to wait for Redis at start (default 5000)' }
    },
    additionalProperties: { type: 'any' }
  },
  create: (options, { logger }) => new RedisStore(options as RedisStoreOptions, logger)
}
export default manifest
