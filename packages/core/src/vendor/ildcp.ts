// IL-DCP for the connector, on @conn/codec (which replaced ilp-protocol-ildcp here; the file keeps its path so
// app.ts and switch.ts keep their imports).
import { fetchIldcp as fetch, serializeReject, serveIldcp as serve, type IldcpInfo } from '@conn/codec'

export const fetchIldcp = fetch
export type IldcpResponse = IldcpInfo

/**
 * A parent's answer to a child's IL-DCP request, called as ilp-protocol-ildcp's `serve` is: the response with
 * the handler's info, or an F00 Reject saying why (including a handler that fails).
 */
export async function serveIldcp (params: { requestPacket: Buffer, serverAddress: string, handler: () => Promise<IldcpInfo> }): Promise<Buffer> {
  let info: IldcpInfo
  try {
    info = await params.handler()
  } catch (err) {
    const message = (err as Error | undefined)?.message
    return serializeReject({ code: 'F00', triggeredBy: params.serverAddress, message: typeof message === 'string' && message !== '' ? message : 'unexpected error.', data: Buffer.alloc(0) })
  }
  return serve(params.requestPacket, info, params.serverAddress)
}
