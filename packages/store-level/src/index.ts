import type { StoreManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { LevelStore, type LevelStoreOptions } from './level-store.ts'

export { LevelStore, LevelStoreError, type LevelStoreErrorCode, type LevelStoreOptions } from './level-store.ts'

/** The `leveldown` (and `level`) store: `{ path, ...storeConfig }` as the connector passes them. */
const manifest: StoreManifest = {
  kind: 'store',
  name: 'leveldown',
  types: TYPES_RANGE,
  // other keys are warned about and ignored
  options: {
    type: 'object',
    properties: { path: { type: 'string', nonEmpty: true }, sync: { type: 'boolean', description: 'fsync every write' } },
    additionalProperties: { type: 'any' }
  },
  create: (options, { logger }) => new LevelStore(options as LevelStoreOptions, logger)
}
export default manifest
