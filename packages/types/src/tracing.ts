/**
 * Per-packet tracing: conn publishes each packet's way through it on `node:diagnostics_channel`, under the names
 * below. While nobody subscribes, the packet path only asks whether anyone does (one check per packet): no event
 * object, no timing. A subscriber (the `@conn/otel` package, a test, an operator's script) gets plain objects.
 */

/** The channel names (subscribe with `diagnostics_channel.subscribe(name, listener)`). */
export const TRACE_CHANNELS = {
  /** A Prepare was parsed and enters the incoming pipeline: PacketReceivedEvent. */
  received: 'conn:packet:received',
  /** The switch chose a next hop and converted the amount: PacketForwardedEvent. */
  forwarded: 'conn:packet:forwarded',
  /** The reply went back to the sender: PacketAnsweredEvent, with the time in each middleware. */
  answered: 'conn:packet:answered',
  /** A settlement was sent, refused or ended without a known outcome: SettlementEvent. */
  settlement: 'conn:settlement'
} as const

/** One step of a traced packet: a middleware, or the switch and the next hop's plugin at the ends. */
export interface StepTiming {
  /** The middleware's name; `switch` for the routing step, `plugin` for the next hop's answer. */
  name: string
  pipeline: 'incoming' | 'outgoing'
  account: string
  /** When the step started, in milliseconds after the packet arrived. */
  startMs: number
  /** Milliseconds from the step's start to its end, the steps inside it included. */
  ms: number
  /** Milliseconds in the step itself: `ms` less the step it wrapped (0 at least). */
  selfMs: number
}

/** What conn records of a packet while it is traced (on the packet's context as `trace`). */
export interface PacketTrace {
  /** Unique in the process, increasing. */
  readonly id: number
  /** `performance.now()` when it arrived. */
  readonly startedAt: number
  nextHop: string | undefined
  outgoingAmount: bigint | undefined
  /** The steps in the order they finished (the innermost first). */
  readonly steps: StepTiming[]
}

export interface PacketReceivedEvent {
  id: number
  account: string
  destination: string
  amount: bigint
  expiresAt: number
}

export interface PacketForwardedEvent {
  id: number
  account: string
  destination: string
  amount: bigint
  nextHop: string
  outgoingAmount: bigint
  expiresAt: number
}

export interface PacketAnsweredEvent {
  id: number
  account: string
  destination: string
  amount: bigint
  nextHop: string | undefined
  outgoingAmount: bigint | undefined
  /** `fulfill`, or the Reject's code. */
  result: string
  /** Milliseconds from arrival to the reply. */
  durationMs: number
  steps: StepTiming[]
}

export interface SettlementEvent {
  account: string
  amount: bigint
  /** sent: the plugin confirmed; failed: nothing was sent; unknown: it may have been (held for the operator). */
  outcome: 'sent' | 'failed' | 'unknown'
  reason?: string
}
