/**
 * conn with OpenTelemetry, exported to the console. In a project with @conn/cli, @conn/otel and the SDK
 * installed (npm i @conn/cli @conn/otel @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/sdk-metrics):
 *
 *   CONNECTOR_ILP_ADDRESS=test.conn CONNECTOR_ACCOUNTS='{...}' node console.js
 *
 * The connector reads its configuration from the CONNECTOR_* variables as the `conn` command does. Each packet
 * prints an `ilp.packet` span (with a child span per middleware) and, every OTEL_METRIC_EXPORT_INTERVAL ms
 * (default 10,000), the `ilp.packets` and `ilp.packet.duration` metrics. SIGTERM or SIGINT stops it.
 */
import { metrics, trace } from '@opentelemetry/api'
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { createApp } from '@conn/core'
import { instrument } from '@conn/otel'

const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({
    exporter: new ConsoleMetricExporter(),
    exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000)
  })]
})
trace.setGlobalTracerProvider(tracerProvider)
metrics.setGlobalMeterProvider(meterProvider)
const stopInstrumenting = instrument()

const app = createApp() // the CONNECTOR_* variables, as the conn command reads them
await app.listen()
console.log('conn is running with OpenTelemetry on the console')

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    await app.shutdown()
    stopInstrumenting()
    await meterProvider.shutdown()
    await tracerProvider.shutdown()
    process.exit(0)
  })
}
