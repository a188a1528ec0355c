/**
 * The `stats` a middleware written for ilp-connector v23 gets in its api: the reference's nine account metrics
 * with their names, kinds and labels, kept in the connector's own registry (so they show in /metrics).
 * Each offers the reference's `increment(account, labels, value)` (counters) or `setValue(account, labels,
 * value)` (gauges), where `account` is `{ accountId, accountInfo }`, and prom-client's `inc`/`set` with every
 * label given. The reference's `getStatus()` and `getRegistry()` are not offered.
 */
import type { Counter, Gauge, LabelValues, Metrics } from '@conn/types'

interface ReferenceAccount {
  accountId: string
  accountInfo: { assetCode: string, assetScale: number }
}

const ACCOUNT_LABELS = ['account', 'asset', 'scale']

function withAccount (account: ReferenceAccount, labels: LabelValues = {}): LabelValues {
  return { ...labels, account: account.accountId, asset: account.accountInfo.assetCode, scale: account.accountInfo.assetScale }
}

export class ReferenceAccountCounter {
  private counter: Counter | undefined
  constructor (private readonly metrics: Metrics, private readonly name: string, private readonly help: string, private readonly labelNames: readonly string[]) {}

  private get metric (): Counter {
    return this.counter ??= this.metrics.counter({ name: this.name, help: this.help, labelNames: [...this.labelNames, ...ACCOUNT_LABELS] })
  }

  increment (account: ReferenceAccount, labels?: LabelValues, value?: number): void { this.metric.inc(withAccount(account, labels), value) }
  inc (labels: LabelValues, value?: number): void { this.metric.inc(labels, value) }
}

export class ReferenceAccountGauge {
  private gauge: Gauge | undefined
  constructor (private readonly metrics: Metrics, private readonly name: string, private readonly help: string, private readonly labelNames: readonly string[]) {}

  private get metric (): Gauge {
    return this.gauge ??= this.metrics.gauge({ name: this.name, help: this.help, labelNames: [...this.labelNames, ...ACCOUNT_LABELS] })
  }

  setValue (account: ReferenceAccount, labels: LabelValues | undefined, value: number): void { this.metric.set(withAccount(account, labels), value) }
  set (labels: LabelValues, value: number): void { this.metric.set(labels, value) }
}

export interface ReferenceStats {
  incomingDataPackets: ReferenceAccountCounter
  incomingDataPacketValue: ReferenceAccountCounter
  outgoingDataPackets: ReferenceAccountCounter
  outgoingDataPacketValue: ReferenceAccountCounter
  incomingMoney: ReferenceAccountGauge
  outgoingMoney: ReferenceAccountGauge
  rateLimitedPackets: ReferenceAccountCounter
  rateLimitedMoney: ReferenceAccountCounter
  balance: ReferenceAccountGauge
}

/** The reference's Stats over conn's metrics; a metric is created in the registry on its first use. */
export function referenceStats (metrics: Metrics): ReferenceStats {
  const counter = (name: string, help: string, labelNames: string[] = []): ReferenceAccountCounter =>
    new ReferenceAccountCounter(metrics, name, help, labelNames)
  const gauge = (name: string, help: string, labelNames: string[] = []): ReferenceAccountGauge =>
    new ReferenceAccountGauge(metrics, name, help, labelNames)
  return {
    incomingDataPackets: counter('ilp_connector_incoming_ilp_packets', 'Total number of incoming ILP packets', ['result', 'code']),
    incomingDataPacketValue: counter('ilp_connector_incoming_ilp_packet_value', 'Total value of incoming ILP packets', ['result', 'code']),
    outgoingDataPackets: counter('ilp_connector_outgoing_ilp_packets', 'Total number of outgoing ILP packets', ['result', 'code']),
    outgoingDataPacketValue: counter('ilp_connector_outgoing_ilp_packet_value', 'Total value of outgoing ILP packets', ['result', 'code']),
    incomingMoney: gauge('ilp_connector_incoming_money', 'Total of incoming money', ['result']),
    outgoingMoney: gauge('ilp_connector_outgoing_money', 'Total of outgoing money', ['result']),
    rateLimitedPackets: counter('ilp_connector_rate_limited_ilp_packets', 'Total of rate limited ILP packets'),
    rateLimitedMoney: counter('ilp_connector_rate_limited_money', 'Total of rate limited money requests'),
    balance: gauge('ilp_connector_balance', 'Balances on peer account')
  }
}
