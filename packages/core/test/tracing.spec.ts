import { expect } from 'chai'
import { createHash } from 'node:crypto'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import * as IlpPacket from 'ilp-packet'
import { pino } from 'pino'
import {
  TRACE_CHANNELS, UnreachableError, type AccountConfig, type Logger, type Middleware, type PacketAnsweredEvent,
  type PacketContext, type PacketForwardedEvent, type PacketReceivedEvent
} from '@conn/types'
import { ConnectorAccount } from '../src/account.ts'
import { buildLocalRoutes, RoutingTable } from '../src/routing.ts'
import { PacketSwitch } from '../src/switch.ts'
import { MockPlugin } from './helpers/mock-plugin.ts'

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

/** A switch with alice and bob (bob fulfills after `delay` ms) and two middlewares that take time of their own. */
function setup (delay = 0): { sw: PacketSwitch, alice: ConnectorAccount, seen: PacketContext[] } {
  const accounts = new Map<string, ConnectorAccount>()
  for (const id of ['alice', 'bob']) {
    const plugin = new MockPlugin()
    plugin.connected = true
    plugin.onSendData = async () => {
      await new Promise((resolve) => setTimeout(resolve, delay))
      return IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) })
    }
    accounts.set(id, new ConnectorAccount(id, { relation: 'child', assetCode: 'USD', assetScale: 9, plugin } as unknown as AccountConfig, plugin, undefined))
  }
  const table = new RoutingTable((id) => accounts.get(id)?.relation)
  table.setLocalRoutes(buildLocalRoutes({ ownAddress: 'test.conn', globalPrefix: 'test', defaultRoute: 'auto', accounts: accounts.values() }))
  const sw = new PacketSwitch({
    settings: { minMessageWindow: 1000, maxHoldTime: 30000, reflectPayments: true, maxPacketsInFlight: 100 },
    routingTable: table,
    getAccount: (id) => accounts.get(id),
    getOwnAddress: () => 'test.conn',
    backend: () => ({ getRate: () => 2 }),
    logger: pino({ level: 'silent' }) as unknown as Logger
  })
  const seen: PacketContext[] = []
  const busy = (ms: number): void => { const until = performance.now() + ms; while (performance.now() < until); }
  const outer: Middleware = {
    name: 'outer',
    incomingData: async (ctx, next) => { seen.push(ctx); busy(3); return await next(ctx) },
    outgoingData: async (ctx, next) => { busy(2); return await next(ctx) }
  }
  const refusing: Middleware = {
    name: 'refusing',
    incomingData: async (ctx, next) => {
      if (ctx.prepare.destination.endsWith('.nobody')) throw new UnreachableError('nobody there')
      return await next(ctx)
    }
  }
  const errors: Middleware = {
    name: 'error-handler',
    incomingData: async (ctx, next) => {
      try {
        return await next(ctx)
      } catch (err) {
        return IlpPacket.serializeIlpReject({ code: (err as UnreachableError).ilpErrorCode, triggeredBy: 'test.conn', message: (err as Error).message, data: Buffer.alloc(0) })
      }
    }
  }
  sw.compose([errors, outer, refusing])
  return { sw, alice: accounts.get('alice')!, seen }
}

function prepare (destination: string, amount = '100'): Buffer {
  return IlpPacket.serializeIlpPrepare({ amount, destination, executionCondition: CONDITION, expiresAt: new Date(Date.now() + 10_000), data: Buffer.alloc(0) })
}

/** Subscribes to every packet channel for the length of `run`; what each received. */
async function recording (run: () => Promise<void>): Promise<{ received: PacketReceivedEvent[], forwarded: PacketForwardedEvent[], answered: PacketAnsweredEvent[] }> {
  const events = { received: [] as PacketReceivedEvent[], forwarded: [] as PacketForwardedEvent[], answered: [] as PacketAnsweredEvent[] }
  const listeners = {
    received: (e: unknown) => { events.received.push(e as PacketReceivedEvent) },
    forwarded: (e: unknown) => { events.forwarded.push(e as PacketForwardedEvent) },
    answered: (e: unknown) => { events.answered.push(e as PacketAnsweredEvent) }
  }
  for (const name of ['received', 'forwarded', 'answered'] as const) subscribe(TRACE_CHANNELS[name], listeners[name])
  try {
    await run()
  } finally {
    for (const name of ['received', 'forwarded', 'answered'] as const) unsubscribe(TRACE_CHANNELS[name], listeners[name])
  }
  return events
}

describe('tracing on diagnostics_channel', () => {
  it('publishes a packet\'s arrival, its next hop and its reply with the time of every step, innermost first', async () => {
    const { sw, alice } = setup(20)
    const events = await recording(async () => { await sw.handleData(alice, prepare('test.conn.bob.x')) })
    expect(events.received).to.have.length(1)
    expect(events.received[0]).to.deep.include({ account: 'alice', destination: 'test.conn.bob.x', amount: 100n })
    expect(events.forwarded).to.have.length(1)
    expect(events.forwarded[0]).to.deep.include({ id: events.received[0]!.id, account: 'alice', nextHop: 'bob', amount: 100n, outgoingAmount: 200n })
    const answered = events.answered[0]!
    expect(answered).to.deep.include({ id: events.received[0]!.id, account: 'alice', nextHop: 'bob', outgoingAmount: 200n, result: 'fulfill' })
    expect(answered.steps.map((s) => `${s.pipeline}:${s.name}`)).to.deep.equal([
      'outgoing:plugin', 'outgoing:outer', 'incoming:switch', 'incoming:refusing', 'incoming:outer', 'incoming:error-handler'
    ])
    const step = (name: string, pipeline: string): { ms: number, selfMs: number } => answered.steps.find((s) => s.name === name && s.pipeline === pipeline)!
    expect(step('plugin', 'outgoing').ms).to.be.at.least(19) // bob took 20 ms to answer
    // a step's own time leaves out the steps inside it (bob's 20 ms are in the plugin step only)
    expect(step('outer', 'outgoing').selfMs).to.be.at.least(1.9).and.at.most(step('outer', 'outgoing').ms - step('plugin', 'outgoing').ms + 0.001)
    expect(step('outer', 'incoming').selfMs).to.be.at.least(2.9).and.at.most(step('outer', 'incoming').ms - step('plugin', 'outgoing').ms + 0.001)
    expect(step('outer', 'incoming').ms).to.be.at.least(step('plugin', 'outgoing').ms + 5)
    expect(answered.durationMs).to.be.at.least(step('error-handler', 'incoming').ms)
    // each step starts after the one around it and ends before it: startMs says where in the packet's time
    const steps = answered.steps
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]!.startMs).to.be.at.most(steps[i - 1]!.startMs + 0.001)
      expect(steps[i]!.startMs + steps[i]!.ms).to.be.at.least(steps[i - 1]!.startMs + steps[i - 1]!.ms - 0.001)
    }
  })

  it('reports a Reject by its code, with the steps that ran', async () => {
    const { sw, alice } = setup()
    const events = await recording(async () => { await sw.handleData(alice, prepare('test.conn.nobody')) })
    expect(events.forwarded).to.deep.equal([])
    expect(events.answered[0]).to.deep.include({ result: 'F02', nextHop: undefined })
    expect(events.answered[0]!.steps.map((s) => s.name)).to.deep.equal(['refusing', 'outer', 'error-handler'])
  })

  it('records nothing while nobody subscribes: the packet takes the plain pipelines, with no trace on its context', async () => {
    const { sw, alice, seen } = setup()
    const reply = await sw.handleData(alice, prepare('test.conn.bob'))
    expect(IlpPacket.deserializeIlpPacket(reply).typeString).to.equal('ilp_fulfill')
    expect(seen[0]!.trace).to.equal(undefined)
    await recording(async () => { await sw.handleData(alice, prepare('test.conn.bob')) })
    expect(seen[1]!.trace?.steps.length).to.equal(6)
  })
})
