/**
 * The connector's metrics registry (prom-client), offered to middlewares through the small `Metrics`
 * facade of @conn/types. Each connector has its own registry, so two connectors in one process do not mix.
 *
 * Counting is ours, publishing is prom-client's: a bound child (`labels()`) is a plain number that `inc`
 * adds to, and the prom-client metric reads the children when it is scraped. prom-client's own children
 * hash their label object on every call, which on the packet path costs more than the rest of a middleware.
 *
 * prom-client (with the OpenTelemetry API it pulls in, about 90 modules and 8 MB of resident memory) is loaded
 * only when the metrics are first exported or the process metrics are turned on: a connector nobody scrapes
 * never loads it.
 */
import { createRequire } from 'node:module'
import type { Counter, Gauge, Registry } from 'prom-client'
import type {
  CounterChild, GaugeChild, LabelValues, Metrics, MetricsExport, MetricOptions,
  Counter as CounterFacade, Gauge as GaugeFacade
} from '@conn/types'

/** One label set's value; `touched` once it was written, so untouched children do not appear as series. */
class Series implements CounterChild, GaugeChild {
  value = 0
  touched = false
  constructor (readonly labels: LabelValues) {}
  inc (value = 1): void { this.value += value; this.touched = true }
  dec (value = 1): void { this.value -= value; this.touched = true }
  set (value: number): void { this.value = value; this.touched = true }
}

/** The label sets of one metric, each kept once. */
class SeriesSet {
  private readonly byKey = new Map<string, Series>()
  constructor (private readonly labelNames: readonly string[]) {}

  get (labels: LabelValues): Series {
    let key = ''
    for (const name of this.labelNames) key += String(labels[name] ?? '') + '\u0000'
    let series = this.byKey.get(key)
    if (series === undefined) {
      for (const name of Object.keys(labels)) {
        if (!this.labelNames.includes(name)) throw new Error(`Added label "${name}" is not included in initial labelset: ${this.labelNames.join(', ')}`)
      }
      this.byKey.set(key, series = new Series({ ...labels }))
    }
    return series
  }

  touched (): Series[] { return [...this.byKey.values()].filter((series) => series.touched) }
}

/** The prom-client configuration of a metric whose values are `series`, written into it when it is scraped. */
function publishing<M extends Counter | Gauge> (
  options: MetricOptions,
  registry: Registry,
  series: SeriesSet,
  write: (metric: M, labels: LabelValues, value: number) => void
): { name: string, help: string, labelNames: string[], registers: Registry[], collect: (this: M) => void } {
  return {
    name: options.name,
    help: options.help,
    labelNames: [...options.labelNames],
    registers: [registry],
    collect (this: M) {
      this.reset()
      for (const s of series.touched()) write(this, s.labels, s.value)
    }
  }
}

type PromClient = typeof import('prom-client')
let promClient: PromClient | undefined
function loadPromClient (): PromClient {
  return promClient ??= createRequire(import.meta.url)('prom-client') as PromClient
}

/** The text exposition format's content type (prom-client's Registry.PROMETHEUS_CONTENT_TYPE). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

class FastCounter implements CounterFacade {
  private readonly series: SeriesSet
  constructor (private readonly options: MetricOptions) {
    this.series = new SeriesSet(options.labelNames)
  }

  inc (labels: LabelValues, value = 1): void { this.series.get(labels).inc(value) }
  labels (labels: LabelValues): CounterChild { return this.series.get(labels) }

  register (registry: Registry, prom: PromClient): void {
    // eslint-disable-next-line no-new
    new prom.Counter(publishing<Counter>(this.options, registry, this.series, (metric, labels, value) => { metric.inc(labels, value) }))
  }
}

class FastGauge implements GaugeFacade {
  private readonly series: SeriesSet
  constructor (private readonly options: MetricOptions) {
    this.series = new SeriesSet(options.labelNames)
  }

  set (labels: LabelValues, value: number): void { this.series.get(labels).set(value) }
  labels (labels: LabelValues): GaugeChild { return this.series.get(labels) }

  register (registry: Registry, prom: PromClient): void {
    // eslint-disable-next-line no-new
    new prom.Gauge(publishing<Gauge>(this.options, registry, this.series, (metric, labels, value) => { metric.set(labels, value) }))
  }
}

export class ConnectorMetrics implements Metrics, MetricsExport {
  /** The prom-client registry, made (and prom-client loaded) on first export. */
  private promRegistry: Registry | undefined
  /** Process metrics (`collectDefaultMetrics`), kept apart so two connectors in one process can both have them. */
  private processRegistry: Registry | undefined
  readonly contentType = PROMETHEUS_CONTENT_TYPE
  private readonly counters = new Map<string, FastCounter>()
  private readonly gauges = new Map<string, FastGauge>()

  counter (options: MetricOptions): CounterFacade {
    let counter = this.counters.get(options.name)
    if (counter === undefined) {
      this.counters.set(options.name, counter = new FastCounter(options))
      if (this.promRegistry !== undefined) counter.register(this.promRegistry, loadPromClient())
    }
    return counter
  }

  gauge (options: MetricOptions): GaugeFacade {
    let gauge = this.gauges.get(options.name)
    if (gauge === undefined) {
      this.gauges.set(options.name, gauge = new FastGauge(options))
      if (this.promRegistry !== undefined) gauge.register(this.promRegistry, loadPromClient())
    }
    return gauge
  }

  /** The connector's prom-client registry (loads prom-client). */
  get registry (): Registry {
    if (this.promRegistry === undefined) {
      const prom = loadPromClient()
      const registry = this.promRegistry = new prom.Registry()
      for (const counter of this.counters.values()) counter.register(registry, prom)
      for (const gauge of this.gauges.values()) gauge.register(registry, prom)
    }
    return this.promRegistry
  }

  /** Starts collecting the process metrics (CPU, memory, event loop lag...) of prom-client. */
  collectDefaultMetrics (): void {
    if (this.processRegistry !== undefined) return
    const prom = loadPromClient()
    this.processRegistry = new prom.Registry()
    prom.collectDefaultMetrics({ register: this.processRegistry })
  }

  async text (): Promise<string> {
    const registries = this.processRegistry === undefined ? [this.registry] : [this.registry, this.processRegistry]
    return await loadPromClient().Registry.merge(registries).metrics()
  }

  async json (): Promise<unknown> {
    return await this.registry.getMetricsAsJSON()
  }
}
