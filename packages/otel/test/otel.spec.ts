import { expect } from 'chai'
import * as IlpPacket from 'ilp-packet'
import { createHash } from 'node:crypto'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { createApp, STANDARD_MIDDLEWARE_NAMES, type Connector } from '@conn/core'
import { FakePlugin, RecordingLogger } from '@conn/testkit'
import { instrument } from '../src/index.ts'

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

function prepare (destination: string, amount: string): Buffer {
  return IlpPacket.serializeIlpPrepare({ amount, destination, executionCondition: CONDITION, expiresAt: new Date(Date.now() + 10_000), data: Buffer.alloc(0) })
}

describe('@conn/otel', () => {
  let app: Connector | undefined
  let stop: (() => void) | undefined
  afterEach(async () => {
    stop?.()
    await app?.shutdown()
    app = undefined
  })

  it('makes each packet a span (with its steps as children) and counts packets by result, from a running connector', async () => {
    const spans = new InMemorySpanExporter()
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('test')
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test')
    stop = instrument({ tracer, meter })

    const alice = new FakePlugin()
    const bob = new FakePlugin({
      sendData: async (data) => {
        // at least 15 ms of real time: a timer alone can fire early against the clock, as libuv
        // counts from the loop's cached time, which a loaded machine leaves stale
        const start = performance.now()
        while (performance.now() - start < 15) await new Promise((resolve) => setTimeout(resolve, 15))
        return IlpPacket.deserializeIlpPrepare(data).amount === '666'
          ? IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'no', data: Buffer.alloc(0) })
          : IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) })
      }
    })
    const child = { relation: 'child', assetCode: 'USD', assetScale: 9 } as const
    app = createApp({
      ilpAddress: 'test.conn',
      spread: 0,
      disableMiddleware: [...STANDARD_MIDDLEWARE_NAMES],
      accounts: { alice: { ...child, plugin: alice }, bob: { ...child, plugin: bob } }
    }, { logger: new RecordingLogger() })
    await app.listen()
    await alice.dataHandler!(prepare('test.conn.bob.x', '100'))
    await alice.dataHandler!(prepare('test.conn.bob.x', '666'))

    const finished = spans.getFinishedSpans()
    const packets = finished.filter((s) => s.name === 'ilp.packet')
    expect(packets.map((s) => [s.attributes['ilp.account'], s.attributes['ilp.next_hop'], s.attributes['ilp.result'], s.attributes['ilp.amount']]))
      .to.deep.equal([['alice', 'bob', 'fulfill', '100'], ['alice', 'bob', 'F99', '666']])
    expect(packets[1]!.status).to.deep.include({ code: 2, message: 'F99' })
    const first = packets[0]!
    const children = finished.filter((s) => s.parentSpanContext?.spanId === first.spanContext().spanId)
    expect(children.map((s) => s.name)).to.deep.equal(['outgoing plugin', 'incoming switch'])
    const durationMs = (span: typeof first): number => span.duration[0] * 1000 + span.duration[1] / 1e6
    expect(durationMs(children[0]!)).to.be.at.least(15) // bob took 15 ms or more
    expect(durationMs(first)).to.be.at.least(durationMs(children[1]!) - 0.01)

    await reader.forceFlush()
    const metric = exporter.getMetrics().at(-1)!.scopeMetrics[0]!.metrics.find((m) => m.descriptor.name === 'ilp.packets')!
    const counts = metric.dataPoints.map((p) => [p.attributes['ilp.result'], p.value])
    expect(counts).to.have.deep.members([['fulfill', 1], ['F99', 1]])
    await reader.shutdown()
  })

  it('stops: no span once the function it returned ran', async () => {
    const spans = new InMemorySpanExporter()
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('test')
    instrument({ tracer })()
    const alice = new FakePlugin()
    const bob = new FakePlugin({ sendData: async () => IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) }) })
    const child = { relation: 'child', assetCode: 'USD', assetScale: 9 } as const
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: [...STANDARD_MIDDLEWARE_NAMES], accounts: { alice: { ...child, plugin: alice }, bob: { ...child, plugin: bob } } }, { logger: new RecordingLogger() })
    await app.listen()
    await alice.dataHandler!(prepare('test.conn.bob', '1'))
    expect(spans.getFinishedSpans()).to.deep.equal([])
  })
})
