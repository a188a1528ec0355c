/**
 * @conn/plugin-btp: a lean, hardened BTP (RFC 23) plugin for conn, wire-compatible with ilp-plugin-btp
 * (BtpPlugin, the default export) and ilp-plugin-mini-accounts (MiniAccountsPlugin, also loadable by name as
 * `@conn/plugin-btp/mini-accounts`).
 */
import { BtpPlugin } from './btp-plugin.ts'

export { BtpPlugin, type BtpListenerOptions, type BtpPluginOptions } from './btp-plugin.ts'
export { MiniAccountsPlugin, type MiniAccountsOptions } from './mini-accounts.ts'
export { BtpError } from './endpoint.ts'
export { BtpFormatError } from './codec.ts'
export { checkBtpOptions, checkMiniAccountsOptions } from './options.ts'
export type { IldcpInfo } from '@conn/codec'
export default BtpPlugin
