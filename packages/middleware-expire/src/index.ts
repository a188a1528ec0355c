import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Expire } from './expire.ts'

export { Expire }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'expire',
  types: TYPES_RANGE,
  create: () => new Expire()
}
export default manifest
