import type { MiddlewareManifest } from '@conn/types'
import { AlertMiddleware, ALERT_CODE, ALERT_MESSAGE, DEFAULT_MAX_ALERTS, type Alert, type AlertOptions } from './alert.ts'

export { AlertMiddleware, ALERT_CODE, ALERT_MESSAGE, DEFAULT_MAX_ALERTS }
export type { Alert, AlertOptions }

const manifest: MiddlewareManifest<AlertOptions> = {
  kind: 'middleware',
  name: 'alert',
  types: '^0.1.0',
  create: (options, api) => new AlertMiddleware(api, options)
}
export default manifest
