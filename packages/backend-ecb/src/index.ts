import type { BackendManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { EcbBackend } from './ecb.ts'

export {
  EcbBackend, EcbBackendError, VARIANTS, DEFAULT_RATES_API_URL, DEFAULT_XRP_RATE_URL, DEFAULT_COINMARKETCAP_URL,
  DEFAULT_REFRESH_INTERVAL, DEFAULT_REQUEST_TIMEOUT, type EcbOptions, type EcbVariant, type EcbErrorCode
} from './ecb.ts'
export type { Fraction } from './fraction.ts'
export { parseEcbXml, parseXrpJson, parseCoinMarketCapJson, FormatError, type ParsedRates } from './parse.ts'

/** `ecb`, `ecb-plus-xrp` and `ecb-plus-coinmarketcap`: the connector passes the configured name as `name`. */
const manifest: BackendManifest = {
  kind: 'backend',
  name: 'ecb',
  types: TYPES_RANGE,
  // the known options' types; other keys are warned about and ignored, as the reference ignores them
  options: {
    type: 'object',
    properties: {
      spread: { type: 'number', minimum: 0, maximum: 0.999999 },
      name: { type: 'string' },
      ratesApiUrl: { type: 'string', nonEmpty: true },
      xrpRateUrl: { type: 'string', nonEmpty: true },
      coinmarketcapUrl: { type: 'string', nonEmpty: true },
      refreshInterval: { type: 'integer', minimum: 0, description: 'ms between reloads; 0: load once' },
      requestTimeout: { type: 'integer', minimum: 1, description: 'ms a request may take' },
      mockData: {
        type: 'object',
        properties: { base: { type: 'string', nonEmpty: true }, rates: { type: 'object', additionalProperties: { type: 'any' } } },
        required: ['rates']
      }
    },
    additionalProperties: { type: 'any' }
  },
  create: (options, api) => new EcbBackend(options, api)
}
export default manifest
