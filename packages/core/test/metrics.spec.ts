import { expect } from 'chai'
import { ConnectorMetrics } from '../src/metrics.ts'

describe('ConnectorMetrics', () => {
  it('publishes what bound children counted, in the Prometheus text format', async () => {
    const metrics = new ConnectorMetrics()
    const counter = metrics.counter({ name: 'ilp_connector_incoming_ilp_packets', help: 'packets', labelNames: ['account', 'result'] })
    const fulfilled = counter.labels({ account: 'alice', result: 'fulfilled' })
    fulfilled.inc()
    fulfilled.inc(2)
    counter.inc({ account: 'alice', result: 'rejected' })
    counter.labels({ account: 'bob', result: 'fulfilled' }) // bound but never counted: no series
    const gauge = metrics.gauge({ name: 'ilp_connector_balance', help: 'balance', labelNames: ['account'] })
    gauge.labels({ account: 'alice' }).set(-42)
    const text = await metrics.text()
    expect(text).to.include('ilp_connector_incoming_ilp_packets{account="alice",result="fulfilled"} 3')
    expect(text).to.include('ilp_connector_incoming_ilp_packets{account="alice",result="rejected"} 1')
    expect(text).to.not.include('account="bob"')
    expect(text).to.include('ilp_connector_balance{account="alice"} -42')
    expect(metrics.counter({ name: 'ilp_connector_incoming_ilp_packets', help: 'x', labelNames: ['account', 'result'] })).to.equal(counter)
  })

  it('keeps a series written with 0 (series that start at zero stay visible)', async () => {
    const metrics = new ConnectorMetrics()
    metrics.counter({ name: 'c', help: 'c', labelNames: ['account'] }).labels({ account: 'alice' }).inc(0)
    expect(await metrics.text()).to.include('c{account="alice"} 0')
  })

  it('refuses a label the metric was not declared with', () => {
    const metrics = new ConnectorMetrics()
    const counter = metrics.counter({ name: 'c', help: 'c', labelNames: ['account'] })
    expect(() => counter.labels({ account: 'a', colour: 'red' })).to.throw('Added label "colour" is not included in initial labelset: account')
  })

  it('adds the process metrics once collectDefaultMetrics is on', async () => {
    const metrics = new ConnectorMetrics()
    expect(await metrics.text()).to.not.include('process_cpu_user_seconds_total')
    metrics.collectDefaultMetrics()
    expect(await metrics.text()).to.include('process_cpu_user_seconds_total')
  })
})
