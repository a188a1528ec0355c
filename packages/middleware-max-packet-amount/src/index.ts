import type { MiddlewareManifest } from '@conn/types'
import { MaxPacketAmount } from './max-packet-amount.ts'

export { MaxPacketAmount, amountTooLarge } from './max-packet-amount.ts'

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'maxPacketAmount',
  types: '^0.1.0',
  create: (_options, api) => new MaxPacketAmount(api)
}
export default manifest
