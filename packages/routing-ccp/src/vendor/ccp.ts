// The one place @conn/routing-ccp imports the CommonJS ilp-protocol-ccp library (the reference's CCP codec).
import * as ccp from 'ilp-protocol-ccp'
import { InvalidPacketError } from '@conn/types'

export type { CcpRoute, CcpRouteControlRequest, CcpRouteUpdateRequest } from 'ilp-protocol-ccp'

export const CONTROL_DESTINATION: string = ccp.CCP_CONTROL_DESTINATION
export const UPDATE_DESTINATION: string = ccp.CCP_UPDATE_DESTINATION

/** Route control modes: IDLE (send me nothing) and SYNC (keep me up to date). */
export const MODE_IDLE = 0
export const MODE_SYNC = 1
export type Mode = typeof MODE_IDLE | typeof MODE_SYNC

/** The name the reference reports a mode under in its routing status (`IDLE` / `SYNC`). */
export function modeName (mode: Mode): string {
  return ccp.ModeReverseMap[mode] ?? String(mode)
}

/** A route control Prepare (amount 0, peer protocol condition, expiry now + 60 s). */
export const serializeControl: (request: ccp.CcpRouteControlRequest) => Buffer = ccp.serializeCcpRouteControlRequest
/** A route update Prepare (amount 0, peer protocol condition, expiry now + 60 s). */
export const serializeUpdate: (request: ccp.CcpRouteUpdateRequest) => Buffer = ccp.serializeCcpRouteUpdateRequest
/**
 * A `peer.route.*` payload that does not decode: an F01 Invalid Packet. The only error parseControl and
 * parseUpdate throw, whatever the library's reader throws inside (a RangeError, an Error from oer-utils).
 */
export class CcpFormatError extends InvalidPacketError {
  override name = 'CcpFormatError'
}

/** The library's reader, with anything it throws turned into a CcpFormatError carrying its reason. */
function strict<T> (read: (data: Buffer) => T, what: string): (data: Buffer) => T {
  return (data) => {
    try {
      return read(data)
    } catch (err) {
      throw new CcpFormatError(`invalid ${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
}

/** Reads the data of a `peer.route.control` Prepare; a CcpFormatError (F01) when it is malformed. */
export const parseControl: (data: Buffer) => ccp.CcpRouteControlRequest = strict(ccp.deserializeCcpRouteControlRequestPayload, 'route control request')
/** Reads the data of a `peer.route.update` Prepare; a CcpFormatError (F01) when it is malformed. */
export const parseUpdate: (data: Buffer) => ccp.CcpRouteUpdateRequest = strict(ccp.deserializeCcpRouteUpdateRequestPayload, 'route update request')
/** The Fulfill that answers a CCP request: 32 zero bytes, empty data. */
export const serializeResponse: () => Buffer = ccp.serializeCcpResponse
