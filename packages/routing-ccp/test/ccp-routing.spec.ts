import { expect } from 'chai'
import sinon from 'sinon'
import { reject, rejectionOf } from '@conn/testkit'
import type { IlpError } from '@conn/types'
import { CcpRouting, WITHDRAW_TIMEOUT } from '../src/ccp-routing.ts'
import {
  CCP_FULFILL, OTHER_TABLE_ID, ZERO_TABLE_ID, ccp, ccpContext, controlData, fakeRouting, replyOf, updateData,
  type FakeRouting
} from './helpers.ts'

const INTERVAL = 1000
const START = 1_000_000

/** me (test.me) with peers bob and carl, a parent up and a child kid, all connected; routing started. */
function started (options: Parameters<typeof fakeRouting>[0] = {}): { fake: FakeRouting, routing: CcpRouting } {
  const fake = fakeRouting({ routeBroadcastInterval: INTERVAL, routeExpiry: 3000, routeCleanupInterval: 100, ...options })
  fake.addAccount('bob', 'peer')
  fake.addAccount('carl', 'peer')
  fake.addAccount('up', 'parent')
  fake.addAccount('kid', 'child')
  fake.table.setLocal('test.me', { nextHop: '', path: [] })
  fake.table.setLocal('test.me.kid', { nextHop: 'kid', path: [] })
  const routing = new CcpRouting(fake.api)
  routing.start()
  return { fake, routing }
}

async function control (fake: FakeRouting, from: string, fields: Parameters<typeof controlData>[0] = {}): Promise<Buffer> {
  return await fake.handler(ccpContext(fake.accounts.get(from)!, 'peer.route.control', controlData(fields)))
}

async function update (fake: FakeRouting, from: string, fields: Parameters<typeof updateData>[0] = {}): Promise<Buffer> {
  return await fake.handler(ccpContext(fake.accounts.get(from)!, 'peer.route.update', updateData(fields)))
}

/** When each control message to an account was sent, in ms since the test started. */
function sentAt (fake: FakeRouting, accountId: string): number[] {
  return fake.sent.filter((p) => p.accountId === accountId && p.control !== undefined).map((p) => p.at - START)
}

async function rejected (promise: Promise<unknown>): Promise<{ code: string, message: string }> {
  const err = await rejectionOf<IlpError>(promise)
  return { code: err.ilpErrorCode, message: err.message }
}

describe('ccp-routing', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: START }) })
  afterEach(() => { clock.restore() })

  describe('peers', () => {
    it('at start asks every connected parent and peer for its routes, not children', async () => {
      const { fake } = started()
      await clock.tickAsync(0)
      expect(fake.sent.map((p) => [p.accountId, p.destination])).to.deep.equal([
        ['bob', 'peer.route.control'], ['carl', 'peer.route.control'], ['up', 'peer.route.control']
      ])
      expect(fake.controls('bob')[0]).to.deep.equal({ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: ZERO_TABLE_ID, lastKnownEpoch: 0, features: [] })
    })

    it('follows explicit sendRoutes/receiveRoutes over the relation defaults', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: INTERVAL })
      fake.addAccount('kid', 'child', { receiveRoutes: true })
      fake.addAccount('mute', 'peer', { receiveRoutes: false })
      new CcpRouting(fake.api).start()
      await clock.tickAsync(0)
      expect(fake.sent.map((p) => p.accountId)).to.deep.equal(['kid'])
      expect(replyOf(await control(fake, 'mute')).type).to.equal('fulfill')
      expect(await rejected(control(fake, 'kid'))).to.deep.equal({ code: 'F00', message: 'rejecting route control message, we are configured not to send routes to you.' })
    })

    it('adds a peer when its account connects (control message sent) and not while it is disconnected', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: INTERVAL })
      const routing = new CcpRouting(fake.api)
      const bob = fake.addAccount('bob', 'peer', {}, false)
      routing.start()
      await clock.tickAsync(0)
      expect(fake.sent).to.have.length(0)
      await bob.plugin.connect()
      fake.emit('account-connect', 'bob')
      await clock.tickAsync(0)
      expect(fake.controls('bob')).to.have.length(1)
      expect(routing.getStatus().peers).to.have.keys(['bob'])
    })

    it('sends the control message again when a connected peer connects again', async () => {
      const { fake } = started()
      await clock.tickAsync(0)
      fake.emit('account-connect', 'bob')
      await clock.tickAsync(0)
      expect(fake.controls('bob')).to.have.length(2)
    })

    it('takes a peer added at runtime (account-added) that is already connected', async () => {
      const { fake, routing } = started()
      fake.addAccount('dan', 'peer')
      fake.emit('account-added', 'dan')
      await clock.tickAsync(0)
      expect(fake.controls('dan')).to.have.length(1)
      expect(routing.getStatus().peers).to.have.keys(['bob', 'carl', 'up', 'dan'])
    })

    it('accepts a control message from a connected peer whose connect event has not arrived yet', async () => {
      const { fake, routing } = started()
      fake.addAccount('dan', 'peer')
      expect(replyOf(await control(fake, 'dan')).type).to.equal('fulfill')
      expect(routing.getStatus().peers.dan).to.deep.equal({ send: { epoch: 0, mode: 'SYNC' }, receive: { routingTableId: ZERO_TABLE_ID, epoch: 0 } })
    })

    it('accepts a control message from a peer whose plugin does not say connected yet, and asks for its routes once it does', async () => {
      const { fake, routing } = started()
      const dan = fake.addAccount('dan', 'peer', {}, false)
      expect(replyOf(await control(fake, 'dan')).type).to.equal('fulfill')
      await clock.tickAsync(0)
      expect(fake.controls('dan')).to.have.length(0)
      await dan.plugin.connect()
      fake.emit('account-connect', 'dan')
      await clock.tickAsync(150)
      expect(fake.controls('dan')).to.have.length(1)
      expect(fake.updates('dan')).to.have.length(1)
      expect(routing.getStatus().peers.dan!.send).to.deep.equal({ epoch: 1, mode: 'SYNC' })
    })

    it('retries a rejected or failed control message at once after 100 ms, backing off up to routeBroadcastInterval', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: INTERVAL })
      fake.addAccount('bob', 'peer')
      fake.addAccount('carl', 'peer')
      let answer = async (): Promise<Buffer> => reject({ code: 'F00', message: 'cannot process route control messages from non-peers.' })
      fake.respond = async (accountId) => accountId === 'bob' ? await answer() : CCP_FULFILL
      new CcpRouting(fake.api).start()
      await clock.tickAsync(300)
      answer = async () => { throw new Error('socket closed') }
      await clock.tickAsync(INTERVAL + 400) // 700, 1500 fail
      answer = async () => CCP_FULFILL
      await clock.tickAsync(10 * INTERVAL) // 2500 is fulfilled
      expect(sentAt(fake, 'bob')).to.deep.equal([0, 100, 300, 700, 1500, 2500])
      expect(sentAt(fake, 'carl')).to.deep.equal([0])
    })

    it('backs off to at most 30 s when routeBroadcastInterval is longer, as the reference\'s fixed retry', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: 120_000 })
      fake.addAccount('bob', 'peer')
      fake.respond = async () => reject({ code: 'T01' })
      new CcpRouting(fake.api).start()
      await clock.tickAsync(200_000)
      const at = sentAt(fake, 'bob')
      expect(at.slice(0, 10)).to.deep.equal([0, 100, 300, 700, 1500, 3100, 6300, 12_700, 25_500, 51_100])
      expect(at.slice(10).map((t, i) => t - at[9 + i]!)).to.deep.equal([30_000, 30_000, 30_000, 30_000])
    })

    it('takes the back-off\'s ceiling controlRetryInterval from its options', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: 60_000 })
      fake.addAccount('bob', 'peer')
      fake.respond = async () => reject({ code: 'T01' })
      new CcpRouting(fake.api, { controlRetryInterval: 250 }).start()
      await clock.tickAsync(1100)
      expect(sentAt(fake, 'bob')).to.deep.equal([0, 100, 300, 550, 800, 1050])
    })

    it('retries a control message the peer does not answer after 5 s (not routeBroadcastInterval), 100 ms later', async () => {
      const fake = fakeRouting()
      fake.addAccount('bob', 'peer')
      fake.respond = async () => await new Promise<Buffer>(() => {})
      new CcpRouting(fake.api).start()
      await clock.tickAsync(5100)
      expect(fake.api.config.routeBroadcastInterval).to.equal(30_000)
      expect(sentAt(fake, 'bob')).to.deep.equal([0, 5100])
    })

    it('stops retrying when the peer disconnects or routing stops, leaving no timer', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: INTERVAL })
      fake.addAccount('bob', 'peer')
      fake.addAccount('carl', 'peer')
      fake.respond = async () => reject({ code: 'F00' })
      const routing = new CcpRouting(fake.api)
      routing.start()
      await clock.tickAsync(100)
      fake.emit('account-disconnect', 'bob')
      await clock.tickAsync(10 * INTERVAL)
      expect(sentAt(fake, 'bob')).to.deep.equal([0, 100])
      await routing.stop()
      expect(clock.countTimers()).to.equal(0)
      const before = fake.sent.length
      await clock.tickAsync(10 * INTERVAL)
      expect(fake.sent).to.have.length(before)
    })
  })

  describe('route exchange', () => {
    it('answers a control message with the CCP Fulfill and then sends our routes to that peer', async () => {
      const { fake, routing } = started()
      const reply = replyOf(await control(fake, 'bob'))
      expect(reply).to.deep.equal({ type: 'fulfill', fulfillment: Buffer.alloc(32), data: Buffer.alloc(0) })
      await clock.tickAsync(150)
      const updates = fake.updates('bob')
      expect(updates).to.have.length(1)
      expect(updates[0]).to.deep.include({ routingTableId: routing.forwarding.routingTableId, speaker: 'test.me', fromEpochIndex: 0, toEpochIndex: 1 })
      expect(updates[0]!.newRoutes.map((r) => [r.prefix, r.path])).to.deep.equal([['test.me', ['test.me']]])
    })

    it('puts a peer\'s routes in the table and advertises them to the other peers but not back to it', async () => {
      const { fake } = started()
      await control(fake, 'bob')
      await control(fake, 'carl')
      await clock.tickAsync(150)
      await update(fake, 'bob', { newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })
      expect(fake.table.get('test.bob')).to.deep.include({ nextHop: 'bob', path: ['test.bob'] })
      // the refresh runs one event-loop turn after the update, which sinon's fake setImmediate counts as 1 ms
      await clock.tickAsync(151)
      const toCarl = fake.updates('carl').at(-1)!
      expect(toCarl.newRoutes.map((r) => [r.prefix, r.path])).to.deep.equal([['test.bob', ['test.me', 'test.bob']]])
      const toBob = fake.updates('bob').at(-1)!
      expect(toBob.newRoutes).to.deep.equal([])
      expect(toBob.withdrawnRoutes).to.deep.equal(['test.bob'])
    })

    it('asks for a resync (SYNC control with the table id and epoch it has) when an update skips epochs', async () => {
      const { fake } = started()
      await clock.tickAsync(0)
      await update(fake, 'bob', { toEpochIndex: 3, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })
      const reply = replyOf(await update(fake, 'bob', { fromEpochIndex: 5, toEpochIndex: 6, newRoutes: [{ prefix: 'test.far', path: ['test.bob'] }] }))
      await clock.tickAsync(0)
      expect(reply.type).to.equal('fulfill')
      expect(fake.table.get('test.far')).to.equal(undefined)
      expect(fake.controls('bob').at(-1)).to.deep.equal({ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: OTHER_TABLE_ID, lastKnownEpoch: 3, features: [] })
    })

    it('withdraws everything learned from a peer when it disconnects, and tells the other peers', async () => {
      const { fake, routing } = started()
      await control(fake, 'carl')
      await update(fake, 'bob', { newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }, { prefix: 'test.far', path: ['test.bob', 'test.far'] }] })
      await clock.tickAsync(150)
      expect(fake.updates('carl').at(-1)!.newRoutes.map((r) => r.prefix)).to.deep.equal(['test.me', 'test.bob', 'test.far'])
      await fake.accounts.get('bob')!.plugin.disconnect()
      fake.emit('account-disconnect', 'bob')
      await clock.tickAsync(0)
      expect(fake.table.learnedFrom('bob')).to.deep.equal([])
      expect(routing.getStatus().peers).to.not.have.key('bob')
      await clock.tickAsync(150)
      expect(fake.updates('carl').at(-1)!.withdrawnRoutes).to.deep.equal(['test.bob', 'test.far'])
    })

    it('withdraws 5,000 routes of a peer that disconnected a chunk per macrotask; one it teaches again on reconnecting stays', async () => {
      const { fake, routing } = started()
      await control(fake, 'carl')
      const newRoutes = Array.from({ length: 5000 }, (_, i) => ({ prefix: `test.bob.r${i}`, path: ['test.bob'] }))
      await update(fake, 'bob', { newRoutes })
      expect(fake.table.learnedFrom('bob')).to.have.length(5000)
      await clock.tickAsync(1000)
      expect(fake.updates('carl').flatMap((u) => u.newRoutes)).to.have.length.above(5000)
      await fake.accounts.get('bob')!.plugin.disconnect()
      fake.emit('account-disconnect', 'bob')
      expect(fake.table.learnedFrom('bob')).to.have.length(5000)
      await fake.accounts.get('bob')!.plugin.connect()
      fake.emit('account-connect', 'bob')
      await update(fake, 'bob', { routingTableId: '22222222-2222-4333-8444-555555555555', newRoutes: [{ prefix: 'test.bob.r4999', path: ['test.bob'] }] })
      await clock.tickAsync(1000)
      expect(fake.table.learnedFrom('bob')).to.deep.equal(['test.bob.r4999'])
      const withdrawn = fake.updates('carl').flatMap((u) => u.withdrawnRoutes)
      expect(withdrawn).to.have.length(4999)
      expect(withdrawn).to.not.include('test.bob.r4999')
      expect(routing.getStatus().localRoutingTable).to.have.property('test.bob.r4999')
    })

    it('withdraws a removed account\'s routes and stops sending to it', async () => {
      const { fake, routing } = started()
      await control(fake, 'bob')
      await update(fake, 'bob', { newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })
      fake.accounts.delete('bob')
      fake.emit('account-removed', 'bob')
      await clock.tickAsync(0)
      expect(fake.table.get('test.bob')).to.equal(undefined)
      const sentBefore = fake.updates('bob').length
      await clock.tickAsync(5 * INTERVAL)
      expect(fake.updates('bob')).to.have.length(sentBefore)
      expect(routing.getStatus().peers).to.not.have.key('bob')
    })

    it('drops a peer\'s routes when no update came within its hold-down time (checked every routeCleanupInterval) and asks again', async () => {
      const { fake } = started()
      await clock.tickAsync(0)
      await update(fake, 'bob', { holdDownTime: 2000, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })
      await clock.tickAsync(2000)
      expect(fake.table.get('test.bob')).to.not.equal(undefined)
      expect(fake.logger.at('warn')).to.have.length(0)
      await clock.tickAsync(100)
      await clock.tickAsync(1) // the withdrawal runs in the macrotask after the expiry check
      expect(fake.table.get('test.bob')).to.equal(undefined)
      expect(fake.logger.at('warn').map((r) => r.obj.account)).to.deep.equal(['bob'])
      expect(fake.controls('bob').at(-1)).to.deep.equal({ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: ZERO_TABLE_ID, lastKnownEpoch: 0, features: [] })
    })

    it('keeps a peer\'s routes while its heartbeats arrive', async () => {
      const { fake } = started()
      await update(fake, 'bob', { holdDownTime: 2000, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })
      for (let i = 0; i < 5; i++) {
        await clock.tickAsync(1000)
        await update(fake, 'bob', { fromEpochIndex: 1, toEpochIndex: 1, holdDownTime: 2000 })
      }
      expect(fake.table.get('test.bob')).to.not.equal(undefined)
    })
  })

  describe('peer.route requests it rejects (F00, as the reference)', () => {
    it('a control message from a non-peer (a child): "cannot process route control messages from non-peers."', async () => {
      const { fake } = started()
      expect(await rejected(control(fake, 'kid'))).to.deep.equal({ code: 'F00', message: 'cannot process route control messages from non-peers.' })
    })

    it('an update from a non-peer: "cannot process route update messages from non-peers."', async () => {
      const { fake } = started()
      expect(await rejected(update(fake, 'kid'))).to.deep.equal({ code: 'F00', message: 'cannot process route update messages from non-peers.' })
    })

    it('a control message from a peer we do not send routes to', async () => {
      const fake = fakeRouting()
      fake.addAccount('bob', 'peer', { sendRoutes: false })
      new CcpRouting(fake.api).start()
      expect(await rejected(control(fake, 'bob'))).to.deep.equal({ code: 'F00', message: 'rejecting route control message, we are configured not to send routes to you.' })
    })

    it('an update from a peer we do not receive routes from', async () => {
      const fake = fakeRouting()
      fake.addAccount('bob', 'peer', { receiveRoutes: false })
      new CcpRouting(fake.api).start()
      expect(await rejected(update(fake, 'bob'))).to.deep.equal({ code: 'F00', message: 'rejecting route update, we are configured not to receive routes from you.' })
    })

    it('another peer.route destination: "unrecognized ccp message. destination=<d>"', async () => {
      const { fake } = started()
      const ctx = ccpContext(fake.accounts.get('bob')!, 'peer.route.foo', Buffer.alloc(0))
      expect(await rejected(fake.handler(ctx))).to.deep.equal({ code: 'F00', message: 'unrecognized ccp message. destination=peer.route.foo' })
    })

    it('malformed control and update payloads: F01 (not F00 as the reference) with the parser\'s reason, and still works afterwards', async () => {
      const { fake } = started()
      const bob = fake.accounts.get('bob')!
      expect(await rejected(fake.handler(ccpContext(bob, 'peer.route.control', Buffer.from([1, 2, 3]))))).to.deep.equal({
        code: 'F01', message: 'invalid route control request: Tried to read 16 bytes, but only 2 bytes available'
      })
      expect(await rejected(fake.handler(ccpContext(bob, 'peer.route.update', Buffer.alloc(0))))).to.have.property('code', 'F01')
      const truncated = updateData({ newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] }).subarray(0, 60)
      expect(await rejected(fake.handler(ccpContext(bob, 'peer.route.update', truncated)))).to.have.property('code', 'F01')
      expect(replyOf(await update(fake, 'bob', { newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] })).type).to.equal('fulfill')
      expect(fake.table.get('test.bob')!.nextHop).to.equal('bob')
    })

    it('a control message with a mode other than IDLE or SYNC', async () => {
      const { fake } = started()
      expect(await rejected(control(fake, 'bob', { mode: 7 as ccp.Mode }))).to.deep.equal({ code: 'F00', message: 'invalid route control mode. mode=7' })
    })
  })

  describe('status and shutdown', () => {
    it('reports the reference\'s GET /routing shape', async () => {
      const { fake, routing } = started()
      await control(fake, 'bob')
      await update(fake, 'carl', { toEpochIndex: 4, newRoutes: [{ prefix: 'test.carl', path: ['test.carl'] }] })
      await clock.tickAsync(150)
      const status = routing.getStatus()
      expect(status).to.deep.equal({
        routingTableId: routing.forwarding.routingTableId,
        currentEpoch: 2,
        localRoutingTable: {
          'test.me.kid': { nextHop: 'kid', path: '' },
          'test.carl': { nextHop: 'carl', path: 'test.carl' },
          'test.me': { nextHop: '', path: '' }
        },
        forwardingRoutingTable: {
          'test.me': { nextHop: '', path: 'test.me' },
          'test.carl': { nextHop: 'carl', path: 'test.me test.carl' }
        },
        routingLog: [
          { prefix: 'test.me', route: { nextHop: '', path: 'test.me' }, epoch: 0 },
          { prefix: 'test.carl', route: { nextHop: 'carl', path: 'test.me test.carl' }, epoch: 1 }
        ],
        peers: {
          bob: { send: { epoch: 2, mode: 'SYNC' }, receive: { routingTableId: ZERO_TABLE_ID, epoch: 0 } },
          carl: { send: { epoch: 0, mode: 'IDLE' }, receive: { routingTableId: OTHER_TABLE_ID, epoch: 4 } },
          up: { send: { epoch: 0, mode: 'IDLE' }, receive: { routingTableId: ZERO_TABLE_ID, epoch: 0 } }
        }
      })
      expect(JSON.parse(JSON.stringify(status))).to.deep.equal(status)
    })

    it('stop() sends peers the withdrawal of every route we advertised, before it drops them', async () => {
      const { fake, routing } = started()
      await control(fake, 'bob')
      await update(fake, 'carl', { newRoutes: [{ prefix: 'test.carl', path: ['test.carl'] }] })
      await clock.tickAsync(150)
      expect(fake.updates('bob').flatMap((u) => u.newRoutes.map((r) => r.prefix))).to.include('test.carl')
      const before = fake.updates('bob').length
      await routing.stop()
      const last = fake.updates('bob').slice(before)
      expect(last).to.have.length(1)
      expect(last[0]!.withdrawnRoutes).to.include('test.carl')
      expect(last[0]!.newRoutes).to.deep.equal([])
      expect(routing.getStatus().peers).to.deep.equal({})
    })

    it('stop() gives up on a peer that does not answer the withdrawal within its time', async () => {
      const { fake, routing } = started()
      await control(fake, 'bob')
      await update(fake, 'carl', { newRoutes: [{ prefix: 'test.carl', path: ['test.carl'] }] })
      await clock.tickAsync(150)
      fake.respond = async () => await new Promise(() => {})
      const stopping = routing.stop()
      await clock.tickAsync(WITHDRAW_TIMEOUT + 10)
      await stopping
      expect(routing.getStatus().peers).to.deep.equal({})
    })

    it('stop() withdraws learned routes, stops sending and ignores connector events', async () => {
      const { fake, routing } = started()
      await control(fake, 'bob')
      await update(fake, 'carl', { newRoutes: [{ prefix: 'test.carl', path: ['test.carl'] }] })
      await clock.tickAsync(150)
      await routing.stop()
      const sent = fake.sent.length
      expect(fake.table.get('test.carl')).to.equal(undefined)
      fake.emit('account-connect', 'bob')
      fake.table.setLocal('test.new', { nextHop: '', path: [] })
      await clock.tickAsync(5 * INTERVAL)
      expect(fake.sent).to.have.length(sent)
      expect(routing.getStatus().peers).to.deep.equal({})
      expect(await rejected(control(fake, 'bob'))).to.deep.equal({ code: 'F00', message: 'cannot process route control messages from non-peers.' })
    })

    it('re-advertises every route with the new address when the connector\'s address changes', async () => {
      const { fake, routing } = started()
      await update(fake, 'carl', { newRoutes: [{ prefix: 'test.carl', path: ['test.carl'] }] })
      fake.ownAddress = 'test.renamed'
      fake.emit('address-changed', 'test.renamed')
      expect(routing.getStatus().forwardingRoutingTable['test.carl']).to.deep.equal({ nextHop: 'carl', path: 'test.renamed test.carl' })
    })
  })
})
