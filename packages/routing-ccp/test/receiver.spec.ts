import { expect } from 'chai'
import sinon from 'sinon'
import { RecordingLogger, reject } from '@conn/testkit'
import { CcpReceiver, ZERO_UUID } from '../src/receiver.ts'
import { CCP_FULFILL, FakeTable, IlpPacket, OTHER_TABLE_ID, ccp, updateRequest } from './helpers.ts'

const RETRY = 500

interface Setup {
  table: FakeTable
  receiver: CcpReceiver
  controls: ccp.CcpRouteControlRequest[]
  answer: { fn: () => Promise<Buffer> }
  connected: { value: boolean }
  logger: RecordingLogger
}

function setup (): Setup {
  const table = new FakeTable(() => 'peer')
  const controls: ccp.CcpRouteControlRequest[] = []
  const answer = { fn: async (): Promise<Buffer> => CCP_FULFILL }
  const connected = { value: true }
  const logger = new RecordingLogger()
  const receiver = new CcpReceiver({
    peerId: 'bob',
    table,
    getOwnAddress: () => 'test.me',
    globalPrefix: 'test',
    send: async (prepare) => {
      const packet = IlpPacket.deserializeIlpPrepare(prepare)
      expect(packet.destination).to.equal('peer.route.control')
      controls.push(ccp.deserializeCcpRouteControlRequestPayload(packet.data))
      return await answer.fn()
    },
    isConnected: () => connected.value,
    controlRetryInterval: RETRY,
    controlTimeout: 1000,
    logger
  })
  return { table, receiver, controls, answer, connected, logger }
}

const AUTH = Buffer.alloc(32, 5)

describe('receiver', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { clock.restore() })

  describe('route control', () => {
    it('asks in SYNC mode from the all-zero table id and epoch 0, with no features', async () => {
      const { receiver, controls } = setup()
      receiver.sendRouteControl()
      await clock.tickAsync(0)
      expect(controls).to.deep.equal([{ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: ZERO_UUID, lastKnownEpoch: 0, features: [] }])
    })

    it('retries a rejected control message after controlRetryInterval until it is fulfilled', async () => {
      const { receiver, controls, answer } = setup()
      answer.fn = async () => reject({ code: 'F00', message: 'cannot process route control messages from non-peers.' })
      receiver.sendRouteControl()
      await clock.tickAsync(RETRY - 1)
      expect(controls).to.have.length(1)
      await clock.tickAsync(1)
      expect(controls).to.have.length(2)
      answer.fn = async () => CCP_FULFILL
      await clock.tickAsync(RETRY)
      await clock.tickAsync(5 * RETRY)
      expect(controls).to.have.length(3)
    })

    it('retries a control message whose send failed or timed out', async () => {
      const { receiver, controls, answer } = setup()
      answer.fn = async () => { throw new Error('socket closed') }
      receiver.sendRouteControl()
      await clock.tickAsync(RETRY)
      answer.fn = async () => await new Promise<Buffer>(() => {})
      await clock.tickAsync(RETRY)
      expect(controls).to.have.length(3)
      answer.fn = async () => CCP_FULFILL
      await clock.tickAsync(1000 + RETRY)
      await clock.tickAsync(5 * RETRY)
      expect(controls).to.have.length(4)
    })

    it('sends nothing while the plugin is not connected, and tries again every controlRetryInterval until it is', async () => {
      const { receiver, controls, connected } = setup()
      connected.value = false
      receiver.sendRouteControl()
      await clock.tickAsync(5 * RETRY)
      expect(controls).to.have.length(0)
      connected.value = true
      await clock.tickAsync(RETRY)
      await clock.tickAsync(5 * RETRY)
      expect(controls).to.have.length(1)
    })

    it('asks again once the control in flight returned, with what it has by then', async () => {
      const { receiver, controls, answer } = setup()
      let release: (reply: Buffer) => void = () => {}
      answer.fn = async () => await new Promise<Buffer>((resolve) => { release = resolve })
      receiver.sendRouteControl()
      receiver.handleUpdate(updateRequest({ fromEpochIndex: 0, toEpochIndex: 4, newRoutes: [] }))
      receiver.sendRouteControl()
      await clock.tickAsync(0)
      expect(controls).to.have.length(1)
      release(CCP_FULFILL)
      await clock.tickAsync(0)
      expect(controls.map((c) => [c.lastKnownRoutingTableId, c.lastKnownEpoch])).to.deep.equal([[ZERO_UUID, 0], [OTHER_TABLE_ID, 4]])
    })

    it('does not retry after stop()', async () => {
      const { receiver, controls, answer } = setup()
      answer.fn = async () => { throw new Error('socket closed') }
      receiver.sendRouteControl()
      await clock.tickAsync(0)
      receiver.stop()
      await clock.tickAsync(5 * RETRY)
      expect(controls).to.have.length(1)
    })
  })

  describe('route updates', () => {
    it('adds new routes to the table as learned from the peer, with their path and auth, and takes the epoch', () => {
      const { receiver, table } = setup()
      const result = receiver.handleUpdate(updateRequest({ toEpochIndex: 2, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'], auth: AUTH }, { prefix: 'test.c', path: ['test.bob', 'test.c'] }] }))
      expect(result).to.equal('applied')
      expect(table.get('test.bob')).to.deep.equal({ nextHop: 'bob', path: ['test.bob'], auth: AUTH })
      expect(table.get('test.c')!.path).to.deep.equal(['test.bob', 'test.c'])
      expect(receiver.status()).to.deep.equal({ routingTableId: OTHER_TABLE_ID, epoch: 2 })
      expect(receiver.prefixes()).to.deep.equal(['test.bob', 'test.c'])
    })

    it('removes withdrawn routes', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] }))
      const result = receiver.handleUpdate(updateRequest({ fromEpochIndex: 1, toEpochIndex: 2, withdrawnRoutes: ['test.bob'] }))
      expect(result).to.equal('applied')
      expect(table.get('test.bob')).to.equal(undefined)
      expect(receiver.epoch).to.equal(2)
    })

    it('ignores routes outside the global prefix and the global prefix itself', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({
        toEpochIndex: 3,
        newRoutes: [{ prefix: 'g.bob', path: ['g.bob'] }, { prefix: 'test', path: ['test.bob'] }, { prefix: 'test.ok', path: ['test.bob'] }]
      }))
      expect(table.entries().map(([prefix]) => prefix)).to.deep.equal(['test.ok'])
    })

    it('rejects a route whose path contains our address (a loop), dropping the route it replaced', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, newRoutes: [{ prefix: 'test.x', path: ['test.bob', 'test.x'] }] }))
      receiver.handleUpdate(updateRequest({ fromEpochIndex: 1, toEpochIndex: 3, newRoutes: [{ prefix: 'test.x', path: ['test.bob', 'test.me', 'test.x'] }, { prefix: 'test.y', path: ['test.me'] }] }))
      expect(table.get('test.x')).to.equal(undefined)
      expect(table.get('test.y')).to.equal(undefined)
      expect(receiver.epoch).to.equal(3)
    })

    it('takes a pure heartbeat\'s epoch and changes nothing', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] }))
      expect(receiver.handleUpdate(updateRequest({ fromEpochIndex: 1, toEpochIndex: 1 }))).to.equal('heartbeat')
      expect(receiver.epoch).to.equal(1)
      expect(table.get('test.bob')!.nextHop).to.equal('bob')
    })

    it('ignores a stale update (its toEpoch below the epoch we have)', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 5, currentEpochIndex: 5 }))
      expect(receiver.handleUpdate(updateRequest({ fromEpochIndex: 0, toEpochIndex: 2, newRoutes: [{ prefix: 'test.old', path: ['test.bob'] }] }))).to.equal('stale')
      expect(table.get('test.old')).to.equal(undefined)
      expect(receiver.epoch).to.equal(5)
    })

    it('reports a gap (fromEpoch past the epoch we have) and applies nothing', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 2 }))
      expect(receiver.handleUpdate(updateRequest({ fromEpochIndex: 4, toEpochIndex: 6, newRoutes: [{ prefix: 'test.new', path: ['test.bob'] }] }))).to.equal('gap')
      expect(table.get('test.new')).to.equal(undefined)
      expect(receiver.epoch).to.equal(2)
    })

    it('follows a new table id from epoch 0 and drops the old table\'s routes the new one does not have once caught up', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 2, newRoutes: [{ prefix: 'test.keep', path: ['test.bob'] }, { prefix: 'test.gone', path: ['test.bob'] }] }))
      const newId = '99999999-2222-4333-8444-555555555555'
      // The restarted peer's table, in two updates: the old routes stay usable until the second.
      receiver.handleUpdate(updateRequest({ routingTableId: newId, fromEpochIndex: 0, toEpochIndex: 1, currentEpochIndex: 2, newRoutes: [{ prefix: 'test.keep', path: ['test.bob'] }] }))
      expect(table.get('test.gone')).to.not.equal(undefined)
      receiver.handleUpdate(updateRequest({ routingTableId: newId, fromEpochIndex: 1, toEpochIndex: 2, currentEpochIndex: 2, newRoutes: [{ prefix: 'test.new', path: ['test.bob'] }] }))
      expect(table.entries().map(([prefix]) => prefix).sort()).to.deep.equal(['test.keep', 'test.new'])
      expect(receiver.status()).to.deep.equal({ routingTableId: newId, epoch: 2 })
    })
  })

  describe('expiry', () => {
    it('keeps the routes until the hold-down time since the last update passed, then drops them and forgets the table', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, holdDownTime: 2000, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] }))
      clock.tick(1500)
      receiver.handleUpdate(updateRequest({ fromEpochIndex: 1, toEpochIndex: 1, holdDownTime: 2000 }))
      clock.tick(2000)
      expect(receiver.expire()).to.equal(false)
      expect(table.get('test.bob')).to.not.equal(undefined)
      clock.tick(1)
      expect(receiver.expire()).to.equal(true)
      expect(table.get('test.bob')).to.equal(undefined)
      expect(receiver.status()).to.deep.equal({ routingTableId: ZERO_UUID, epoch: 0 })
    })

    it('never shortens the expiry (a shorter hold-down time in a later update)', () => {
      const { receiver } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, holdDownTime: 5000, newRoutes: [{ prefix: 'test.bob', path: ['test.bob'] }] }))
      receiver.handleUpdate(updateRequest({ fromEpochIndex: 1, toEpochIndex: 1, holdDownTime: 100 }))
      clock.tick(4000)
      expect(receiver.expire()).to.equal(false)
    })

    it('has nothing to expire without routes', () => {
      const { receiver } = setup()
      receiver.handleUpdate(updateRequest({ toEpochIndex: 1, holdDownTime: 100 }))
      clock.tick(1000)
      expect(receiver.expire()).to.equal(false)
      expect(receiver.epoch).to.equal(1)
    })
  })
})
