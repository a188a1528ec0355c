import { TYPES_RANGE } from '@conn/types'
/**
 * Stand-ins for the standard middleware packages, so core's tests need no other workspace package: the error
 * handler (thrown errors become Rejects with their code, F00 without one) and pass-through middlewares for the
 * other required ones. Tests hand them to createApp as `modules`.
 */
import { serializeReject } from '@conn/codec'
import type { MiddlewareManifest } from '@conn/types'

export const rejecting: MiddlewareManifest = {
  kind: 'middleware',
  name: 'errorHandler',
  types: TYPES_RANGE,
  create: (_options, api) => ({
    name: 'errorHandler',
    incomingData: async (ctx, next) => {
      try {
        return await next(ctx)
      } catch (err) {
        const e = err as Error & { ilpErrorCode?: string }
        return serializeReject({ code: e.ilpErrorCode ?? 'F00', triggeredBy: api.getOwnAddress(), message: e.message, data: Buffer.alloc(0) })
      }
    }
  })
}

/** A middleware that does nothing but exist under its name. */
export function passThrough (name: string, extra: Partial<MiddlewareManifest> = {}): MiddlewareManifest {
  return { kind: 'middleware', name, types: TYPES_RANGE, create: () => ({ name }), ...extra }
}

/** The packages conn does not start without, stood in for. */
export const REQUIRED_STAND_INS: Record<string, unknown> = {
  '@conn/middleware-error-handler': { default: rejecting },
  '@conn/middleware-expire': { default: passThrough('expire') },
  '@conn/middleware-validate-fulfillment': { default: passThrough('validateFulfillment') }
}
