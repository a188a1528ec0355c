import type { MiddlewareManifest } from '@conn/types'
import { ValidateFulfillment } from './validate-fulfillment.ts'

export { ValidateFulfillment }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'validateFulfillment',
  types: '^0.1.0',
  create: (_options, api) => new ValidateFulfillment(api.logger)
}
export default manifest
