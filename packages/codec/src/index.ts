export { IlpCodecError } from './errors.ts'
export {
  MAX_UINT64, MAX_VAR_UINT, OER_INVALID, OER_NON_CANONICAL, OER_TRUNCATED, lengthPrefix, lengthPrefixSize,
  readLengthPrefix, readVarUInt, varOctetsSize, varUIntSize, writeLengthPrefix, writeUInt64, writeVarOctets, writeVarUInt
} from './oer.ts'
export { MAX_ADDRESS_LENGTH, isValidIlpAddress, readAddress } from './address.ts'
export {
  INTERLEDGER_TIME_LENGTH, MAX_INTERLEDGER_TIME, MIN_INTERLEDGER_TIME, readInterledgerTime, writeInterledgerTime
} from './time.ts'
export {
  MAX_DATA_LENGTH, envelopeContentsOffset, fulfillmentOf, isFulfill, isReject, isValidReply, isWellFormedReply, parseFulfill,
  parsePrepare, parseReject, patchPrepare, readPrepareHead, rejectCodeOf, serializeFulfill, serializePrepare,
  serializeReject, type PrepareHead
} from './packet.ts'
export {
  ILDCP_DESTINATION, ILDCP_EXPIRY, PEER_PROTOCOL_CONDITION, PEER_PROTOCOL_FULFILLMENT, fetchIldcp, isIldcpRequest,
  parseIldcpRequest, parseIldcpResponse, readIldcpReply, serializeIldcpRequest, serializeIldcpResponse, serveIldcp,
  type IldcpInfo, type IldcpRequest
} from './ildcp.ts'
