import type { MiddlewareManifest } from '@conn/types'
import { Deduplicate, DEFAULT_CLEANUP_INTERVAL, DEFAULT_PACKET_LIFETIME } from './deduplicate.ts'

export { Deduplicate, DEFAULT_CLEANUP_INTERVAL, DEFAULT_PACKET_LIFETIME }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'deduplicate',
  types: '^0.1.0',
  create: (_options, api) => new Deduplicate(api)
}
export default manifest
