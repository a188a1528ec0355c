import type { StoreManifest } from '@conn/types'
import { LevelStore, type LevelStoreOptions } from './level-store.ts'

export { LevelStore, LevelStoreError, type LevelStoreErrorCode, type LevelStoreOptions } from './level-store.ts'

/** The `leveldown` (and `level`) store: `{ path, ...storeConfig }` as the connector passes them. */
const manifest: StoreManifest = {
  kind: 'store',
  name: 'leveldown',
  types: '^0.1.0',
  create: (options, { logger }) => new LevelStore(options as LevelStoreOptions, logger)
}
export default manifest
