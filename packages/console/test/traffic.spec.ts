import { channel } from 'node:diagnostics_channel'
import { expect } from 'chai'
import { TRACE_CHANNELS } from '@conn/types'
import { TrafficMeter } from '../src/traffic.ts'

const answered = channel(TRACE_CHANNELS.answered)
const forwarded = channel(TRACE_CHANNELS.forwarded)

function answer (account: string, result: string): void {
  answered.publish({ id: 1, account, destination: 'test.x', amount: 1n, nextHop: undefined, outgoingAmount: undefined, result, durationMs: 1, steps: [] })
}
function forward (nextHop: string): void {
  forwarded.publish({ id: 1, account: 'alice', destination: 'test.x', amount: 1n, nextHop, outgoingAmount: 1n, expiresAt: 0 })
}

describe('traffic', () => {
  let meter: TrafficMeter
  beforeEach(() => { meter = new TrafficMeter((account) => account !== 'console-ping' && account !== 'theirs') })
  afterEach(() => { meter.stop() })

  it('turns the packets answered and forwarded in an interval into packets/s and rejects/s by code per account', () => {
    meter.start(10_000)
    for (let i = 0; i < 6; i++) answer('alice', 'fulfill')
    answer('alice', 'F02')
    answer('alice', 'F02')
    answer('bob', 'T04')
    for (let i = 0; i < 4; i++) forward('bob')
    expect(meter.sample(12_000, ['alice', 'bob', 'carol'])).to.deep.equal({
      time: 12_000,
      accounts: {
        alice: { incoming: 4, outgoing: 0, rejects: { F02: 1 } },
        bob: { incoming: 0.5, outgoing: 2, rejects: { T04: 0.5 } },
        carol: { incoming: 0, outgoing: 0, rejects: {} }
      }
    })
  })

  it('starts each interval from zero', () => {
    meter.start(0)
    answer('alice', 'fulfill')
    meter.sample(1000)
    expect(meter.sample(2000, ['alice']).accounts).to.deep.equal({ alice: { incoming: 0, outgoing: 0, rejects: {} } })
  })

  it('counts only the accounts it is told to (not the ping account, not another connector\'s)', () => {
    meter.start(0)
    answer('console-ping', 'fulfill')
    forward('console-ping')
    answer('theirs', 'F02')
    expect(meter.sample(1000, ['console-ping']).accounts).to.deep.equal({})
  })

  it('subscribes only between start and stop: the trace channels have no subscriber otherwise', () => {
    expect(answered.hasSubscribers || forwarded.hasSubscribers).to.equal(false)
    meter.start(0)
    expect(answered.hasSubscribers && forwarded.hasSubscribers).to.equal(true)
    meter.stop()
    expect(answered.hasSubscribers || forwarded.hasSubscribers).to.equal(false)
    answer('alice', 'fulfill')
    meter.start(0)
    expect(meter.sample(1000).accounts).to.deep.equal({})
  })
})
