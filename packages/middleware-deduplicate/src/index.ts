import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Deduplicate, DEFAULT_CLEANUP_INTERVAL, DEFAULT_PACKET_LIFETIME } from './deduplicate.ts'
import { DEDUPLICATE_OPTION, type DeduplicateConfig } from './options.ts'

export { Deduplicate, DEFAULT_CLEANUP_INTERVAL, DEFAULT_PACKET_LIFETIME, DEDUPLICATE_OPTION }
export type { DeduplicateConfig }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'deduplicate',
  types: TYPES_RANGE,
  accountOptions: { deduplicate: DEDUPLICATE_OPTION },
  create: (_options, api) => new Deduplicate(api)
}
export default manifest
