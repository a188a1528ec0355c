import { TYPES_RANGE } from '@conn/types'
import { backendConformance } from '@conn/testkit'
import type { BackendManifest } from '@conn/types'
import { OneToOneBackend } from '../src/backends/one-to-one.ts'

/**
 * The built-in `one-to-one` backend has no package of its own: the connector makes it as this manifest would
 * (`new OneToOneBackend({ spread, ...backendConfig }, { getInfo, logger })` where it loads the backend), so the suite
 * runs on that.
 */
const oneToOne: BackendManifest = {
  kind: 'backend',
  name: 'one-to-one',
  types: TYPES_RANGE,
  create: (options, api) => new OneToOneBackend(options, api)
}

describe('one-to-one backend', () => {
  // chosen when every account has the same asset code
  backendConformance(oneToOne, { assets: ['XRP', 'XRP'] })
  // and it never looks at the asset code
  backendConformance(oneToOne, { title: 'conformance: backend one-to-one between two asset codes', assets: ['USD', 'EUR'] })
})
