/** `accounts.<id>.deduplicate`: the option this middleware reads, its shape and how the connector checks it. */
import type { OptionSchema } from '@conn/types'

export interface DeduplicateConfig {
  /** ms between sweeps of settled packets; default 30000. */
  cleanupInterval?: number
  /** ms a settled packet is remembered past its expiry; default 30000. */
  packetLifetime?: number
}

export const DEDUPLICATE_OPTION: OptionSchema = {
  type: 'object',
  description: 'how long repeated Prepares to the account are recognised',
  properties: { cleanupInterval: { type: 'integer', minimum: 1 }, packetLifetime: { type: 'integer', minimum: 1 } }
}

export function deduplicateConfigOf (config: Readonly<Record<string, unknown>>): DeduplicateConfig | undefined {
  return config.deduplicate as DeduplicateConfig | undefined
}
