import type { MiddlewareManifest } from '@conn/types'
import { Throughput } from './throughput.ts'

export { Throughput, THROUGHPUT_DEFAULTS, THROUGHPUT_MESSAGE, throughputSettings, type ThroughputSettings } from './throughput.ts'

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'throughput',
  types: '^0.1.0',
  create: (_options, api) => new Throughput(api)
}
export default manifest
