import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { AlertMiddleware, ALERT_CODE, ALERT_MESSAGE, DEFAULT_MAX_ALERTS, type AlertOptions } from './alert.ts'

export { AlertMiddleware, ALERT_CODE, ALERT_MESSAGE, DEFAULT_MAX_ALERTS }
export type { AlertOptions }

const manifest: MiddlewareManifest<AlertOptions> = {
  kind: 'middleware',
  name: 'alert',
  types: TYPES_RANGE,
  options: {
    type: 'object',
    properties: { maxAlerts: { type: 'integer', minimum: 1, description: 'alerts kept at most (default 1000)' } }
  },
  provides: ['alertAdmin'],
  create: (options, api) => new AlertMiddleware(api, options)
}
export default manifest
