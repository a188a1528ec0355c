/**
 * The balance middleware end to end (default middlewares, memory store): limits seen by real BTP clients as
 * T04 Rejects, balances read back from the connector's store, and settlement / incoming money over BTP
 * TRANSFER (test/helpers/balance.ts: ilp-plugin-btp alone moves no money). Reference: spec/reference.md 2.3,
 * spec/deviations.md "Money".
 */
import { expect } from 'chai'
import type { Connector } from '@conn/core'
import type { BalanceMiddleware } from '@conn/middleware-balance'
import { Harness, rejectPacket, waitFor } from '../helpers/harness.ts'
import { MoneyAccounts } from '../helpers/balance.ts'

/** Fast settings: no spread (amounts arrive unchanged), packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200 }

let h: Harness
let money: MoneyAccounts

function balanceMiddleware (app: Connector): BalanceMiddleware {
  const middleware = app.getMiddleware('balance')
  if (middleware === undefined) throw new Error('the balance middleware is not loaded')
  return middleware as BalanceMiddleware
}

describe('e2e: balance', function () {
  beforeEach(() => {
    h = new Harness()
    money = new MoneyAccounts(h)
  })
  afterEach(async () => {
    await money.close()
    await h.close()
  })
  this.timeout(10000)

  describe('maximum (incoming)', () => {
    it('rejects with T04 "exceeded maximum balance." at the maximum and leaves both balances unchanged', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        accounts: {
          alice: { relation: 'child', balance: { maximum: '1000' } },
          bob: { relation: 'child', balance: { maximum: 'Infinity' } }
        }
      })
      const alice = nodes.alice!
      const bob = nodes.bob!
      expect((await alice.pay({ amount: 600, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      expect(await app.balances.get('alice')).to.equal(600n)
      expect(await app.balances.get('bob')).to.equal(-600n)

      const reply = await alice.pay({ amount: 600, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.deep.equal({
        type: 'reject',
        code: 'T04',
        triggeredBy: 'test.conn',
        message: 'exceeded maximum balance.',
        data: Buffer.alloc(0)
      })
      expect(bob.received).to.have.length(1)
      expect(await app.balances.get('alice')).to.equal(600n)
      expect(await app.balances.get('bob')).to.equal(-600n)
    })

    it('refunds the sender when the receiver rejects: credited while in flight, back after', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        accounts: {
          alice: { relation: 'child', balance: { maximum: '1000' } },
          bob: { relation: 'child', balance: { maximum: 'Infinity' } }
        }
      })
      const bob = nodes.bob!
      const inFlight: bigint[] = []
      bob.handler = async () => {
        inFlight.push(await app.balances.get('alice'), await app.balances.get('bob'))
        return rejectPacket({ code: 'F99', triggeredBy: bob.address, message: 'no thanks' })
      }
      const reply = await nodes.alice!.pay({ amount: 300, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F99', triggeredBy: 'test.conn.bob', message: 'no thanks' })
      expect(inFlight).to.deep.equal([300n, -300n])
      expect(await app.balances.get('alice')).to.equal(0n)
      expect(await app.balances.get('bob')).to.equal(0n)
    })
  })

  describe('minimum (outgoing reserve)', () => {
    it('rejects with T04 "insufficient funds. oldBalance=-400 proposedBalance=-600" before sending to bob', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        accounts: {
          alice: { relation: 'child' },
          bob: { relation: 'child', balance: { minimum: '-500', maximum: 'Infinity' } }
        }
      })
      const alice = nodes.alice!
      const bob = nodes.bob!
      expect((await alice.pay({ amount: 400, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      const reply = await alice.pay({ amount: 200, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.deep.include({
        type: 'reject',
        code: 'T04',
        triggeredBy: 'test.conn',
        message: 'insufficient funds. oldBalance=-400 proposedBalance=-600'
      })
      expect(bob.received.map((p) => p.amount)).to.deep.equal([400n])
      expect(await app.balances.get('bob')).to.equal(-400n)
    })
  })

  describe('settlement', () => {
    const SETTLING = { minimum: '-10000', maximum: 'Infinity', settleThreshold: '-1000', settleTo: '0' }

    it('sends bob settleTo - balance (1500) when his balance falls below settleThreshold, ending at settleTo (0)', async () => {
      const bob = await money.account('bob')
      const [{ app, nodes }] = await Promise.all([
        h.network({ ...FAST, accounts: { alice: { relation: 'child' }, bob: { relation: 'child', plugin: bob.plugin, balance: SETTLING } } }),
        bob.node.connect()
      ])
      const reply = await nodes.alice!.pay({ amount: 1500, destination: 'test.conn.bob', ...money.condition() })
      expect(reply.type).to.equal('fulfill')
      await waitFor('the settlement to reach bob', () => bob.node.money.length > 0)
      await balanceMiddleware(app).settled('bob')
      expect(bob.node.money).to.deep.equal(['1500'])
      expect(await app.balances.get('bob')).to.equal(0n)
    })

    it('does not settle while the balance stays at or above settleThreshold', async () => {
      const bob = await money.account('bob')
      const [{ app, nodes }] = await Promise.all([
        h.network({ ...FAST, accounts: { alice: { relation: 'child' }, bob: { relation: 'child', plugin: bob.plugin, balance: SETTLING } } }),
        bob.node.connect()
      ])
      expect((await nodes.alice!.pay({ amount: 1000, destination: 'test.conn.bob', ...money.condition() })).type).to.equal('fulfill')
      await balanceMiddleware(app).settled('bob')
      expect(bob.node.money).to.deep.equal([])
      expect(await app.balances.get('bob')).to.equal(-1000n)
    })

    it('with ilp-plugin-btp (a refusal is a plain error: outcome unknown), holds the settlement instead of paying again on the next packet', async () => {
      const bob = await money.account('bob')
      const [{ app, nodes }] = await Promise.all([
        h.network({ ...FAST, accounts: { alice: { relation: 'child' }, bob: { relation: 'child', plugin: bob.plugin, balance: SETTLING } } }),
        bob.node.connect()
      ])
      bob.node.onMoney = async () => { throw new Error('refused') }
      expect((await nodes.alice!.pay({ amount: 1500, destination: 'test.conn.bob', ...money.condition() })).type).to.equal('fulfill')
      await waitFor('the settlement attempt', () => bob.node.money.length > 0)
      await balanceMiddleware(app).settled('bob')
      expect(await app.balances.get('bob')).to.equal(-1500n)
      expect(balanceMiddleware(app).getUnsettled().map((u) => [u.accountId, u.amount])).to.deep.equal([['bob', '1500']])

      bob.node.onMoney = async () => {}
      expect((await nodes.alice!.pay({ amount: 10, destination: 'test.conn.bob', ...money.condition() })).type).to.equal('fulfill')
      await balanceMiddleware(app).settled('bob')
      expect(bob.node.money).to.deep.equal(['1500'])

      // Bob refused it, so it was not paid: resolved as such, the whole debt is settled once.
      await balanceMiddleware(app).resolveSettlement('bob', 'not-paid')
      await waitFor('the second settlement', () => bob.node.money.length > 1)
      await balanceMiddleware(app).settled('bob')
      expect(bob.node.money).to.deep.equal(['1500', '1510'])
      expect(await app.balances.get('bob')).to.equal(0n)
    })
  })

  describe('incoming money', () => {
    it('lowers alice\'s balance by the 300 her client sends', async () => {
      const alice = await money.account('alice')
      const [{ app, nodes }] = await Promise.all([
        h.network({ ...FAST, accounts: { alice: { relation: 'child', plugin: alice.plugin, balance: { maximum: '1000' } }, bob: { relation: 'child' } } }),
        alice.node.connect()
      ])
      expect((await alice.node.pay({ amount: 800, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      expect(nodes.bob!.received).to.have.length(1)
      expect(await app.balances.get('alice')).to.equal(800n)
      await alice.node.sendMoney('300')
      expect(await app.balances.get('alice')).to.equal(500n)
      // Which makes room under the maximum again: 500 more fits.
      expect((await alice.node.pay({ amount: 500, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
    })
  })

  describe('admin reads', () => {
    it('getBalances() shows the balances kept in the store, and the balance gauge the same numbers', async () => {
      const { app, nodes } = await h.network({
        ...FAST,
        accounts: {
          alice: { relation: 'child', balance: { maximum: '1000' } },
          bob: { relation: 'child', balance: { minimum: '-500', maximum: 'Infinity' } },
          carl: { relation: 'child' }
        }
      })
      expect((await nodes.alice!.pay({ amount: 250, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      expect((await nodes.carl!.pay({ amount: 100, destination: 'test.conn.bob', ...h.condition() })).type).to.equal('fulfill')
      const middleware = balanceMiddleware(app)
      expect(await middleware.getBalances()).to.deep.equal({
        alice: { balance: String(await app.balances.get('alice')), minimum: '-Infinity', maximum: '1000' },
        bob: { balance: String(await app.balances.get('bob')), minimum: '-500', maximum: 'Infinity' }
      })
      expect(await app.balances.get('alice')).to.equal(250n)
      expect(await app.balances.get('bob')).to.equal(-350n)

      expect(await middleware.adjustBalance('bob', -100n)).to.equal(-450n)
      expect(await app.balances.get('bob')).to.equal(-450n)

      const gauge = await app.metrics.registry.getSingleMetric('ilp_connector_balance')?.get()
      const byAccount = Object.fromEntries((gauge?.values ?? []).map((v) => [v.labels.account, v.value]))
      expect(byAccount).to.deep.equal({ alice: 250, bob: -450 })
    })
  })
})
