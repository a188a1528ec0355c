import { expect } from 'chai'
import { createHash } from 'node:crypto'
import * as IlpPacket from 'ilp-packet'
import type { AccountConfig, Plugin } from '@conn/types'
import { createApp, type Connector } from '../../src/index.ts'
import { MockPlugin } from '../helpers/mock-plugin.ts'
import { captureLogger, silentLogger } from '../helpers/logger.ts'

const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

function child (plugin: Plugin, extra: Partial<AccountConfig> = {}): AccountConfig {
  return { relation: 'child', plugin, assetCode: 'USD', assetScale: 9, ...extra }
}

function prepare (amount: string): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount, destination: 'test.conn.bob.x', executionCondition: CONDITION, expiresAt: new Date(Date.now() + 5000), data: Buffer.from('d')
  })
}

/** What a backend written for ilp-connector was constructed with and called with. */
interface Seen { options?: Record<string, unknown>, api?: any, calls: unknown[] }

function referenceBackend (seen: Seen, rate: unknown, withSubmitPacket: boolean): new (options: any, api: any) => unknown {
  class Backend {
    constructor (options: Record<string, unknown>, api: unknown) { seen.options = options; seen.api = api }
    async connect (): Promise<void> { seen.calls.push('connect') }
    async getRate (source: string, destination: string): Promise<unknown> { seen.calls.push(`rate ${source}->${destination}`); return rate }
    async submitPayment (payment: unknown): Promise<void> { seen.calls.push({ payment }) }
  }
  if (!withSubmitPacket) return Backend
  return class extends Backend {
    async submitPacket (packet: unknown): Promise<void> { seen.calls.push({ packet }) }
  }
}

describe('compat: reference backend', () => {
  let app: Connector | undefined
  afterEach(async () => { await app?.shutdown(); app = undefined })

  async function start (Backend: new (options: any, api: any) => unknown, bobAnswers: 'fulfill' | 'reject', logger = silentLogger): Promise<{ alice: MockPlugin, bob: MockPlugin }> {
    const alice = new MockPlugin()
    const bob = new MockPlugin()
    await bob.connect()
    bob.onSendData = async () => bobAnswers === 'fulfill'
      ? IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) })
      : IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'no', data: Buffer.alloc(0) })
    app = createApp({
      ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], backend: 'ref-backend', spread: 0.01, backendConfig: { rate: 3, currency: 'EUR' },
      accounts: { alice: child(alice), bob: child(bob, { assetCode: 'EUR', assetScale: 6 }) }
    }, { logger, modules: { 'ref-backend': { default: Backend } } })
    await app.listen()
    return { alice, bob }
  }

  async function settled (): Promise<void> { await new Promise((resolve) => setImmediate(resolve)) }

  it('is constructed with { spread, ...backendConfig } and the reference api, connected once, and its number rate converts the amount', async () => {
    const seen: Seen = { calls: [] }
    const { alice, bob } = await start(referenceBackend(seen, 2.97, false), 'fulfill')
    expect(seen.options).to.deep.equal({ spread: 0.01, rate: 3, currency: 'EUR' })
    expect(seen.api.getInfo('bob')).to.include({ assetCode: 'EUR', assetScale: 6 })
    expect(seen.api.getInfo('nobody')).to.equal(undefined)
    expect(seen.api.accounts.getAccountIds()).to.deep.equal(['alice', 'bob'])
    expect(seen.api.accounts.exists('bob')).to.equal(true)
    expect(seen.api.accounts.exists('nobody')).to.equal(false)
    expect(seen.api.accounts.getAssetCode('bob')).to.equal('EUR')
    expect(seen.api.accounts.getInfo('alice')).to.include({ relation: 'child', assetCode: 'USD' })
    expect(() => seen.api.accounts.getInfo('nobody')).to.throw('unknown account id. accountId=nobody')
    expect(seen.api.accounts.getOwnAddress()).to.equal('test.conn')
    expect(seen.api.accounts.getPlugin('bob')).to.equal(bob)

    const reply = await alice.receive(prepare('1000'))
    expect(reply[0]).to.equal(13)
    expect(IlpPacket.deserializeIlpPrepare(bob.sentData[0]!).amount).to.equal('2970')
    await settled()
    expect(seen.calls).to.deep.equal([
      'connect',
      'rate alice->bob',
      { payment: { sourceAccount: 'alice', sourceAmount: '1000', destinationAccount: 'bob', destinationAmount: '2970' } }
    ])
  })

  it('calls submitPacket with every forwarded result (parsed incoming packet and reply), before submitPayment on a fulfill', async () => {
    const seen: Seen = { calls: [] }
    const { alice } = await start(referenceBackend(seen, 0.5, true), 'reject')
    const reply = await alice.receive(prepare('101'))
    await settled()
    const packets = seen.calls.filter((c): c is { packet: any } => typeof c === 'object' && c !== null && 'packet' in c)
    expect(packets).to.have.length(1)
    const { packet } = packets[0]!
    expect(packet).to.deep.include({ sourceAccount: 'alice', sourceAmount: '101', destinationAccount: 'bob', destinationAmount: '50' })
    expect(packet.result.equals(reply)).to.equal(true)
    expect(packet.parsedPacket).to.deep.include({ amount: '101', destination: 'test.conn.bob.x', executionCondition: CONDITION, data: Buffer.from('d') })
    expect(packet.parsedPacket.expiresAt).to.be.instanceOf(Date)
    expect(seen.calls.some((c) => typeof c === 'object' && c !== null && 'payment' in c)).to.equal(false)

    await app!.shutdown()
    const seen2: Seen = { calls: [] }
    const started = await start(referenceBackend(seen2, 0.5, true), 'fulfill')
    await started.alice.receive(prepare('10'))
    await settled()
    expect(seen2.calls.slice(2).map((c) => Object.keys(c as object)[0])).to.deep.equal(['packet', 'payment'])
  })

  it('reads a rate given as a decimal string (or a BigNumber) exactly', async () => {
    const seen: Seen = { calls: [] }
    const { alice, bob } = await start(referenceBackend(seen, { toString: () => '0.000123456789' }, false), 'fulfill')
    await alice.receive(prepare('1000000000000'))
    expect(IlpPacket.deserializeIlpPrepare(bob.sentData[0]!).amount).to.equal('123456789')
  })

  it('logs a failing submitPacket at warn and still answers the packet', async () => {
    const seen: Seen = { calls: [] }
    class Failing extends (referenceBackend(seen, 1, false) as new (o: any, a: any) => object) {
      async submitPacket (): Promise<void> { throw new Error('ledger down') }
    }
    const captured = captureLogger('info')
    const { alice } = await start(Failing, 'fulfill', captured.logger)
    expect((await alice.receive(prepare('5')))[0]).to.equal(13)
    await settled()
    expect(captured.warnings()).to.include('backend failed to record a packet (submitPacket)')
  })

  it('refuses, at start, a class whose instances have no getRate, naming both forms', async () => {
    class NotABackend { async connect (): Promise<void> {} }
    app = createApp({ ilpAddress: 'test.conn', disableMiddleware: ['errorHandler', 'expire', 'validateFulfillment'], backend: 'not-a-backend', accounts: {} },
      { logger: silentLogger, modules: { 'not-a-backend': { default: NotABackend } } })
    const err = await app.listen().then(() => undefined, (e: Error) => e)
    expect(err?.message).to.equal('package "not-a-backend" exports a class whose instances have no getRate method: expected a conn backend manifest ' +
      '({ kind, name, types, create }) or an ilp-connector backend class (new Backend(options, api); connect(), getRate(source, destination), submitPayment(payment))')
  })
})
