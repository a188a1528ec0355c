import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Throughput } from './throughput.ts'
import { THROUGHPUT_OPTION, type ThroughputConfig } from './options.ts'

export { THROUGHPUT_OPTION }
export type { ThroughputConfig }
export { Throughput, THROUGHPUT_DEFAULTS, THROUGHPUT_MESSAGE, throughputSettings, type ThroughputSettings } from './throughput.ts'

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'throughput',
  types: TYPES_RANGE,
  accountOptions: { throughput: THROUGHPUT_OPTION },
  create: (_options, api) => new Throughput(api)
}
export default manifest
