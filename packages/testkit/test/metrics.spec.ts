import { expect } from 'chai'
import { RecordingMetrics } from '../src/index.ts'

const OPTIONS = { name: 'packets', help: 'packets', labelNames: ['account', 'asset', 'scale', 'result'] }

describe('metrics', () => {
  it('counts a counter per label set, whatever the order of the labels or the type of the values', () => {
    const metrics = new RecordingMetrics()
    const counter = metrics.counter(OPTIONS)
    counter.inc({ account: 'alice', asset: 'USD', scale: 9 })
    counter.inc({ scale: '9', asset: 'USD', account: 'alice' }, 4)
    counter.labels({ account: 'bob', asset: 'USD', scale: 9 }).inc()
    expect(metrics.value('packets', { asset: 'USD', account: 'alice', scale: 9 })).to.equal(5)
    expect(metrics.value('packets', { account: 'bob', asset: 'USD', scale: 9 })).to.equal(1)
  })

  it('reads undefined for a series never changed, and labels() alone does not make one', () => {
    const metrics = new RecordingMetrics()
    metrics.counter(OPTIONS).labels({ account: 'alice' })
    expect(metrics.value('packets', { account: 'alice' })).to.equal(undefined)
    expect(metrics.value('unknown', {})).to.equal(undefined)
    expect(metrics.series('packets')).to.deep.equal([])
  })

  it('sets, increments and decrements a gauge', () => {
    const metrics = new RecordingMetrics()
    const gauge = metrics.gauge({ name: 'balance', help: 'balance', labelNames: ['account'] })
    gauge.set({ account: 'alice' }, 10)
    const child = gauge.labels({ account: 'alice' })
    child.inc(5)
    child.dec()
    expect(metrics.value('balance', { account: 'alice' })).to.equal(14)
    child.set(-3)
    expect(metrics.value('balance', { account: 'alice' })).to.equal(-3)
  })

  it('lists the series of a metric with their labels and values, and what was declared with its type', () => {
    const metrics = new RecordingMetrics()
    metrics.counter(OPTIONS).inc({ account: 'alice', result: 'fulfilled' }, 2)
    metrics.counter(OPTIONS).inc({ account: 'alice', result: 'rejected' })
    metrics.gauge({ name: 'balance', help: 'b', labelNames: ['account'] })
    expect(metrics.series('packets')).to.deep.equal([
      { labels: { account: 'alice', result: 'fulfilled' }, value: 2 },
      { labels: { account: 'alice', result: 'rejected' }, value: 1 }
    ])
    expect([...metrics.options].map(([name, o]) => [name, o.type, o.labelNames])).to.deep.equal([
      ['packets', 'counter', OPTIONS.labelNames],
      ['balance', 'gauge', ['account']]
    ])
  })

  it('gives the same object for the same name, as the connector does, and refuses a counter and a gauge of one name', () => {
    const metrics = new RecordingMetrics()
    expect(metrics.counter(OPTIONS)).to.equal(metrics.counter({ ...OPTIONS, help: 'other' }))
    expect(() => metrics.gauge(OPTIONS)).to.throw('packets is already declared as a counter')
  })

  it('throws, as prom-client does, on a label that was not declared and on decreasing a counter', () => {
    const metrics = new RecordingMetrics()
    const counter = metrics.counter(OPTIONS)
    expect(() => counter.inc({ account: 'alice', destination: 'g.x' })).to.throw('packets: label "destination" was not declared')
    expect(() => counter.labels({ account: 'alice' }).inc(-1)).to.throw('a counter cannot be decreased')
    expect(metrics.series('packets')).to.deep.equal([])
  })
})
