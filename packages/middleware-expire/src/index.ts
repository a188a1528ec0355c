import type { MiddlewareManifest } from '@conn/types'
import { Expire } from './expire.ts'

export { Expire }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'expire',
  types: '^0.1.0',
  create: () => new Expire()
}
export default manifest
