/**
 * The third-party examples of docs/write-a-package.md pass @conn/testkit's conformance suites, as the guide tells
 * their authors to check. Their manifests target @conn/types ^0.1.0 as written; here they state the installed
 * range, as their authors would after testing with a new release.
 */
import { backendConformance, middlewareConformance } from '@conn/testkit'
import { TYPES_RANGE, type BackendManifest, type MiddlewareManifest } from '@conn/types'
import deny from '../fixtures/conn-example-deny/index.js'
import fixedRates from '../fixtures/conn-example-fixed-rates/index.js'

describe('the guide\'s example packages', () => {
  describe('conn-example-deny (middleware)', () => {
    middlewareConformance({ ...(deny as MiddlewareManifest), types: TYPES_RANGE }, { handlers: ['incomingData'], accountConfig: { deny: ['test.elsewhere'] } })
  })

  describe('conn-example-fixed-rates (backend)', () => {
    backendConformance({ ...(fixedRates as BackendManifest), types: TYPES_RANGE }, {
      options: { rates: { EUR: 2 } },
      assets: ['USD', 'EUR'],
      missingAsset: 'XAU'
    })
  })
})
