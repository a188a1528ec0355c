/**
 * OpenTelemetry for conn: subscribes to conn's trace channels (TRACE_CHANNELS, node:diagnostics_channel) and
 * turns each answered packet into a span (with a child span per middleware, the switch and the next hop's
 * plugin, at the times they ran) and into metrics; settlements become span events and a counter. Uses whatever
 * tracer and meter providers the application registered with @opentelemetry/api (or the ones given).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, metrics, trace, type Attributes, type Meter, type Tracer } from '@opentelemetry/api'
import { TRACE_CHANNELS, type PacketAnsweredEvent, type SettlementEvent } from '@conn/types'

export const INSTRUMENTATION_NAME = '@conn/otel'

export interface InstrumentOptions {
  /** Default: `trace.getTracer('@conn/otel')` (the registered provider's). */
  tracer?: Tracer
  /** Default: `metrics.getMeter('@conn/otel')`. */
  meter?: Meter
  /** A span per middleware step under each packet's span (default true); false: one span per packet. */
  stepSpans?: boolean
}

/**
 * Starts turning conn's trace events into spans and metrics; returns the function that stops it. While it runs,
 * conn traces every packet (see the core README's Tracing section for the cost).
 */
export function instrument (options: InstrumentOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer(INSTRUMENTATION_NAME)
  const meter = options.meter ?? metrics.getMeter(INSTRUMENTATION_NAME)
  const stepSpans = options.stepSpans ?? true
  const packets = meter.createCounter('ilp.packets', { description: 'ILP Prepares answered, by account, next hop and result (fulfill or the reject code)' })
  const duration = meter.createHistogram('ilp.packet.duration', { description: 'Time from a Prepare\'s arrival to its reply', unit: 'ms' })
  const settlements = meter.createCounter('ilp.settlements', { description: 'Settlements by account and outcome (sent, failed, unknown)' })

  const onAnswered = (message: unknown): void => {
    const packet = message as PacketAnsweredEvent
    const labels: Attributes = { 'ilp.account': packet.account, 'ilp.next_hop': packet.nextHop ?? '', 'ilp.result': packet.result }
    packets.add(1, labels)
    duration.record(packet.durationMs, labels)
    // the event comes at the reply: the packet arrived durationMs ago
    const arrived = performance.timeOrigin + performance.now() - packet.durationMs
    const span = tracer.startSpan('ilp.packet', {
      kind: SpanKind.SERVER,
      startTime: arrived,
      attributes: {
        ...labels,
        'ilp.packet.id': packet.id,
        'ilp.destination': packet.destination,
        'ilp.amount': packet.amount.toString(),
        ...(packet.outgoingAmount === undefined ? {} : { 'ilp.outgoing_amount': packet.outgoingAmount.toString() })
      }
    }, ROOT_CONTEXT)
    if (packet.result !== 'fulfill') span.setStatus({ code: SpanStatusCode.ERROR, message: packet.result })
    // each packet's span is a root (a packet comes from the network, not from a caller in this process)
    if (stepSpans) {
      const context = trace.setSpan(ROOT_CONTEXT, span)
      for (const step of packet.steps) {
        const start = arrived + step.startMs
        tracer.startSpan(`${step.pipeline} ${step.name}`, {
          startTime: start,
          attributes: { 'ilp.account': step.account, 'conn.step.self_ms': step.selfMs }
        }, context).end(start + step.ms)
      }
    }
    span.end(arrived + packet.durationMs)
  }

  const onSettlement = (message: unknown): void => {
    const event = message as SettlementEvent
    settlements.add(1, { 'ilp.account': event.account, 'ilp.settlement.outcome': event.outcome })
    const span = tracer.startSpan('ilp.settlement', {
      kind: SpanKind.CLIENT,
      attributes: { 'ilp.account': event.account, 'ilp.amount': event.amount.toString(), 'ilp.settlement.outcome': event.outcome }
    })
    if (event.outcome !== 'sent') span.setStatus({ code: SpanStatusCode.ERROR, message: event.reason ?? event.outcome })
    span.end()
  }

  subscribe(TRACE_CHANNELS.answered, onAnswered)
  subscribe(TRACE_CHANNELS.settlement, onSettlement)
  return () => {
    unsubscribe(TRACE_CHANNELS.answered, onAnswered)
    unsubscribe(TRACE_CHANNELS.settlement, onSettlement)
  }
}
