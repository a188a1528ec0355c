/**
 * The packet functions core's modules use. They live in @conn/codec, the one ILP codec; this module keeps the
 * imports of './packet.ts' (and @conn/core's exports of them) as they were.
 */
export {
  MAX_DATA_LENGTH, MAX_UINT64, PEER_PROTOCOL_CONDITION, PEER_PROTOCOL_FULFILLMENT, isFulfill, isWellFormedReply,
  parsePrepare, patchPrepare, serializePrepare, serializeReject
} from '@conn/codec'
