import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { ErrorHandler } from './error-handler.ts'

export { ErrorHandler }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'errorHandler',
  types: TYPES_RANGE,
  create: (_options, api) => new ErrorHandler(api)
}
export default manifest
