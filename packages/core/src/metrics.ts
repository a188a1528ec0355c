/**
 * The connector's metrics registry (prom-client), offered to middlewares through the small `Metrics`
 * facade of @conn/types. Each connector has its own registry, so two connectors in one process do not mix.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Metrics, MetricsExport, MetricOptions, Counter as CounterFacade, Gauge as GaugeFacade } from '@conn/types'

export class ConnectorMetrics implements Metrics, MetricsExport {
  readonly registry = new Registry()
  /** Process metrics (`collectDefaultMetrics`), kept apart so two connectors in one process can both have them. */
  private processRegistry: Registry | undefined
  readonly contentType = this.registry.contentType
  private readonly counters = new Map<string, Counter>()
  private readonly gauges = new Map<string, Gauge>()

  counter (options: MetricOptions): CounterFacade {
    let counter = this.counters.get(options.name)
    if (counter === undefined) {
      counter = new Counter({ name: options.name, help: options.help, labelNames: [...options.labelNames], registers: [this.registry] })
      this.counters.set(options.name, counter)
    }
    return counter
  }

  gauge (options: MetricOptions): GaugeFacade {
    let gauge = this.gauges.get(options.name)
    if (gauge === undefined) {
      gauge = new Gauge({ name: options.name, help: options.help, labelNames: [...options.labelNames], registers: [this.registry] })
      this.gauges.set(options.name, gauge)
    }
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
