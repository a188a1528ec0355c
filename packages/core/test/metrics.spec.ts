import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ConnectorMetrics } from '../src/metrics.ts'

const METRICS_SRC = fileURLToPath(new URL('../src/metrics.ts', import.meta.url))

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

  it('exports a metric made after the first export too, with the Prometheus content type', async () => {
    const metrics = new ConnectorMetrics()
    metrics.counter({ name: 'early', help: 'e', labelNames: ['account'] }).inc({ account: 'a' })
    expect(await metrics.text()).to.include('early{account="a"} 1')
    metrics.gauge({ name: 'late', help: 'l', labelNames: ['account'] }).set({ account: 'a' }, 7)
    expect(await metrics.text()).to.include('late{account="a"} 7')
    expect(metrics.contentType).to.equal(metrics.registry.contentType)
  })

  it('loads prom-client only when the metrics are first exported (a fresh process)', function () {
    this.timeout(60000) // a fresh node with tsx: seconds on a loaded machine
    const script = `
      const { createRequire } = await import('node:module')
      const { ConnectorMetrics } = await import(${JSON.stringify(METRICS_SRC)})
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('prom-client'))
      const metrics = new ConnectorMetrics()
      metrics.counter({ name: 'c', help: 'c', labelNames: ['account'] }).inc({ account: 'a' })
      const before = loaded()
      await metrics.text()
      console.log(JSON.stringify({ before, after: loaded() }))`
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(JSON.parse(output)).to.deep.equal({ before: false, after: true })
  })

  it('adds the process metrics once collectDefaultMetrics is on', async () => {
    const metrics = new ConnectorMetrics()
    expect(await metrics.text()).to.not.include('process_cpu_user_seconds_total')
    metrics.collectDefaultMetrics()
    expect(await metrics.text()).to.include('process_cpu_user_seconds_total')
  })
})
