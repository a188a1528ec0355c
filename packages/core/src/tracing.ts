/**
 * Tracing on node:diagnostics_channel (TRACE_CHANNELS in @conn/types). The switch checks `tracing()` once per
 * packet: false, and the packet takes the plain pipelines with nothing recorded; true, and it takes the timed
 * pipelines (each step recorded on `ctx.trace`) and the events are published.
 */
import { channel } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { isFulfill, rejectCodeOf } from '@conn/codec'
import {
  TRACE_CHANNELS, type PacketAnsweredEvent, type PacketContext, type PacketForwardedEvent, type PacketReceivedEvent,
  type PacketTrace
} from '@conn/types'
import type { NamedHandler } from './pipeline.ts'

const received = channel(TRACE_CHANNELS.received)
const forwarded = channel(TRACE_CHANNELS.forwarded)
const answered = channel(TRACE_CHANNELS.answered)

let lastId = 0

/** Whether anyone listens to a packet channel (asked once per packet). */
export function tracing (): boolean {
  return answered.hasSubscribers || received.hasSubscribers || forwarded.hasSubscribers
}

/** Starts a packet's trace and publishes its arrival. */
export function startTrace (ctx: PacketContext): PacketTrace {
  const trace: PacketTrace = { id: ++lastId, startedAt: performance.now(), nextHop: undefined, outgoingAmount: undefined, steps: [] }
  ctx.trace = trace
  if (received.hasSubscribers) {
    const { prepare } = ctx
    const event: PacketReceivedEvent = { id: trace.id, account: ctx.account.id, destination: prepare.destination, amount: prepare.amount, expiresAt: prepare.expiresAt }
    received.publish(event)
  }
  return trace
}

/** The switch chose the next hop of a traced packet. */
export function traceForward (incoming: PacketContext, outgoing: PacketContext): void {
  const trace = incoming.trace!
  outgoing.trace = trace
  trace.nextHop = outgoing.account.id
  trace.outgoingAmount = outgoing.prepare.amount
  if (forwarded.hasSubscribers) {
    const { prepare } = incoming
    const event: PacketForwardedEvent = {
      id: trace.id,
      account: incoming.account.id,
      destination: prepare.destination,
      amount: prepare.amount,
      nextHop: outgoing.account.id,
      outgoingAmount: outgoing.prepare.amount,
      expiresAt: outgoing.prepare.expiresAt
    }
    forwarded.publish(event)
  }
}

/** Publishes a traced packet's reply with the time of each step. */
export function traceAnswer (ctx: PacketContext, reply: Buffer): void {
  const trace = ctx.trace!
  if (!answered.hasSubscribers) return
  const { prepare } = ctx
  const event: PacketAnsweredEvent = {
    id: trace.id,
    account: ctx.account.id,
    destination: prepare.destination,
    amount: prepare.amount,
    nextHop: trace.nextHop,
    outgoingAmount: trace.outgoingAmount,
    result: isFulfill(reply) ? 'fulfill' : rejectCodeOf(reply),
    durationMs: performance.now() - trace.startedAt,
    steps: trace.steps
  }
  answered.publish(event)
}

/**
 * The handlers (and the terminal, under `terminalName`) each timed onto `ctx.trace`. Only traced packets take
 * these: the closures per step and packet cost nothing while nobody subscribes.
 */
export function timedHandlers<C extends PacketContext> (
  handlers: Array<NamedHandler<C, Buffer>>, pipeline: 'incoming' | 'outgoing'
): Array<NamedHandler<C, Buffer>> {
  return handlers.map(({ name, handler }) => ({
    name,
    handler: (ctx, next) => timed(ctx, name, pipeline, () => handler(ctx, next))
  }))
}

export function timedTerminal<C extends PacketContext> (terminal: (ctx: C) => Promise<Buffer>, name: string, pipeline: 'incoming' | 'outgoing'): (ctx: C) => Promise<Buffer> {
  return (ctx) => timed(ctx, name, pipeline, () => terminal(ctx))
}

function timed (ctx: PacketContext, name: string, pipeline: 'incoming' | 'outgoing', step: () => Promise<Buffer>): Promise<Buffer> {
  const started = performance.now()
  const record = (): void => {
    const trace = ctx.trace!
    const steps = trace.steps
    const ms = performance.now() - started
    const inner = steps.at(-1)
    steps.push({ name, pipeline, account: ctx.account.id, startMs: started - trace.startedAt, ms, selfMs: Math.max(0, ms - (inner?.ms ?? 0)) })
  }
  let result: Promise<Buffer>
  try {
    result = step()
  } catch (err) {
    record()
    throw err
  }
  return result.then((reply) => { record(); return reply }, (err: unknown) => { record(); throw err })
}
