/**
 * Expiry of a forwarded packet, as the reference computes it: shave `minMessageWindow` off the incoming
 * expiry, never hold longer than `maxHoldTime`, and refuse (R02) when too little time is left.
 */
import { InsufficientTimeoutError } from '@conn/types'

export interface ExpirySettings {
  minMessageWindow: number
  maxHoldTime: number
}

/** Outgoing expiry (epoch ms) for a packet expiring at `sourceExpiry`, or throws R02. */
export function outgoingExpiry (sourceExpiry: number, now: number, settings: ExpirySettings): number {
  if (sourceExpiry < now) {
    throw new InsufficientTimeoutError('source transfer has already expired.' +
      ' sourceExpiry=' + new Date(sourceExpiry).toISOString() +
      ' currentTime=' + new Date(now).toISOString())
  }
  const { minMessageWindow, maxHoldTime } = settings
  const destinationExpiry = Math.min(sourceExpiry - minMessageWindow, now + maxHoldTime)
  if (destinationExpiry - now < minMessageWindow) {
    throw new InsufficientTimeoutError('source transfer expires too soon to complete payment.' +
      ' actualSourceExpiry=' + new Date(sourceExpiry).toISOString() +
      ' requiredSourceExpiry=' + new Date(now + 2 * minMessageWindow).toISOString() +
      ' currentTime=' + new Date(now).toISOString())
  }
  return destinationExpiry
}
