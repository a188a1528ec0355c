import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { ValidateFulfillment } from './validate-fulfillment.ts'

export { ValidateFulfillment }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'validateFulfillment',
  types: TYPES_RANGE,
  create: (_options, api) => new ValidateFulfillment(api.logger)
}
export default manifest
