import { OperatorError } from '@conn/types'

export type RedisStoreErrorCode = 'ERR_STORE_CONFIG' | 'ERR_STORE_UNREACHABLE'

/** Operator-facing: the store is misconfigured or Redis cannot be reached at start. */
export class RedisStoreError extends OperatorError {
  declare readonly code: RedisStoreErrorCode
  constructor (code: RedisStoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}
