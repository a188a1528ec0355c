import type { MiddlewareManifest } from '@conn/types'
import { TYPES_RANGE } from '@conn/types'
import { MaxPacketAmount } from './max-packet-amount.ts'
import { MAX_PACKET_AMOUNT_OPTION } from './options.ts'

export { MaxPacketAmount, amountTooLarge } from './max-packet-amount.ts'
export { MAX_PACKET_AMOUNT_OPTION }

const manifest: MiddlewareManifest = {
  kind: 'middleware',
  name: 'maxPacketAmount',
  types: TYPES_RANGE,
  accountOptions: { maxPacketAmount: MAX_PACKET_AMOUNT_OPTION },
  create: (_options, api) => new MaxPacketAmount(api)
}
export default manifest
