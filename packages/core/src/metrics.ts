/**
 * The connector's metrics registry (prom-client), offered to middlewares through the small `Metrics`
 * facade of @conn/types. Each connector has its own registry, so two connectors in one process do not mix.
 *
 * Counting is ours, publishing is prom-client's: a bound child (`labels()`) is a plain number that `inc`
 * adds to, and the prom-client metric reads the children when it is scraped. prom-client's own children
 * hash their label object on every call, which on the packet path costs more than the rest of a middleware.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
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

class FastCounter implements CounterFacade {
  private readonly series: SeriesSet
  constructor (options: MetricOptions, registry: Registry) {
    this.series = new SeriesSet(options.labelNames)
    // eslint-disable-next-line no-new
    new Counter(publishing<Counter>(options, registry, this.series, (metric, labels, value) => { metric.inc(labels, value) }))
  }

  inc (labels: LabelValues, value = 1): void { this.series.get(labels).inc(value) }
  labels (labels: LabelValues): CounterChild { return this.series.get(labels) }
}

class FastGauge implements GaugeFacade {
  private readonly series: SeriesSet
  constructor (options: MetricOptions, registry: Registry) {
    this.series = new SeriesSet(options.labelNames)
    // eslint-disable-next-line no-new
    new Gauge(publishing<Gauge>(options, registry, this.series, (metric, labels, value) => { metric.set(labels, value) }))
  }

  set (labels: LabelValues, value: number): void { this.series.get(labels).set(value) }
  labels (labels: LabelValues): GaugeChild { return this.series.get(labels) }
}

export class ConnectorMetrics implements Metrics, MetricsExport {
  readonly registry = new Registry()
  /** Process metrics (`collectDefaultMetrics`), kept apart so two connectors in one process can both have them. */
  private processRegistry: Registry | undefined
  readonly contentType = this.registry.contentType
  private readonly counters = new Map<string, FastCounter>()
  private readonly gauges = new Map<string, FastGauge>()

  counter (options: MetricOptions): CounterFacade {
    let counter = this.counters.get(options.name)
    if (counter === undefined) this.counters.set(options.name, counter = new FastCounter(options, this.registry))
    return counter
  }

  gauge (options: MetricOptions): GaugeFacade {
    let gauge = this.gauges.get(options.name)
    if (gauge === undefined) this.gauges.set(options.name, gauge = new FastGauge(options, this.registry))
    return gauge
  }

  /** Starts collecting the process metrics (CPU, memory, event loop lag...) of prom-client. */
  collectDefaultMetrics (): void {
    if (this.processRegistry !== undefined) return
    this.processRegistry = new Registry()
    collectDefaultMetrics({ register: this.processRegistry })
  }

  async text (): Promise<string> {
    const registries = this.processRegistry === undefined ? [this.registry] : [this.registry, this.processRegistry]
    return await Registry.merge(registries).metrics()
  }

  async json (): Promise<unknown> {
    return await this.registry.getMetricsAsJSON()
  }
}
