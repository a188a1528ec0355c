/**
 * The requests we sent and wait for a reply to: one Map keyed by request id, ids from a counter, and no timer
 * per request. A single interval calls `expire(now)`; when every request has the same time-out (BtpPlugin),
 * deadlines grow in insertion order, so it stops at the first one still running and costs nothing per packet.
 */

/** What the reply resolves with: the `ilp` data of a RESPONSE (sendData), or nothing (auth, TRANSFER). */
export const KIND_ILP = 0
export const KIND_VOID = 1

export class PendingRequest {
  /** MiniAccountsPlugin: the Prepare's expiry (ms) and condition, checked against the reply. */
  expiresAt = 0
  condition: Buffer | undefined = undefined

  constructor (
    readonly id: number,
    /** Who may answer: the socket it went out on (BtpPlugin) or the account name (MiniAccountsPlugin). */
    readonly owner: unknown,
    readonly kind: number,
    /** Ms since the epoch after which the request has timed out. */
    readonly deadline: number,
    readonly resolve: (value: any) => void,
    readonly reject: (err: Error) => void
  ) {}
}

export class PendingRequests {
  private readonly map = new Map<number, PendingRequest>()
  private lastId = 0

  get size (): number { return this.map.size }

  /** The next request id (uint32, wrapping), skipping any still waiting. */
  nextId (): number {
    let id = this.lastId
    do { id = (id + 1) >>> 0 } while (this.map.has(id))
    this.lastId = id
    return id
  }

  add (request: PendingRequest): void {
    this.map.set(request.id, request)
  }

  /** Removes and returns the request `id` if `owner` sent it; leaves it waiting otherwise. */
  take (id: number, owner: unknown): PendingRequest | undefined {
    const request = this.map.get(id)
    if (request === undefined || request.owner !== owner) return undefined
    this.map.delete(id)
    return request
  }

  /**
   * Removes every request whose deadline is at or before `now` and hands it to `onExpired`. With `ordered`,
   * stops at the first request still running (valid when deadlines grow in insertion order).
   */
  expire (now: number, ordered: boolean, onExpired: (request: PendingRequest) => void): void {
    for (const request of this.map.values()) {
      if (request.deadline > now) {
        if (ordered) return
        continue
      }
      this.map.delete(request.id)
      onExpired(request)
    }
  }

  /** Removes the requests of `owner` (all, if undefined) and rejects each with `makeError()`. */
  failAll (owner: unknown, makeError: (request: PendingRequest) => Error): void {
    for (const request of this.map.values()) {
      if (owner !== undefined && request.owner !== owner) continue
      this.map.delete(request.id)
      request.reject(makeError(request))
    }
  }
}
