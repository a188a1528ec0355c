import { TYPES_RANGE } from '@conn/types'
import { expect } from 'chai'
import { createHash } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import { middlewareConformance } from '@conn/testkit'
import type { AccountConfig, MiddlewareManifest } from '@conn/types'
import { createApp, type Connector } from '../../src/index.ts'
import { extensionManifest } from '../../src/compat/detect.ts'
import type { ReferenceHost } from '../../src/compat/host.ts'
import {
  ReferencePipeline, composeReference, referencePipelines, type BuiltinPlacement, type ReferenceMethod
} from '../../src/compat/reference-middleware.ts'
import { MockPlugin } from '../helpers/mock-plugin.ts'
import { captureLogger, silentLogger } from '../helpers/logger.ts'
import { rejecting } from '../helpers/stand-ins.ts'

const pass: ReferenceMethod<Buffer, Buffer> = async (data, next) => await next(data)
const named = (name: string): { name: string, method: ReferenceMethod<Buffer, Buffer> } => ({ name, method: pass })

function account (extra: Partial<AccountConfig> = {}): AccountConfig {
  return { relation: 'child', plugin: 'x', assetCode: 'USD', assetScale: 9, ...extra }
}

function prepare (destination: string, amount: string, condition = Buffer.alloc(32, 1)): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount, destination, executionCondition: condition, expiresAt: new Date(Date.now() + 5000), data: Buffer.from('hello')
  })
}

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

/** A conn middleware that records the order it runs in, to see where the reference block sits. */
function recorder (name: string, log: string[]): MiddlewareManifest {
  return {
    kind: 'middleware',
    name,
    types: TYPES_RANGE,
    create: () => ({
      name,
      incomingData: async (ctx, next) => { log.push(`conn:${name}`); return await next(ctx) }
    })
  }
}

describe('compat: reference middleware', () => {
  describe('ReferencePipeline', () => {
    it('throws the reference\'s error for insertBefore/insertAfter of a name not in that pipeline', () => {
      const pipeline = new ReferencePipeline<Buffer, Buffer>('incomingData', ['errorHandler', 'stats'], () => {})
      expect(() => pipeline.insertBefore('balance', named('x'))).to.throw('could not insert before middleware; not found. name=balance')
      expect(() => pipeline.insertAfter('nope', named('x'))).to.throw('could not insert after middleware; not found. name=nope')
      expect(pipeline.getMethods()).to.deep.equal([])
    })

    it('keeps the inserted methods in the order the reference would run them, and reports placements relative to a built-in', () => {
      const placements: BuiltinPlacement[] = []
      const pipeline = new ReferencePipeline<Buffer, Buffer>('incomingData', ['errorHandler', 'balance', 'stats'], (p) => placements.push(p))
      const a: ReferenceMethod<Buffer, Buffer> = async (d, n) => await n(d)
      const b: ReferenceMethod<Buffer, Buffer> = async (d, n) => await n(d)
      const c: ReferenceMethod<Buffer, Buffer> = async (d, n) => await n(d)
      const d: ReferenceMethod<Buffer, Buffer> = async (x, n) => await n(x)
      const e: ReferenceMethod<Buffer, Buffer> = async (x, n) => await n(x)
      pipeline.insertLast({ name: 'a', method: a })
      pipeline.insertFirst({ name: 'b', method: b })
      pipeline.insertBefore('balance', { name: 'c', method: c })
      pipeline.insertAfter('a', { name: 'd', method: d })
      pipeline.insertBefore('a', { name: 'e', method: e })
      // reference order: b, errorHandler, c, balance, stats, e, a, d
      expect(pipeline.getMethods()).to.deep.equal([b, c, e, a, d])
      expect(placements).to.deep.equal([
        { pipeline: 'incomingData', how: 'insertFirst' },
        { pipeline: 'incomingData', how: 'insertBefore', anchor: 'balance' }
      ])
    })

    it('refuses an entry without a method function', () => {
      const pipeline = new ReferencePipeline<Buffer, Buffer>('outgoingData', [], () => {})
      expect(() => pipeline.insertLast({ name: 'x' } as never)).to.throw(TypeError, 'a pipeline entry must be { name, method } with a method function')
    })
  })

  describe('referencePipelines', () => {
    const running = new Set(['errorHandler', 'rateLimit', 'maxPacketAmount', 'throughput', 'balance', 'deduplicate', 'echo', 'expire', 'validateFulfillment', 'stats', 'alert'])

    it('holds the built-ins the reference puts in each pipeline for that account, in its order', () => {
      const all = referencePipelines(account({ balance: { maximum: '100' }, maxPacketAmount: '10', throughput: { incomingAmount: '5' } }), running, () => {})
      const names = (p: ReferencePipeline<any, any>): string[] => (p as unknown as { slots: Array<{ name: string }> }).slots.map((s) => s.name)
      expect(names(all.incomingData)).to.deep.equal(['errorHandler', 'rateLimit', 'maxPacketAmount', 'throughput', 'balance', 'echo', 'stats'])
      expect(names(all.outgoingData)).to.deep.equal(['balance', 'deduplicate', 'expire', 'validateFulfillment', 'stats', 'alert'])
      expect(names(all.incomingMoney)).to.deep.equal(['errorHandler', 'rateLimit', 'balance', 'stats'])
      expect(names(all.outgoingMoney)).to.deep.equal(['balance', 'stats'])
      expect(names(all.startup)).to.deep.equal(['balance', 'deduplicate'])
      expect(names(all.teardown)).to.deep.equal(['deduplicate'])
    })

    it('leaves out built-ins the account does not configure or that do not run, so anchoring on them throws as in the reference', () => {
      const plain = referencePipelines(account(), running, () => {})
      expect(() => plain.incomingData.insertBefore('balance', named('x'))).to.throw('could not insert before middleware; not found. name=balance')
      expect(() => plain.incomingData.insertAfter('maxPacketAmount', named('x'))).to.throw('not found. name=maxPacketAmount')
      const withoutStats = referencePipelines(account({ balance: { maximum: '1' } }), new Set(['balance']), () => {})
      expect(() => withoutStats.outgoingMoney.insertBefore('stats', named('x'))).to.throw('not found. name=stats')
      withoutStats.outgoingMoney.insertBefore('balance', named('y'))
      expect(withoutStats.outgoingMoney.getMethods()).to.have.length(1)
    })
  })

  describe('composeReference', () => {
    it('runs the methods outermost first and then the last handler, with the values each passes on', async () => {
      const seen: string[] = []
      const run = composeReference<string, string>([
        async (v, next) => { seen.push('1:' + v); return 'r1(' + await next(v + 'a') + ')' },
        async (v, next) => { seen.push('2:' + v); return 'r2(' + await next(v + 'b') + ')' }
      ])
      expect(await run('x', async (v) => { seen.push('last:' + v); return 'end' })).to.equal('r1(r2(end))')
      expect(seen).to.deep.equal(['1:x', '2:xa', 'last:xab'])
    })

    it('rejects a second call of next with the reference\'s "next() called multiple times."', async () => {
      const run = composeReference<string, string>([async (v, next) => { await next(v); return await next(v) }])
      const err = await run('x', async () => 'end').then(() => undefined, (e: Error) => e)
      expect(err?.message).to.equal('next() called multiple times.')
    })

    it('turns a method that throws synchronously into a rejection', async () => {
      const run = composeReference<string, string>([(() => { throw new Error('sync') }) as never])
      const err = await run('x', async () => 'end').then(() => undefined, (e: Error) => e)
      expect(err?.message).to.equal('sync')
    })
  })

  describe('in a connector', () => {
    let app: Connector | undefined
    afterEach(async () => { await app?.shutdown(); app = undefined })

    /** Two accounts, alice -> bob, with bob fulfilling; `Ref` is the reference-style middleware class under test. */
    async function start (Ref: new (options: any, api: any) => unknown, extra: {
      middlewares?: Record<string, { type: string, before?: string, after?: string, options?: Record<string, unknown> }>
      modules?: Record<string, unknown>
      logger?: ReturnType<typeof captureLogger>['logger']
    } = {}): Promise<{ alice: MockPlugin, bob: MockPlugin }> {
      const alice = new MockPlugin()
      const bob = new MockPlugin()
      await bob.connect()
      bob.onSendData = async () => IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('from bob') })
      app = createApp({
        ilpAddress: 'test.conn',
        spread: 0,
        // the required built-ins other than the error handler (standing in below) are not what these tests are about
        disableMiddleware: ['expire', 'validateFulfillment'],
        accounts: { alice: { ...account(), plugin: alice }, bob: { ...account({ assetScale: 9 }), plugin: bob } },
        middlewares: extra.middlewares ?? { ref: { type: 'ref-mw', options: { limit: '1000' } } }
      }, {
        logger: extra.logger ?? silentLogger,
        modules: { '@conn/middleware-error-handler': { default: rejecting }, 'ref-mw': { default: Ref }, ...extra.modules }
      })
      await app.listen()
      return { alice, bob }
    }

    it('gives each data method the serialized Prepare, parses what it passes on, and hands back the reply bytes', async () => {
      const seen: string[] = []
      class Ref {
        constructor (readonly options: { limit: string }) {}
        async applyToPipelines (pipelines: any, accountId: string): Promise<void> {
          pipelines.incomingData.insertLast({
            name: 'limit',
            method: async (data: Buffer, next: (d: Buffer) => Promise<Buffer>) => {
              const packet = IlpPacket.deserializeIlpPrepare(data)
              seen.push(`in:${accountId}:${packet.amount}`)
              if (BigInt(packet.amount) > BigInt(this.options.limit)) {
                throw Object.assign(new Error('too much. amount=' + packet.amount), { ilpErrorCode: 'F03' })
              }
              // pays on half: the middleware may rewrite the packet
              const reply = await next(IlpPacket.serializeIlpPrepare({ ...packet, amount: String(BigInt(packet.amount) / 2n) }))
              seen.push(`reply:${accountId}:${reply[0]}`)
              return reply
            }
          })
          pipelines.outgoingData.insertLast({
            name: 'limit',
            method: async (data: Buffer, next: (d: Buffer) => Promise<Buffer>) => {
              seen.push(`out:${accountId}:${IlpPacket.deserializeIlpPrepare(data).amount}`)
              return await next(data)
            }
          })
        }
      }
      const outside: string[] = []
      const { alice, bob } = await start(Ref, {
        middlewares: { before: { type: 'outside' }, ref: { type: 'ref-mw', options: { limit: '1000' } } },
        modules: {
          outside: {
            default: {
              kind: 'middleware',
              name: 'outside',
              types: TYPES_RANGE,
              create: () => ({ name: 'outside', incomingData: async (ctx, next) => { const reply = await next(ctx); outside.push(String(ctx.prepare.amount)); return reply } })
            } satisfies MiddlewareManifest
          }
        }
      })
      const reply = await alice.receive(prepare('test.conn.bob', '800', CONDITION))
      expect(IlpPacket.deserializeIlpFulfill(reply)).to.deep.equal({ fulfillment: FULFILLMENT, data: Buffer.from('from bob') })
      expect(IlpPacket.deserializeIlpPrepare(bob.sentData[0]!).amount).to.equal('400')
      expect(seen).to.deep.equal(['in:alice:800', 'out:bob:400', 'reply:alice:13'])
      // the middleware before it still sees the Prepare it passed in
      expect(outside).to.deep.equal(['800'])

      const rejected = IlpPacket.deserializeIlpReject(await alice.receive(prepare('test.conn.bob', '1001', CONDITION)))
      expect(rejected).to.deep.include({ code: 'F03', message: 'too much. amount=1001', triggeredBy: 'test.conn' })
      expect(bob.sentData).to.have.length(1)
    })

    it('rejects with F01 when a method passes a malformed packet to next, and never forwards it', async () => {
      class Ref {
        async applyToPipelines (pipelines: any): Promise<void> {
          pipelines.incomingData.insertLast({ name: 'broken', method: async (data: Buffer, next: (d: Buffer) => Promise<Buffer>) => await next(Buffer.concat([data, Buffer.of(0)])) })
        }
      }
      const { alice, bob } = await start(Ref)
      const reject = IlpPacket.deserializeIlpReject(await alice.receive(prepare('test.conn.bob', '10', CONDITION)))
      expect(reject).to.deep.include({ code: 'F01', message: 'packet has trailing bytes after its envelope.' })
      expect(bob.sentData).to.have.length(0)
    })

    it('gives money methods the amount as a string and passes on the amount they give next', async () => {
      const seen: string[] = []
      class Ref {
        async applyToPipelines (pipelines: any, accountId: string): Promise<void> {
          pipelines.incomingMoney.insertLast({ name: 'm', method: async (amount: string, next: (a: string) => Promise<void>) => { seen.push(`in:${accountId}:${amount}`); await next(amount) } })
          pipelines.outgoingMoney.insertLast({ name: 'm', method: async (amount: string, next: (a: string) => Promise<void>) => { seen.push(`out:${accountId}:${amount}`); await next(String(Number(amount) + 1)) } })
        }
      }
      const { alice } = await start(Ref)
      await alice.moneyHandler!('1234')
      await app!.sendMoney('alice', 99n)
      expect(seen).to.deep.equal(['in:alice:1234', 'out:alice:99'])
      expect(alice.sentMoney).to.deep.equal(['100'])
    })

    it('runs the startup pipeline when an account is added and teardown when it is removed', async () => {
      const seen: string[] = []
      class Ref {
        async applyToPipelines (pipelines: any, accountId: string): Promise<void> {
          seen.push(`apply:${accountId}`)
          pipelines.startup.insertLast({ name: 's', method: async (v: undefined, next: (v: undefined) => Promise<void>) => { seen.push(`startup:${accountId}`); await next(v) } })
          pipelines.teardown.insertLast({ name: 's', method: async (v: undefined, next: (v: undefined) => Promise<void>) => { seen.push(`teardown:${accountId}`); await next(v) } })
        }
      }
      await start(Ref)
      expect(seen).to.deep.equal(['apply:alice', 'startup:alice', 'apply:bob', 'startup:bob'])
      seen.length = 0
      await app!.addPlugin('carol', { ...account(), plugin: new MockPlugin() })
      await app!.removePlugin('carol')
      expect(seen).to.deep.equal(['apply:carol', 'startup:carol', 'teardown:carol'])
    })

    it('offers the reference api: getInfo, getOwnAddress, sendData and sendMoney through the outgoing pipelines, stats', async () => {
      let api: any
      const outgoing: string[] = []
      class Ref {
        constructor (_options: unknown, services: unknown) { api = services }
        async applyToPipelines (pipelines: any, accountId: string): Promise<void> {
          pipelines.outgoingData.insertLast({ name: 'o', method: async (data: Buffer, next: (d: Buffer) => Promise<Buffer>) => { outgoing.push(accountId); return await next(data) } })
        }
      }
      const { bob } = await start(Ref)
      expect(api.getInfo('bob')).to.include({ relation: 'child', assetCode: 'USD', assetScale: 9 })
      expect(() => api.getInfo('nobody')).to.throw('unknown account id. accountId=nobody')
      expect(api.getOwnAddress()).to.equal('test.conn')

      const reply = await api.sendData(prepare('test.conn.bob.x', '5', CONDITION), 'bob')
      expect(reply[0]).to.equal(13)
      expect(outgoing).to.deep.equal(['bob'])
      expect(IlpPacket.deserializeIlpPrepare(bob.sentData[0]!).amount).to.equal('5')
      await api.sendMoney('77', 'bob')
      expect(bob.sentMoney).to.deep.equal(['77'])

      const sendErr = await api.sendData(prepare('test.x', '1'), 'nobody').catch((e: unknown) => e)
      expect(sendErr).to.deep.include({ ilpErrorCode: 'F02', message: 'tried to send data to non-existent account. accountId=nobody' })
      const moneyErr = await api.sendMoney('1', 'nobody').catch((e: unknown) => e)
      expect(moneyErr).to.deep.include({ ilpErrorCode: 'F02', message: 'tried to send money to non-existent account. accountId=nobody' })
      const badPacket = await api.sendData(Buffer.from('nonsense'), 'bob').catch((e: unknown) => e)
      expect(badPacket).to.have.property('ilpErrorCode', 'F01')

      api.stats.incomingDataPackets.increment({ accountId: 'bob', accountInfo: api.getInfo('bob') }, { result: 'fulfilled' })
      api.stats.balance.setValue({ accountId: 'bob', accountInfo: api.getInfo('bob') }, {}, -42)
      const text = await app!.metricsExport.text()
      expect(text).to.include('ilp_connector_incoming_ilp_packets{result="fulfilled",account="bob",asset="USD",scale="9"} 1')
      expect(text).to.include('ilp_connector_balance{account="bob",asset="USD",scale="9"} -42')
    })

    it('runs as one block at its configured position (default after the built-ins), whatever the pipeline calls say', async () => {
      const log: string[] = []
      class Ref {
        async applyToPipelines (pipelines: any): Promise<void> {
          pipelines.incomingData.insertFirst({ name: 'first', method: async (d: Buffer, next: (d: Buffer) => Promise<Buffer>) => { log.push('ref:first'); return await next(d) } })
          pipelines.incomingData.insertLast({ name: 'last', method: async (d: Buffer, next: (d: Buffer) => Promise<Buffer>) => { log.push('ref:last'); return await next(d) } })
        }
      }
      const captured = captureLogger('info')
      const { alice } = await start(Ref, {
        middlewares: { c1: { type: 'rec-1' }, c2: { type: 'rec-2' }, ref: { type: 'ref-mw', before: 'c2' } },
        modules: { 'rec-1': { default: recorder('c1', log) }, 'rec-2': { default: recorder('c2', log) } },
        logger: captured.logger
      })
      await alice.receive(prepare('test.conn.bob', '1', CONDITION))
      expect(log).to.deep.equal(['conn:c1', 'ref:first', 'ref:last', 'conn:c2'])
      const warnings = captured.warnings().filter((w) => w.startsWith('middleware ref '))
      expect(warnings).to.deep.equal(['middleware ref (ref-mw) uses insertFirst into incomingData: conn runs ilp-connector middlewares as one block ' +
        'at their configured position (default: after the built-ins); set middlewares.ref.before or middlewares.ref.after to move it'])
    })

    it('fails start-up naming the middleware and account when applyToPipelines throws (insertBefore an unknown name)', async () => {
      class Ref {
        async applyToPipelines (pipelines: any): Promise<void> { pipelines.incomingData.insertBefore('balance', named('x')) }
      }
      const err = await start(Ref).then(() => undefined, (e: Error & { code?: string }) => e)
      expect(err?.code).to.equal('ERR_PACKAGE_LOAD')
      expect(err?.message).to.equal('middleware ref (ref-mw): applyToPipelines failed for account alice: could not insert before middleware; not found. name=balance')
    })
  })

  describe('conformance of the adapter', () => {
    class PassThrough {
      async applyToPipelines (pipelines: any): Promise<void> {
        for (const name of ['incomingData', 'outgoingData']) pipelines[name].insertLast({ name: 'p', method: pass })
        for (const name of ['incomingMoney', 'outgoingMoney']) {
          pipelines[name].insertLast({ name: 'p', method: async (amount: string, next: (a: string) => Promise<void>) => { await next(amount) } })
        }
      }
    }
    const host: ReferenceHost = {
      getAccounts: () => [],
      getOwnAddress: () => 'test.conn',
      middlewareNames: () => [],
      outgoingData: async () => { throw new Error('not used') }
    }
    middlewareConformance(extensionManifest(PassThrough, 'middleware', 'reference-pass-through', host), {
      handlers: ['incomingData', 'outgoingData', 'incomingMoney', 'outgoingMoney']
    })

  })
})
