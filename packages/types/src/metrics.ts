/**
 * Metrics as middlewares see them: a small facade over prom-client (which the connector supplies), so a
 * middleware package depends on @conn/types alone. Bind label values once (per account) with `labels()`
 * and keep the child: it costs nothing per packet.
 */
export type LabelValues = Record<string, string | number>

export interface CounterChild { inc (value?: number): void }
export interface GaugeChild { set (value: number): void, inc (value?: number): void, dec (value?: number): void }

export interface Counter {
  inc (labels: LabelValues, value?: number): void
  labels (labels: LabelValues): CounterChild
}

export interface Gauge {
  set (labels: LabelValues, value: number): void
  labels (labels: LabelValues): GaugeChild
}

export interface MetricOptions {
  /** Prometheus name, e.g. `ilp_connector_incoming_ilp_packets`. */
  name: string
  help: string
  labelNames: readonly string[]
}

export interface Metrics {
  /** The counter of that name, created on first use (the same object for every caller). */
  counter (options: MetricOptions): Counter
  gauge (options: MetricOptions): Gauge
}
