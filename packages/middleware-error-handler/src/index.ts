import type { MiddlewareManifest } from '@conn/types'
import { ErrorHandler } from './error-handler.ts'

export { ErrorHandler }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'errorHandler',
  types: '^0.1.0',
  create: (_options, api) => new ErrorHandler(api)
}
export default manifest
