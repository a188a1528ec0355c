/** Small fakes of the MiddlewareApi parts the middleware uses: a logger that records, and an in-memory Metrics. */
import sinon from 'sinon'
import type {
  Account, AccountConfig, Counter, CounterChild, Gauge, LabelValues, Logger, MetricOptions, Metrics, MiddlewareApi
} from '@conn/types'

export type StubLogger = Logger & Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', sinon.SinonStub>

export function stubLogger (): StubLogger {
  const logger = {
    trace: sinon.stub(),
    debug: sinon.stub(),
    info: sinon.stub(),
    warn: sinon.stub(),
    error: sinon.stub(),
    fatal: sinon.stub(),
    isLevelEnabled: sinon.stub().returns(true),
    child: sinon.stub()
  }
  logger.child.returns(logger)
  return logger
}

function key (labels: LabelValues): string {
  return Object.keys(labels).sort().map((name) => `${name}=${String(labels[name])}`).join(',')
}

/** Counters that remember their options and a value per label set. */
export class FakeMetrics implements Metrics {
  readonly options = new Map<string, MetricOptions>()
  private readonly values = new Map<string, Map<string, number>>()

  counter (options: MetricOptions): Counter {
    this.options.set(options.name, options)
    const values = this.values.get(options.name) ?? new Map<string, number>()
    this.values.set(options.name, values)
    const inc = (labels: LabelValues, value = 1): void => { values.set(key(labels), (values.get(key(labels)) ?? 0) + value) }
    return {
      inc,
      labels: (labels: LabelValues): CounterChild => ({ inc: (value?: number) => inc(labels, value) })
    }
  }

  gauge (): Gauge { throw new Error('no gauge expected') }

  /** The value of a counter for exactly these labels (0 if never incremented). */
  value (name: string, labels: LabelValues): number {
    return this.values.get(name)?.get(key(labels)) ?? 0
  }
}

export function makeApi (metrics: Metrics = new FakeMetrics(), logger: Logger = stubLogger()): MiddlewareApi {
  return {
    logger,
    metrics,
    store: { get: async () => undefined, put: async () => {}, del: async () => {} },
    getOwnAddress: () => 'test.conn',
    getAccount: () => undefined,
    getAccounts: () => [],
    sendMoney: async () => {},
    balances: { get: async () => 0n, adjust: async () => 0n }
  }
}

export function makeAccount (id: string, extra: Partial<AccountConfig> = {}, assetCode = 'USD', assetScale = 9): Account {
  return {
    id,
    relation: 'child',
    assetCode,
    assetScale,
    config: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode, assetScale, ...extra },
    plugin: {} as Account['plugin']
  }
}
