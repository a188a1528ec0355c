/** `accounts.<id>.maxPacketAmount`: the option this middleware reads and how the connector checks it. */
import type { OptionSchema } from '@conn/types'

export const MAX_PACKET_AMOUNT_OPTION: OptionSchema = {
  type: 'amount',
  description: 'largest Prepare amount accepted from the account, in its base units',
  pattern: /^[1-9][0-9]*$/,
  patternText: 'a positive integer string'
}
