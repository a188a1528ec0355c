import type { BackendManifest } from '@conn/types'
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
  types: '^0.1.0',
  create: (options, api) => new EcbBackend(options, api)
}
export default manifest
