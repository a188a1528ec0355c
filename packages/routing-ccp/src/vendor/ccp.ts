// The one place @conn/routing-ccp imports the CommonJS ilp-protocol-ccp library (the reference's CCP codec).
import * as ccp from 'ilp-protocol-ccp'

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
/** Reads the data of a `peer.route.control` Prepare; throws with the reader's reason when it is malformed. */
export const parseControl: (data: Buffer) => ccp.CcpRouteControlRequest = ccp.deserializeCcpRouteControlRequestPayload
/** Reads the data of a `peer.route.update` Prepare; throws with the reader's reason when it is malformed. */
export const parseUpdate: (data: Buffer) => ccp.CcpRouteUpdateRequest = ccp.deserializeCcpRouteUpdateRequestPayload
/** The Fulfill that answers a CCP request: 32 zero bytes, empty data. */
export const serializeResponse: () => Buffer = ccp.serializeCcpResponse
