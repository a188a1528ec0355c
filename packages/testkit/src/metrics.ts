/**
 * Metrics that keep every series in memory and can be read back, with the checks prom-client makes: a label
 * that was not declared throws, a counter never goes down, and one name is either a counter or a gauge.
 * As in the connector, asking twice for the same name gives the same object (the first options win).
 */
import type { Counter, CounterChild, Gauge, GaugeChild, LabelValues, MetricOptions, Metrics } from '@conn/types'

export type MetricType = 'counter' | 'gauge'

export interface DeclaredMetric extends MetricOptions {
  readonly type: MetricType
}

export interface MetricSeries {
  readonly labels: LabelValues
  readonly value: number
}

interface Entry {
  readonly declared: DeclaredMetric
  readonly metric: Counter | Gauge
  /** Series by their canonical label key. */
  readonly series: Map<string, { labels: LabelValues, value: number }>
}

/** The same key for the same label set, whatever the order of the names or the type of the values. */
function labelKey (labels: LabelValues): string {
  return JSON.stringify(Object.keys(labels).sort().map((name) => [name, String(labels[name])]))
}

export class RecordingMetrics implements Metrics {
  private readonly entries = new Map<string, Entry>()

  /** What was declared, by metric name (with its type), in the order of first use. */
  get options (): ReadonlyMap<string, DeclaredMetric> {
    return new Map([...this.entries].map(([name, entry]) => [name, entry.declared]))
  }

  counter (options: MetricOptions): Counter {
    return this.declare('counter', options, (entry) => {
      const inc = (labels: LabelValues, value = 1): void => {
        if (value < 0) throw new Error(`${options.name}: a counter cannot be decreased (inc(${value}))`)
        this.add(entry, labels, value, false)
      }
      return { inc, labels: (labels: LabelValues): CounterChild => ({ inc: (value?: number) => { inc(labels, value) } }) }
    }) as Counter
  }

  gauge (options: MetricOptions): Gauge {
    return this.declare('gauge', options, (entry) => ({
      set: (labels: LabelValues, value: number) => { this.add(entry, labels, value, true) },
      labels: (labels: LabelValues): GaugeChild => ({
        set: (value: number) => { this.add(entry, labels, value, true) },
        inc: (value = 1) => { this.add(entry, labels, value, false) },
        dec: (value = 1) => { this.add(entry, labels, -value, false) }
      })
    })) as Gauge
  }

  /** The value of the series with exactly these labels; undefined if it was never set or incremented. */
  value (name: string, labels: LabelValues): number | undefined {
    return this.entries.get(name)?.series.get(labelKey(labels))?.value
  }

  /** Every series of a metric that was set or incremented, in the order of first change. */
  series (name: string): MetricSeries[] {
    return [...(this.entries.get(name)?.series.values() ?? [])].map(({ labels, value }) => ({ labels, value }))
  }

  private declare (type: MetricType, options: MetricOptions, make: (entry: Entry) => Counter | Gauge): Counter | Gauge {
    const existing = this.entries.get(options.name)
    if (existing !== undefined) {
      if (existing.declared.type !== type) throw new Error(`${options.name} is already declared as a ${existing.declared.type}`)
      return existing.metric
    }
    const entry = {
      declared: { ...options, labelNames: [...options.labelNames], type },
      series: new Map(),
      metric: undefined as unknown as Counter | Gauge
    }
    ;(entry as { metric: Counter | Gauge }).metric = make(entry)
    this.entries.set(options.name, entry)
    return entry.metric
  }

  private add (entry: Entry, labels: LabelValues, value: number, set: boolean): void {
    for (const name of Object.keys(labels)) {
      if (!entry.declared.labelNames.includes(name)) throw new Error(`${entry.declared.name}: label "${name}" was not declared`)
    }
    const key = labelKey(labels)
    const series = entry.series.get(key)
    if (series === undefined) entry.series.set(key, { labels: { ...labels }, value })
    else series.value = set ? value : series.value + value
  }
}
