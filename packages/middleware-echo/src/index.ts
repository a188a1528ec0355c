import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { Echo, ECHO_PREFIX, ECHO_REQUEST, ECHO_RESPONSE } from './echo.ts'

export { Echo, ECHO_PREFIX, ECHO_REQUEST, ECHO_RESPONSE }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'echo',
  types: TYPES_RANGE,
  create: (_options, api) => new Echo(api)
}
export default manifest
