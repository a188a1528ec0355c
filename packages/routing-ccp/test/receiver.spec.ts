import { expect } from 'chai'
import sinon from 'sinon'
import { RecordingLogger, reject } from '@conn/testkit'
import { CcpReceiver, ZERO_UUID } from '../src/receiver.ts'
import { CCP_FULFILL, FakeTable, IlpPacket, OTHER_TABLE_ID, ccp, updateRequest } from './helpers.ts'

const RETRY = 500
const TIMEOUT = 1000
const START = 1_000_000

interface Setup {
  table: FakeTable
  receiver: CcpReceiver
  controls: ccp.CcpRouteControlRequest[]
  /** When each control message was sent, in ms since the test started. */
  sentAt: number[]
  answer: { fn: () => Promise<Buffer> }
  connected: { value: boolean }
  logger: RecordingLogger
}

function setup ({ retry = RETRY, timeout = TIMEOUT } = {}): Setup {
  const table = new FakeTable(() => 'peer')
  const controls: ccp.CcpRouteControlRequest[] = []
  const sentAt: number[] = []
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
      sentAt.push(Date.now() - START)
      return await answer.fn()
    },
    isConnected: () => connected.value,
    controlRetryInterval: retry,
    controlTimeout: timeout,
    logger
  })
  return { table, receiver, controls, sentAt, answer, connected, logger }
}

const NON_PEER = async (): Promise<Buffer> => reject({ code: 'F00', message: 'cannot process route control messages from non-peers.' })

const AUTH = Buffer.alloc(32, 5)

describe('receiver', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: START }) })
  afterEach(() => { clock.restore() })

  describe('route control', () => {
    it('asks in SYNC mode from the all-zero table id and epoch 0, with no features', async () => {
      const { receiver, controls } = setup()
      receiver.sendRouteControl()
      await clock.tickAsync(0)
      expect(controls).to.deep.equal([{ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: ZERO_UUID, lastKnownEpoch: 0, features: [] }])
    })

    it('retries a rejected control message after 100 ms, doubling the delay up to controlRetryInterval', async () => {
      const { receiver, sentAt, answer } = setup({ retry: 1000 })
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(4500)
      expect(sentAt).to.deep.equal([0, 100, 300, 700, 1500, 2500, 3500, 4500])
    })

    it('sends nothing more once one is fulfilled', async () => {
      const { receiver, sentAt, answer } = setup({ retry: 1000 })
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(300)
      answer.fn = async () => CCP_FULFILL
      await clock.tickAsync(60_000)
      expect(sentAt).to.deep.equal([0, 100, 300, 700])
      expect(clock.countTimers()).to.equal(0)
    })

    it('starts the back-off at 100 ms again after a success', async () => {
      const { receiver, sentAt, answer } = setup({ retry: 1000 })
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(300)
      answer.fn = async () => CCP_FULFILL
      await clock.tickAsync(1200) // fulfilled at 700
      answer.fn = NON_PEER
      receiver.sendRouteControl() // a resync, at 1500
      await clock.tickAsync(300)
      expect(sentAt).to.deep.equal([0, 100, 300, 700, 1500, 1600, 1800])
    })

    it('retries every controlRetryInterval when it is below 100 ms', async () => {
      const { receiver, sentAt, answer } = setup({ retry: 40 })
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(120)
      expect(sentAt).to.deep.equal([0, 40, 80, 120])
    })

    it('retries a control message whose send failed 100 ms later', async () => {
      const { receiver, sentAt, answer } = setup()
      answer.fn = async () => { throw new Error('socket closed') }
      receiver.sendRouteControl()
      await clock.tickAsync(100)
      expect(sentAt).to.deep.equal([0, 100])
    })

    it('counts a control message unanswered after controlTimeout as lost and retries it, with the back-off', async () => {
      const { receiver, sentAt, answer } = setup({ timeout: TIMEOUT })
      answer.fn = async () => await new Promise<Buffer>(() => {})
      receiver.sendRouteControl()
      await clock.tickAsync(TIMEOUT + 100 + TIMEOUT + 200)
      expect(sentAt).to.deep.equal([0, TIMEOUT + 100, 2 * TIMEOUT + 300])
    })

    it('sends nothing while the plugin is not connected, checks again with the same back-off, and sends once it is', async () => {
      const { receiver, sentAt, connected } = setup()
      connected.value = false
      receiver.sendRouteControl()
      await clock.tickAsync(1000) // checked at 100, 300, 700
      expect(sentAt).to.deep.equal([])
      connected.value = true
      await clock.tickAsync(60_000)
      expect(sentAt).to.deep.equal([1200]) // 700 + RETRY
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

    it('does not retry after stop(), and leaves no timer behind', async () => {
      const { receiver, sentAt, answer } = setup()
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(100)
      receiver.stop()
      expect(clock.countTimers()).to.equal(0)
      await clock.tickAsync(60_000)
      expect(sentAt).to.deep.equal([0, 100])
    })

    it('keeps no timer that would hold the process open (all unref\'d)', async () => {
      const { receiver, answer } = setup()
      const fakeSetTimeout = globalThis.setTimeout
      const timers: NodeJS.Timeout[] = []
      const record = sinon.stub(globalThis, 'setTimeout').callsFake(((...args: Parameters<typeof setTimeout>) => {
        const timer = fakeSetTimeout(...args)
        timers.push(timer)
        return timer
      }) as typeof setTimeout)
      try {
        answer.fn = NON_PEER
        receiver.sendRouteControl()
        await clock.tickAsync(300)
        answer.fn = async () => await new Promise<Buffer>(() => {})
        await clock.tickAsync(400) // the control sent at 700 waits for its timeout
      } finally {
        record.restore()
      }
      expect(timers.length).to.be.at.least(4)
      expect(timers.filter((t) => t.hasRef())).to.deep.equal([])
    })

    it('warns once when the third control message in a row fails, and says when one is accepted again', async () => {
      const { receiver, answer, logger } = setup()
      answer.fn = NON_PEER
      receiver.sendRouteControl()
      await clock.tickAsync(5000)
      answer.fn = async () => CCP_FULFILL
      await clock.tickAsync(RETRY)
      expect(logger.records.filter((r) => r.level === 'warn' || r.level === 'info').map((r) => [r.level, r.msg])).to.deep.equal([
        ['warn', 'route control messages to peer are failing; retrying'],
        ['info', 'route control message to peer accepted again']
      ])
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

    it('gives the routes with the same hops one shared, frozen path array (memory at 100,000 routes)', () => {
      const { receiver, table } = setup()
      receiver.handleUpdate(updateRequest({
        toEpochIndex: 3,
        newRoutes: [{ prefix: 'test.p.a', path: ['test.p'] }, { prefix: 'test.p.b', path: ['test.p'] }, { prefix: 'test.q', path: ['test.p', 'test.q'] }]
      }))
      const [a, b, q] = ['test.p.a', 'test.p.b', 'test.q'].map((prefix) => table.get(prefix)!.path)
      expect(a).to.equal(b)
      expect(a).to.deep.equal(['test.p']).and.not.equal(q)
      expect(q).to.deep.equal(['test.p', 'test.q'])
      expect(Object.isFrozen(a)).to.equal(true)
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
