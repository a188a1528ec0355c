import { InvalidPacketError } from '@conn/types'

/**
 * Malformed input to a decoder of this package. It is an F01 Invalid Packet (an InvalidPacketError), so a
 * caller on the packet path can let it reach the error handler as it is; decoders throw nothing else.
 */
export class IlpCodecError extends InvalidPacketError {}
