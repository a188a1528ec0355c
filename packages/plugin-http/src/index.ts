/**
 * @conn/plugin-http: ILP over HTTP (RFC 35) for conn, wire-compatible with ilp-plugin-http (HttpPlugin, the
 * default export; loadable by name as an account's `plugin`).
 */
import { HttpPlugin } from './http-plugin.ts'

export { HttpPlugin, DEFAULT_MAX_BODY_BYTES } from './http-plugin.ts'
export { checkHttpOptions, HttpPluginOptionsError, type HttpIncomingOptions, type HttpOutgoingOptions, type HttpPluginOptions } from './options.ts'
export { HttpStatusError } from './client.ts'
export default HttpPlugin
