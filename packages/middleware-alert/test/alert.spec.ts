import { TYPES_RANGE } from '@conn/types'
import { expect } from 'chai'
import sinon from 'sinon'
import type { Account, NextData } from '@conn/types'
import { RecordingLogger, fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, reject } from '@conn/testkit'
import manifest, { AlertMiddleware } from '../src/index.ts'

const NOW = 1_700_000_000_000

const T04 = reject({ code: 'T04', message: 'exceeded maximum balance.' })

describe('alert', () => {
  let clock: sinon.SinonFakeTimers
  let logger: RecordingLogger
  let alert: AlertMiddleware
  const bob = fakeAccount({ id: 'bob', relation: 'peer' })
  const carl = fakeAccount({ id: 'carl', relation: 'peer' })

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: NOW })
    logger = new RecordingLogger()
    alert = new AlertMiddleware(fakeApi({ logger }))
  })
  afterEach(() => { clock.restore() })

  async function send (account: Account, reply: Buffer): Promise<Buffer> {
    const next: NextData = async () => reply
    return await alert.outgoingData(packetContext({ account }), next)
  }

  describe('manifest', () => {
    it('is a middleware manifest named alert for the installed types range whose create() returns an AlertMiddleware', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'alert', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(AlertMiddleware)
    })
  })

  it('records a T04 "exceeded maximum balance." reject from the next hop and returns the reply unchanged', async () => {
    expect(await send(bob, T04)).to.equal(T04)
    expect(alert.getAlerts()).to.deep.equal([{
      id: NOW,
      accountId: 'bob',
      triggeredBy: 'test.bob',
      message: 'exceeded maximum balance.',
      count: 1,
      createdAt: new Date(NOW),
      updatedAt: new Date(NOW)
    }])
  })

  it('counts repeats of the same account, triggeredBy and message on one alert, moving updatedAt', async () => {
    await send(bob, T04)
    clock.tick(1000)
    await send(bob, T04)
    clock.tick(1000)
    await send(bob, T04)
    const [only, ...rest] = alert.getAlerts()
    expect(rest).to.have.length(0)
    expect(only).to.deep.include({ id: NOW, count: 3, createdAt: new Date(NOW), updatedAt: new Date(NOW + 2000) })
  })

  it('makes one alert per account and per triggeredBy, with ids counting up from Date.now() at construction', async () => {
    clock.tick(5000)
    await send(bob, T04)
    await send(carl, T04)
    await send(bob, reject({ code: 'T04', message: 'exceeded maximum balance.', triggeredBy: 'test.bob.child' }))
    const alerts = alert.getAlerts()
    expect(alerts.map((a) => [a.id, a.accountId, a.triggeredBy])).to.deep.equal([
      [NOW, 'bob', 'test.bob'],
      [NOW + 1, 'carl', 'test.bob'],
      [NOW + 2, 'bob', 'test.bob.child']
    ])
  })

  it('ignores Fulfills, other codes, other T04 messages (exact match) and thrown errors', async () => {
    await send(bob, fulfill())
    await send(bob, reject({ code: 'T05', message: 'exceeded maximum balance.' }))
    await send(bob, reject({ code: 'T04', message: 'exceeded money bandwidth, throttling.' }))
    await send(bob, reject({ code: 'T04', message: 'exceeded maximum balance' }))
    await send(bob, reject({ code: 'T04', message: 'Exceeded maximum balance.' }))
    const error = new Error('boom')
    const thrown = await alert.outgoingData(packetContext({ account: bob }), async () => { throw error }).catch((err: unknown) => err)
    expect(thrown).to.equal(error)
    expect(alert.getAlerts()).to.deep.equal([])
  })

  it('ignores a truncated T04 Reject and returns it as is', async () => {
    const truncated = T04.subarray(0, 8)
    expect(await send(bob, truncated)).to.equal(truncated)
    expect(alert.getAlerts()).to.deep.equal([])
  })

  it('getAlerts() sorts by id and returns copies', async () => {
    await send(bob, T04)
    await send(carl, T04)
    await send(bob, T04) // bob's alert is now the most recently updated, still first by id
    const alerts = alert.getAlerts()
    expect(alerts.map((a) => a.accountId)).to.deep.equal(['bob', 'carl'])
    alerts[0]!.count = 99
    expect(alert.getAlerts()[0]!.count).to.equal(2)
  })

  it('deleteAlert(id) removes that alert and returns true; false for an unknown id; a new T04 then starts a new alert', async () => {
    await send(bob, T04)
    await send(carl, T04)
    expect(alert.deleteAlert(NOW)).to.equal(true)
    expect(alert.deleteAlert(NOW)).to.equal(false)
    expect(alert.deleteAlert(12345)).to.equal(false)
    expect(alert.getAlerts().map((a) => a.accountId)).to.deep.equal(['carl'])
    await send(bob, T04)
    expect(alert.getAlerts().map((a) => [a.id, a.accountId, a.count])).to.deep.equal([[NOW + 1, 'carl', 1], [NOW + 2, 'bob', 1]])
  })

  it('keeps at most maxAlerts (default 1000), dropping the least recently updated', async () => {
    const small = new AlertMiddleware(fakeApi(), { maxAlerts: 2 })
    const next = (triggeredBy: string): NextData => async () => reject({ code: 'T04', message: 'exceeded maximum balance.', triggeredBy })
    await small.outgoingData(packetContext({ account: bob }), next('test.a'))
    await small.outgoingData(packetContext({ account: bob }), next('test.b'))
    await small.outgoingData(packetContext({ account: bob }), next('test.a')) // test.a updated: test.b is now the oldest
    await small.outgoingData(packetContext({ account: bob }), next('test.c'))
    expect(small.getAlerts().map((a) => [a.triggeredBy, a.count])).to.deep.equal([['test.a', 2], ['test.c', 1]])

    const big = new AlertMiddleware(fakeApi())
    for (let i = 0; i < 1001; i++) await big.outgoingData(packetContext({ account: bob }), next('test.x' + i))
    const alerts = big.getAlerts()
    expect(alerts).to.have.length(1000)
    expect(alerts[0]!.triggeredBy).to.equal('test.x1')
  })

  it('logs the first alert of an account at warn and later new ones at debug, until an alert of that account is deleted', async () => {
    await send(bob, T04)
    await send(bob, reject({ code: 'T04', message: 'exceeded maximum balance.', triggeredBy: 'test.other' }))
    await send(carl, T04)
    expect(logger.at('warn').length).to.equal(2)
    expect(logger.at('warn')[0]!.obj).to.deep.equal({ account: 'bob', triggeredBy: 'test.bob', alert: NOW })
    expect(logger.at('debug').length).to.equal(1)
    alert.deleteAlert(NOW)
    await send(bob, T04)
    expect(logger.at('warn').length).to.equal(3)
  })

  describe('raiseAlert (alerts of other middlewares)', () => {
    const UNSETTLED = { accountId: 'bob', triggeredBy: 'test.conn', message: 'settlement of 1500 to bob has an unknown outcome' }

    it('records the alert, listed by getAlerts with the next id, without logging it (the raiser does)', async () => {
      await send(carl, T04)
      clock.tick(10)
      const raised = alert.raiseAlert(UNSETTLED)
      expect(raised).to.deep.equal({ id: NOW + 1, ...UNSETTLED, count: 1, createdAt: new Date(NOW + 10), updatedAt: new Date(NOW + 10) })
      expect(alert.getAlerts().map((a) => [a.id, a.accountId, a.message])).to.deep.equal([
        [NOW, 'carl', 'exceeded maximum balance.'],
        [NOW + 1, 'bob', UNSETTLED.message]
      ])
      expect(logger.at('warn').map((r) => r.obj.account)).to.deep.equal(['carl'])
    })

    it('counts the same alert raised again up, and deleteAlert removes it', () => {
      alert.raiseAlert(UNSETTLED)
      clock.tick(5)
      expect(alert.raiseAlert(UNSETTLED)).to.deep.include({ id: NOW, count: 2, updatedAt: new Date(NOW + 5) })
      expect(alert.deleteAlert(NOW)).to.equal(true)
      expect(alert.getAlerts()).to.deep.equal([])
    })

    it('never drops a raised alert to make room: the oldest Reject alert goes instead', async () => {
      const small = new AlertMiddleware(fakeApi(), { maxAlerts: 2 })
      const next = (triggeredBy: string): NextData => async () => reject({ code: 'T04', message: 'exceeded maximum balance.', triggeredBy })
      small.raiseAlert(UNSETTLED)
      await small.outgoingData(packetContext({ account: bob }), next('test.a'))
      await small.outgoingData(packetContext({ account: bob }), next('test.b'))
      await small.outgoingData(packetContext({ account: bob }), next('test.c'))
      expect(small.getAlerts().map((a) => a.triggeredBy)).to.deep.equal(['test.conn', 'test.c'])
    })
  })

  middlewareConformance(manifest, { handlers: ['outgoingData'] })
})
