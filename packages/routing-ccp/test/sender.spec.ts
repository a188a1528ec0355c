import { expect } from 'chai'
import sinon from 'sinon'
import { RecordingLogger, reject } from '@conn/testkit'
import type { Relation } from '@conn/types'
import { ForwardingTable, type RouteRelation } from '../src/forwarding-table.ts'
import { CcpSender } from '../src/sender.ts'
import { CCP_FULFILL, FakeTable, IlpPacket, OTHER_TABLE_ID, ccp } from './helpers.ts'

const INTERVAL = 1000
const EXPIRY = 3000

interface Setup {
  table: FakeTable
  forwarding: ForwardingTable
  sender: CcpSender
  updates: ccp.CcpRouteUpdateRequest[]
  logger: RecordingLogger
  /** Replaces the answer to the next sends. */
  answer: { fn: (prepare: Buffer) => Promise<Buffer> }
  sync: (lastKnownEpoch?: number, tableId?: string) => void
}

function setup (peerId = 'bob', relations: Record<string, Relation> = { bob: 'peer', carl: 'peer', kid: 'child', up: 'parent' }): Setup {
  const table = new FakeTable((id) => relations[id])
  const relationOf = (id: string): RouteRelation => id === '' ? 'local' : relations[id] ?? 'peer'
  const forwarding = new ForwardingTable({ table, getOwnAddress: () => 'test.me', globalPrefix: 'test', routingSecret: Buffer.alloc(32), relationOf })
  table.onChange((prefix) => { if (forwarding.refresh(prefix)) sender.schedule() })
  const updates: ccp.CcpRouteUpdateRequest[] = []
  const answer = { fn: async (_prepare: Buffer): Promise<Buffer> => CCP_FULFILL }
  const logger = new RecordingLogger()
  const sender: CcpSender = new CcpSender({
    peerId,
    forwarding,
    getOwnAddress: () => 'test.me',
    relationOf,
    send: async (prepare) => {
      const packet = IlpPacket.deserializeIlpPrepare(prepare)
      expect(packet.destination).to.equal('peer.route.update')
      expect(packet.amount).to.equal('0')
      updates.push(ccp.deserializeCcpRouteUpdateRequestPayload(packet.data))
      return await answer.fn(prepare)
    },
    isConnected: () => true,
    routeBroadcastInterval: INTERVAL,
    routeExpiry: EXPIRY,
    logger
  })
  const sync = (lastKnownEpoch = 0, tableId = forwarding.routingTableId): void => {
    sender.handleControl({ mode: ccp.Mode.MODE_SYNC, lastKnownRoutingTableId: tableId, lastKnownEpoch, features: [] })
  }
  return { table, forwarding, sender, updates, logger, answer, sync }
}

describe('sender', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { clock.restore() })

  it('sends nothing until the peer asks in SYNC mode (IDLE until a control message; an IDLE control keeps it idle)', async () => {
    const { table, sender, updates } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    await clock.tickAsync(5 * INTERVAL)
    sender.handleControl({ mode: ccp.Mode.MODE_IDLE, lastKnownRoutingTableId: OTHER_TABLE_ID, lastKnownEpoch: 0, features: [] })
    await clock.tickAsync(5 * INTERVAL)
    expect(updates).to.have.length(0)
    expect(sender.status()).to.deep.equal({ epoch: 0, mode: 'IDLE' })
  })

  it('on SYNC sends the whole log 150 ms later: speaker, table id, holdDownTime = routeExpiry, epochs 0..current', async () => {
    const { table, forwarding, sender, updates, sync } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    table.addLearnedRoute('carl', 'test.carl', { path: ['test.carl'], auth: Buffer.alloc(32, 3) })
    sync(0, OTHER_TABLE_ID)
    await clock.tickAsync(149)
    expect(updates).to.have.length(0)
    await clock.tickAsync(5)
    expect(updates).to.have.length(1)
    const update = updates[0]!
    expect(update).to.deep.include({
      speaker: 'test.me',
      routingTableId: forwarding.routingTableId,
      holdDownTime: EXPIRY,
      currentEpochIndex: 2,
      fromEpochIndex: 0,
      toEpochIndex: 2,
      withdrawnRoutes: []
    })
    expect(update.newRoutes.map((r) => [r.prefix, r.path, r.props])).to.deep.equal([
      ['test.me', ['test.me'], []],
      ['test.carl', ['test.me', 'test.carl'], []]
    ])
    expect(sender.status()).to.deep.equal({ epoch: 2, mode: 'SYNC' })
  })

  it('then sends an empty heartbeat every routeBroadcastInterval', async () => {
    const { table, updates, sync } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    sync()
    await clock.tickAsync(150)
    await clock.tickAsync(3 * INTERVAL)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex, u.newRoutes.length, u.withdrawnRoutes.length])).to.deep.equal([
      [0, 1, 1, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]
    ])
  })

  it('starts from the peer\'s last known epoch when it names our table id, from 0 for another id or an epoch we never reached', async () => {
    const { table, updates, sync } = setup()
    for (let i = 0; i < 5; i++) table.setLocal('test.p' + i, { nextHop: '', path: [] })
    sync(3)
    await clock.tickAsync(150)
    sync(9)
    await clock.tickAsync(150)
    sync(3, OTHER_TABLE_ID)
    await clock.tickAsync(150)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[3, 5], [0, 5], [0, 5]])
  })

  it('sends at most 50 epochs per update, and the rest in the next ones as soon as each is accepted', async () => {
    const { table, updates, sync } = setup()
    for (let i = 0; i < 120; i++) table.setLocal('test.p' + i, { nextHop: '', path: [] })
    sync()
    await clock.tickAsync(149)
    expect(updates).to.have.length(0)
    await clock.tickAsync(5)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex, u.newRoutes.length, u.currentEpochIndex])).to.deep.equal([
      [0, 50, 50, 120], [50, 100, 50, 120], [100, 120, 20, 120]
    ])
  })

  it('skips superseded (null) log slots but counts them in the epoch range', async () => {
    const { table, updates, sync } = setup()
    table.setLocal('test.x', { nextHop: '', path: [] })
    table.setLocal('test.x', { nextHop: 'carl', path: [] })
    sync()
    await clock.tickAsync(150)
    expect(updates[0]).to.deep.include({ fromEpochIndex: 0, toEpochIndex: 2 })
    expect(updates[0]!.newRoutes.map((r) => r.prefix)).to.deep.equal(['test.x'])
  })

  it('sends a change within 150 ms instead of waiting for the heartbeat', async () => {
    const { table, updates, sync } = setup()
    sync()
    await clock.tickAsync(150)
    await clock.tickAsync(300)
    table.addLearnedRoute('carl', 'test.carl', { path: ['test.carl'], auth: Buffer.alloc(32) })
    await clock.tickAsync(150)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex, u.newRoutes.map((r) => r.prefix)])).to.deep.equal([
      [0, 0, []], [0, 1, ['test.carl']]
    ])
  })

  it('is not held back by a stream of changes: the update planned first goes out 150 ms after it was planned', async () => {
    const { table, updates, sync } = setup()
    sync()
    await clock.tickAsync(150)
    for (let i = 0; i < 10; i++) {
      table.setLocal('test.p' + i, { nextHop: '', path: [] })
      await clock.tickAsync(50)
    }
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 0], [0, 3], [3, 6], [6, 9]])
  })

  it('withdraws a route whose next hop is the peer itself (split horizon)', async () => {
    const { table, updates, sync } = setup('bob')
    table.addLearnedRoute('bob', 'test.bob', { path: ['test.bob'], auth: Buffer.alloc(32) })
    table.addLearnedRoute('carl', 'test.carl', { path: ['test.carl'], auth: Buffer.alloc(32) })
    sync()
    await clock.tickAsync(150)
    expect(updates[0]!.newRoutes.map((r) => r.prefix)).to.deep.equal(['test.carl'])
    expect(updates[0]!.withdrawnRoutes).to.deep.equal(['test.bob'])
  })

  it('to a parent advertises only local and child routes; routes via peers and parents are withdrawals', async () => {
    const { table, updates, sync } = setup('up', { up: 'parent', up2: 'parent', carl: 'peer', kid: 'child' })
    table.setLocal('test.me', { nextHop: '', path: [] })
    table.addLearnedRoute('kid', 'test.kid', { path: ['test.kid'], auth: Buffer.alloc(32) })
    table.addLearnedRoute('carl', 'test.carl', { path: ['test.carl'], auth: Buffer.alloc(32) })
    table.addLearnedRoute('up2', 'test.up2', { path: ['test.up2'], auth: Buffer.alloc(32) })
    sync()
    await clock.tickAsync(150)
    expect(updates[0]!.newRoutes.map((r) => r.prefix)).to.deep.equal(['test.me', 'test.kid'])
    expect(updates[0]!.withdrawnRoutes).to.deep.equal(['test.carl', 'test.up2'])
  })

  it('retries a failed send with the same epochs one interval later, and keeps sending after that', async () => {
    const { table, updates, answer, sync, sender } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    answer.fn = async () => { throw new Error('socket closed') }
    sync()
    await clock.tickAsync(150)
    table.setLocal('test.other', { nextHop: '', path: [] }) // a change does not cut the retry delay short
    await clock.tickAsync(INTERVAL - 1)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 1]])
    answer.fn = async () => CCP_FULFILL
    await clock.tickAsync(1)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 1], [0, 2]])
    expect(sender.epoch).to.equal(2)
    await clock.tickAsync(INTERVAL)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 1], [0, 2], [2, 2]])
  })

  it('counts a Reject reply as a failure: the same epochs go again one interval later', async () => {
    const { table, updates, answer, sync, sender } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    answer.fn = async () => reject({ code: 'F00', message: 'rejecting route update, we are configured not to receive routes from you.' })
    sync()
    await clock.tickAsync(150)
    expect(sender.epoch).to.equal(0)
    answer.fn = async () => CCP_FULFILL
    await clock.tickAsync(INTERVAL)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 1], [0, 1]])
    expect(sender.epoch).to.equal(1)
  })

  it('gives up on a send after routeBroadcastInterval and retries it', async () => {
    const { table, updates, answer, sync, sender } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    answer.fn = async () => await new Promise<Buffer>(() => {})
    sync()
    await clock.tickAsync(150 + INTERVAL)
    expect(sender.epoch).to.equal(0)
    answer.fn = async () => CCP_FULFILL
    await clock.tickAsync(INTERVAL)
    expect(updates.map((u) => [u.fromEpochIndex, u.toEpochIndex])).to.deep.equal([[0, 1], [0, 1]])
    expect(sender.epoch).to.equal(1)
  })

  it('logs failures at debug and warns once when three in a row failed, then info when it works again', async () => {
    const { table, answer, sync, logger } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    answer.fn = async () => { throw new Error('socket closed') }
    sync()
    await clock.tickAsync(150 + INTERVAL)
    expect(logger.at('warn')).to.have.length(0)
    await clock.tickAsync(4 * INTERVAL)
    expect(logger.at('warn').map((r) => r.msg)).to.deep.equal(['route updates to peer are failing; retrying every broadcast interval'])
    answer.fn = async () => CCP_FULFILL
    await clock.tickAsync(INTERVAL)
    expect(logger.at('info').map((r) => r.msg)).to.deep.equal(['route updates to peer succeed again'])
  })

  it('stops sending after an IDLE control message or stop()', async () => {
    const { table, updates, sender, sync } = setup()
    table.setLocal('test.me', { nextHop: '', path: [] })
    sync()
    await clock.tickAsync(150)
    sender.handleControl({ mode: ccp.Mode.MODE_IDLE, lastKnownRoutingTableId: OTHER_TABLE_ID, lastKnownEpoch: 0, features: [] })
    await clock.tickAsync(3 * INTERVAL)
    expect(updates).to.have.length(1)
    sync(1)
    await clock.tickAsync(INTERVAL)
    expect(updates).to.have.length(2)
    sender.stop()
    table.setLocal('test.other', { nextHop: '', path: [] })
    await clock.tickAsync(3 * INTERVAL)
    expect(updates).to.have.length(2)
  })
})
