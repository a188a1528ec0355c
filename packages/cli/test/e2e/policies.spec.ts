/**
 * The deduplicate, echo, alert and stats middlewares end to end: a connector with the default middlewares
 * and real ilp-plugin-btp accounts, driven by real BTP clients. Assertions are on what the clients observe
 * (replies, Prepares received) and on what the connector exposes (getMiddleware, the metrics registry).
 * Reference: spec/reference.md sections 2.2 and 7.
 */
import { expect } from 'chai'
import type { AlertMiddleware } from '@conn/middleware-alert'
import type { Stats } from '@conn/middleware-stats'
import {
  Harness, fulfillPacket, rejectPacket, sleep, type Network, type Node, type PrepareHandler
} from '../helpers/harness.ts'

/** Fast settings: packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200 }

let h: Harness

async function aliceAndBob (settings: Record<string, unknown> = {}): Promise<{ alice: Node, bob: Node, app: Network['app'] }> {
  const { app, nodes } = await h.network({ ...FAST, ...settings, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } } })
  return { app, alice: nodes.alice!, bob: nodes.bob! }
}

/** A handler that fulfills with `fulfillment` after `delay` ms (so that a duplicate finds the first in flight). */
function fulfillAfter (delay: number, fulfillment: Buffer, data: string): PrepareHandler {
  return async () => {
    await sleep(delay)
    return fulfillPacket(fulfillment, Buffer.from(data))
  }
}

/** An echo request's data: the prefix, type 0, then the source address as an OER var-octet-string. */
function echoRequest (sourceAddress: string): Buffer {
  const address = Buffer.from(sourceAddress, 'ascii')
  return Buffer.concat([Buffer.from('ECHOECHOECHOECHO', 'ascii'), Buffer.of(0, address.length), address])
}

interface MetricValue { labels: Record<string, string | number>, value: number }

async function metricValues (app: Network['app'], name: string): Promise<MetricValue[]> {
  const metric = app.metrics.registry.getSingleMetric(name)
  if (metric === undefined) throw new Error('no metric ' + name)
  return (await metric.get()).values as MetricValue[]
}

/** The value of the one series whose labels include `labels`; fails if there are none or several. */
async function valueOf (app: Network['app'], name: string, labels: Record<string, string | number>): Promise<number> {
  const matching = (await metricValues(app, name)).filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === String(x)))
  expect(matching, `${name} ${JSON.stringify(labels)}`).to.have.length(1)
  return matching[0]!.value
}

describe('e2e: policies', function () {
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })
  this.timeout(10000)

  describe('deduplicate', () => {
    it('sends a duplicated Prepare to bob once and gives both sends the same Fulfill; a smaller retry shares it, a larger one is forwarded', async () => {
      const { alice, bob } = await aliceAndBob()
      const { fulfillment, executionCondition } = h.condition()
      bob.handler = fulfillAfter(150, fulfillment, 'once')
      const packet = {
        amount: 1000,
        destination: 'test.conn.bob',
        executionCondition,
        expiresAt: new Date(Date.now() + 3000),
        data: Buffer.from('same data')
      }
      const [first, second] = await Promise.all([alice.send(packet), alice.send(packet)])
      expect(bob.received).to.have.length(1)
      expect(first.equals(second)).to.equal(true)
      expect(first[0]).to.equal(13) // Fulfill

      const smaller = await alice.pay({ ...packet, amount: 999 })
      expect(bob.received).to.have.length(1)
      expect(smaller.type).to.equal('fulfill')
      if (smaller.type === 'fulfill') expect(smaller.data.toString()).to.equal('once')

      bob.handler = fulfillAfter(0, fulfillment, 'again')
      const larger = await alice.pay({ ...packet, amount: 1001 })
      expect(bob.received).to.have.length(2)
      expect(bob.received[1]!.amount).to.equal(1001n)
      expect(larger.type).to.equal('fulfill')
      if (larger.type === 'fulfill') expect(larger.data.toString()).to.equal('again')
    })

    it('with disableMiddleware: [\'deduplicate\'] the duplicate reaches bob twice', async () => {
      const { alice, bob } = await aliceAndBob({ disableMiddleware: ['deduplicate'] })
      const { fulfillment, executionCondition } = h.condition()
      bob.handler = fulfillAfter(150, fulfillment, 'each')
      const packet = { amount: 1000, destination: 'test.conn.bob', executionCondition, expiresAt: new Date(Date.now() + 3000) }
      const replies = await Promise.all([alice.pay(packet), alice.pay(packet)])
      expect(bob.received).to.have.length(2)
      expect(replies.map((r) => r.type)).to.deep.equal(['fulfill', 'fulfill'])
    })
  })

  describe('echo', () => {
    it('answers an echo request to the connector\'s address with an echo response Prepare to the source; its Fulfill comes back', async () => {
      const { alice, bob } = await aliceAndBob()
      const { fulfillment, executionCondition } = h.condition()
      const expiresAt = new Date(Date.now() + 3000)
      const reply = await alice.pay({ amount: 25, destination: 'test.conn', executionCondition, expiresAt, data: echoRequest(alice.address) })

      expect(alice.received).to.have.length(1)
      const response = alice.received[0]!
      expect(response.destination).to.equal('test.conn.alice')
      expect(response.data.toString('latin1')).to.equal('ECHOECHOECHOECHO\x01')
      expect(response.amount).to.equal(25n)
      expect(response.executionCondition.equals(executionCondition)).to.equal(true)
      expect(response.expiresAt).to.equal(expiresAt.getTime() - 200)
      expect(bob.received).to.have.length(0)
      expect(reply.type).to.equal('fulfill')
      if (reply.type === 'fulfill') expect(reply.fulfillment.equals(fulfillment)).to.equal(true)
    })

    it('rejects a packet to the connector\'s address that is not an echo request with F01 from test.conn', async () => {
      const { alice } = await aliceAndBob()
      const reply = await alice.pay({ amount: 1, destination: 'test.conn', ...h.condition(), data: Buffer.from('hello') })
      expect(reply).to.deep.include({
        type: 'reject',
        code: 'F01',
        triggeredBy: 'test.conn',
        message: 'packet data too short for echo request. length=5'
      })
    })
  })

  describe('alert', () => {
    it('records bob\'s three T04 "exceeded maximum balance." rejects as one alert with count 3, triggeredBy bob\'s address', async () => {
      const { app, alice, bob } = await aliceAndBob()
      bob.handler = () => rejectPacket({ code: 'T04', triggeredBy: bob.address, message: 'exceeded maximum balance.' })
      for (let i = 0; i < 3; i++) {
        const reply = await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
        expect(reply).to.deep.include({ type: 'reject', code: 'T04', triggeredBy: 'test.conn.bob' })
      }
      const alert = app.getMiddleware('alert') as AlertMiddleware | undefined
      expect(alert).to.not.equal(undefined)
      const alerts = alert!.getAlerts()
      expect(alerts).to.have.length(1)
      expect(alerts[0]).to.deep.include({ accountId: 'bob', triggeredBy: 'test.conn.bob', message: 'exceeded maximum balance.', count: 3 })
    })
  })

  describe('stats', () => {
    it('counts one fulfilled and one rejected packet alice -> bob in the registry and in getStats()', async () => {
      const { app, alice, bob } = await aliceAndBob()
      expect((await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      // bob's default handler rejects a condition it does not know with F99
      const unknown = { executionCondition: Buffer.alloc(32, 7) }
      expect(await alice.pay({ amount: 10, destination: 'test.conn.bob', ...unknown })).to.deep.include({ type: 'reject', code: 'F99' })
      expect(bob.received).to.have.length(2)

      const scope = { asset: 'XYZ', scale: 9 }
      const IN = 'ilp_connector_incoming_ilp_packets'
      const OUT = 'ilp_connector_outgoing_ilp_packets'
      expect(await valueOf(app, IN, { ...scope, account: 'alice', result: 'fulfilled' })).to.equal(1)
      expect(await valueOf(app, IN, { ...scope, account: 'alice', result: 'rejected' })).to.equal(1)
      expect(await valueOf(app, OUT, { ...scope, account: 'bob', result: 'fulfilled', code: '' })).to.equal(1)
      expect(await valueOf(app, OUT, { ...scope, account: 'bob', result: 'rejected', code: 'F99' })).to.equal(1)
      expect(await valueOf(app, OUT, { ...scope, account: 'alice', result: 'fulfilled' })).to.equal(0)

      const stats = app.getMiddleware('stats') as Stats | undefined
      const snapshot = stats!.getStats()
      expect(snapshot.alice!.incoming).to.deep.equal({ fulfilled: 1, rejected: 1, failed: 0, rejectedByCode: { F99: 1 } })
      expect(snapshot.bob!.outgoing).to.deep.equal({ fulfilled: 1, rejected: 1, failed: 0, rejectedByCode: { F99: 1 } })
    })

    it('counts a packet the switch cannot route as incoming result=failed (the error handler is outside stats)', async () => {
      const { app, alice } = await aliceAndBob()
      const reply = await alice.pay({ amount: 10, destination: 'test.elsewhere', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F02' })
      expect(await valueOf(app, 'ilp_connector_incoming_ilp_packets', { account: 'alice', result: 'failed' })).to.equal(1)
    })
  })
})
