// The one place conn/core imports the CommonJS ilp-protocol-ildcp library.
import * as Ildcp from 'ilp-protocol-ildcp'

export const fetchIldcp = Ildcp.fetch
export const serveIldcp = Ildcp.serve
export type IldcpResponse = Parameters<typeof Ildcp.serializeIldcpResponse>[0]
