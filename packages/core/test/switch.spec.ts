/**
 * The packet path of src/switch.ts on its own: accounts with mock plugins, a routing table, a backend, and no
 * middlewares (so what the switch throws arrives as a rejection, typed, with its code and message; the error
 * handler middleware turns those into Rejects and is tested in its own package). One test per reject it makes.
 */
import { expect } from 'chai'
import sinon from 'sinon'
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import { createHash } from 'node:crypto'
import { pino } from 'pino'
import {
  AmountTooLargeError, BadRequestError, isIlpError, type AccountConfig, type Backend, type IlpError, type Logger,
  type Middleware, type PaymentInfo, type Rate
} from '@conn/types'
import { ConnectorAccount } from '../src/account.ts'
import { buildLocalRoutes, RoutingTable } from '../src/routing.ts'
import { PacketSwitch } from '../src/switch.ts'
import { MockPlugin } from './helpers/mock-plugin.ts'
import { PEER_PROTOCOL_CONDITION } from '@conn/codec'

const OWN = 'test.conn'
const FULFILLMENT = Buffer.alloc(32, 7)
const CONDITION = createHash('sha256').update(FULFILLMENT).digest()

interface Setup {
  sw: PacketSwitch
  accounts: Map<string, ConnectorAccount>
  plugins: Record<string, MockPlugin>
  table: RoutingTable
  payments: PaymentInfo[]
  logLines: Array<{ level: number, msg: string }>
  logger: Logger
}

function setup (options: {
  rate?: Rate | (() => Rate | Promise<Rate>)
  reflectPayments?: boolean
  accounts?: Record<string, Partial<AccountConfig>>
  middlewares?: Middleware[]
  submitPayment?: boolean
  maxPacketsInFlight?: number
} = {}): Setup {
  const accountConfigs = options.accounts ?? { alice: { relation: 'child' }, bob: { relation: 'child' } }
  const accounts = new Map<string, ConnectorAccount>()
  const plugins: Record<string, MockPlugin> = {}
  for (const [id, fields] of Object.entries(accountConfigs)) {
    const plugin = plugins[id] = new MockPlugin()
    plugin.connected = true
    accounts.set(id, new ConnectorAccount(id, { relation: 'child', assetCode: 'USD', assetScale: 9, plugin, ...fields } as AccountConfig, plugin, undefined))
  }
  const table = new RoutingTable((id) => accounts.get(id)?.relation)
  table.setLocalRoutes(buildLocalRoutes({ ownAddress: OWN, globalPrefix: 'test', defaultRoute: 'auto', accounts: accounts.values() }))
  table.recomputeAll()
  const payments: PaymentInfo[] = []
  const rate = options.rate ?? 1
  const backend: Backend = {
    getRate: () => typeof rate === 'function' ? rate() : rate,
    ...(options.submitPayment === true ? { submitPayment: async (p: PaymentInfo) => { payments.push(p) } } : {})
  }
  const logLines: Setup['logLines'] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { logLines.push(JSON.parse(line)) } }) as unknown as Logger
  const sw = new PacketSwitch({
    settings: { minMessageWindow: 1000, maxHoldTime: 30000, reflectPayments: options.reflectPayments ?? true, maxPacketsInFlight: options.maxPacketsInFlight ?? 10000 },
    routingTable: table,
    getAccount: (id) => accounts.get(id),
    getOwnAddress: () => OWN,
    backend: () => backend,
    logger
  })
  sw.compose(options.middlewares ?? [])
  return { sw, accounts, plugins, table, payments, logLines, logger }
}

function prepare (fields: { destination: string, amount?: string, expiresIn?: number, condition?: Buffer, data?: Buffer } = { destination: 'test.conn.bob' }): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount: fields.amount ?? '100',
    destination: fields.destination,
    executionCondition: fields.condition ?? CONDITION,
    expiresAt: new Date(Date.now() + (fields.expiresIn ?? 10000)),
    data: fields.data ?? Buffer.from('hello')
  })
}

const fulfill = (): Buffer => IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('paid') })

/** What a packet from `from` came to: the reply bytes, or the error the switch threw. */
async function send (s: Setup, from: string, packet: Buffer): Promise<Buffer | IlpError | Error> {
  try {
    return await s.sw.handleData(s.accounts.get(from)!, packet)
  } catch (err) {
    return err as Error
  }
}

function expectIlpError (result: unknown, code: string, message: string | RegExp): IlpError {
  expect(isIlpError(result), `expected an ILP error, got ${String(result)}`).to.equal(true)
  const err = result as IlpError
  expect(err.ilpErrorCode).to.equal(code)
  if (typeof message === 'string') expect(err.message).to.equal(message)
  else expect(err.message).to.match(message)
  return err
}

describe('switch', () => {
  afterEach(() => sinon.restore())

  describe('forwarding', () => {
    it('sends the next hop the converted amount and the shortened expiry, the rest byte for byte, and returns its reply', async () => {
      const s = setup({ rate: { numerator: 3n, denominator: 2n } })
      s.plugins.bob!.onSendData = async () => fulfill()
      const now = Date.now()
      const reply = await send(s, 'alice', prepare({ destination: 'test.conn.bob', amount: '101', expiresIn: 10000, data: Buffer.from('stream data') }))
      expect(Buffer.isBuffer(reply) && reply.equals(fulfill())).to.equal(true)
      const sent = IlpPacket.deserializeIlpPrepare(s.plugins.bob!.sentData[0]!)
      expect(sent.amount).to.equal('151') // floor(101 * 3 / 2)
      expect(sent.destination).to.equal('test.conn.bob')
      expect(sent.data.toString()).to.equal('stream data')
      expect(sent.executionCondition.equals(CONDITION)).to.equal(true)
      // incoming expiry minus minMessageWindow (1 s)
      expect(sent.expiresAt.getTime()).to.be.within(now + 9000 - 50, now + 9000 + 50)
    })

    it('holds the outgoing packet no longer than maxHoldTime from now', async () => {
      const s = setup()
      s.plugins.bob!.onSendData = async () => fulfill()
      const now = Date.now()
      await send(s, 'alice', prepare({ destination: 'test.conn.bob', expiresIn: 120000 }))
      const sent = IlpPacket.deserializeIlpPrepare(s.plugins.bob!.sentData[0]!)
      expect(sent.expiresAt.getTime()).to.be.within(now + 30000 - 50, now + 30000 + 50)
    })

    it('relays a Reject from the next hop unchanged, and tells the backend only of fulfilled payments', async () => {
      const s = setup({ submitPayment: true })
      const rejected = IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'no thanks', data: Buffer.from('x') })
      s.plugins.bob!.onSendData = async () => rejected
      const reply = await send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      expect(Buffer.isBuffer(reply) && reply.equals(rejected)).to.equal(true)
      expect(s.payments).to.deep.equal([])
      s.plugins.bob!.onSendData = async () => fulfill()
      await send(s, 'alice', prepare({ destination: 'test.conn.bob', amount: '70' }))
      await new Promise((resolve) => setImmediate(resolve))
      expect(s.payments).to.deep.equal([{ sourceAccount: 'alice', sourceAmount: '70', destinationAccount: 'bob', destinationAmount: '70' }])
    })

    it('runs the middlewares: incoming around the switch, the next hop\'s outgoing around its plugin', async () => {
      const seen: string[] = []
      const recorder: Middleware = {
        name: 'recorder',
        incomingData: async (ctx, next) => { seen.push(`in:${ctx.account.id}`); return await next(ctx) },
        outgoingData: async (ctx, next) => { seen.push(`out:${ctx.account.id}:${ctx.incoming!.account.id}`); return await next(ctx) }
      }
      const s = setup({ middlewares: [recorder] })
      s.plugins.bob!.onSendData = async () => fulfill()
      await send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      expect(seen).to.deep.equal(['in:alice', 'out:bob:alice'])
    })

    it('logs each forwarded packet at debug once the level is raised at run time', async () => {
      const s = setup()
      s.plugins.bob!.onSendData = async () => fulfill()
      await send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      expect(s.logLines.filter((l) => l.msg === 'forwarding')).to.have.length(0)
      ;(s.logger as unknown as { level: string }).level = 'debug'
      await send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      expect(s.logLines.filter((l) => l.msg === 'forwarding')).to.have.length(1)
    })
  })

  describe('rejects', () => {
    it('F01 for bytes that are not a valid Prepare, as a Reject packet from us, never forwarded', async () => {
      const s = setup()
      const bytes = prepare({ destination: 'test.conn.bob' }).subarray(0, 30)
      const reply = await send(s, 'alice', bytes)
      const reject = IlpPacket.deserializeIlpReject(reply as Buffer)
      expect(reject).to.include({ code: 'F01', triggeredBy: OWN })
      expect(s.plugins.bob!.sentData).to.have.length(0)
    })

    it('F01 "missing destination." when a middleware hands the switch a Prepare without one', async () => {
      const blank: Middleware = { name: 'blank', incomingData: async (ctx, next) => await next({ ...ctx, prepare: { ...ctx.prepare, destination: '' } }) }
      expectIlpError(await send(setup({ middlewares: [blank] }), 'alice', prepare({ destination: 'test.conn.bob' })), 'F01', 'missing destination.')
    })

    it('F01 for a peer protocol request without the peer protocol condition', async () => {
      expectIlpError(await send(setup(), 'alice', prepare({ destination: 'peer.config', amount: '0' })), 'F01', 'condition must be peer protocol condition.')
    })

    it('F01 for a peer protocol nobody handles', async () => {
      const s = setup()
      expectIlpError(await send(s, 'alice', prepare({ destination: 'peer.nope', amount: '0', condition: PEER_PROTOCOL_CONDITION })), 'F01', 'unknown peer protocol.')
    })

    it('F01 for a peer protocol request (peer.config, peer.route.*) with an amount: no handler sees it, nothing is credited', async () => {
      const s = setup()
      const answered: string[] = []
      s.sw.peerProtocols.set('peer.route', async (ctx) => { answered.push(ctx.prepare.destination); return fulfill() })
      // a stand-in for the balance middleware: credits the incoming amount when the reply is a Fulfill
      let credited = 0n
      const balance: Middleware = {
        name: 'balance',
        incomingData: async (ctx, next) => {
          const reply = await next(ctx)
          if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) credited += ctx.prepare.amount
          return reply
        }
      }
      s.sw.compose([balance])
      for (const destination of ['peer.config', 'peer.route.control', 'peer.route.update']) {
        expectIlpError(await send(s, 'alice', prepare({ destination, amount: '1000', condition: PEER_PROTOCOL_CONDITION })),
          'F01', 'peer protocol request must have amount 0. amount=1000')
      }
      expect(answered).to.deep.equal([])
      expect(credited).to.equal(0n)
      // the same requests with amount 0 go through
      await send(s, 'alice', prepare({ destination: 'peer.route.control', amount: '0', condition: PEER_PROTOCOL_CONDITION }))
      expect(answered).to.deep.equal(['peer.route.control'])
    })

    it('hands registered peer protocols their requests (peer.route and peer.route.*)', async () => {
      const s = setup()
      const answered: string[] = []
      s.sw.peerProtocols.set('peer.route', async (ctx) => { answered.push(ctx.prepare.destination); return fulfill() })
      await send(s, 'alice', prepare({ destination: 'peer.route.control', amount: '0', condition: PEER_PROTOCOL_CONDITION }))
      expect(answered).to.deep.equal(['peer.route.control'])
    })

    it('answers ILDCP for a child with its address and asset, and F00 for any other relation', async () => {
      const s = setup({ accounts: { kid: { relation: 'child', assetCode: 'EUR', assetScale: 6 }, up: { relation: 'parent' } } })
      const request = Ildcp.serializeIldcpRequest({ expiresAt: new Date(Date.now() + 10000) })
      const info = Ildcp.deserializeIldcpResponse(await send(s, 'kid', request) as Buffer)
      expect(info).to.deep.equal({ clientAddress: 'test.conn.kid', assetScale: 6, assetCode: 'EUR' })
      expectIlpError(await send(s, 'up', request), 'F00', "Can't generate child address for account that is isn't a child")
    })

    it('F02 when no route matches the destination', async () => {
      expectIlpError(await send(setup(), 'alice', prepare({ destination: 'test.elsewhere.x' })), 'F02', 'no route found. source=alice destination=test.elsewhere.x')
    })

    it('F02 for our own address with no account under it', async () => {
      expectIlpError(await send(setup(), 'alice', prepare({ destination: 'test.conn.nobody' })), 'F02', 'no route found. source=alice destination=test.conn.nobody')
    })

    it('F02 for a packet routed back to its sender when reflectPayments is false; forwarded when true', async () => {
      const off = setup({ reflectPayments: false })
      expectIlpError(await send(off, 'alice', prepare({ destination: 'test.conn.alice' })), 'F02',
        'refusing to route payments back to sender. sourceAccount=alice destinationAccount=alice')
      const on = setup()
      on.plugins.alice!.onSendData = async () => fulfill()
      expect(Buffer.isBuffer(await send(on, 'alice', prepare({ destination: 'test.conn.alice' })))).to.equal(true)
    })

    it('passes on a typed error of the backend (no rate) unchanged, and sends nothing', async () => {
      const s = setup({ rate: () => { throw new BadRequestError('no rate available. currency=XYZ') } })
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'F00', 'no rate available. currency=XYZ')
      expect(s.plugins.bob!.sentData).to.have.length(0)
    })

    it('T01 when the next hop is not connected', async () => {
      const s = setup()
      s.plugins.bob!.connected = false
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'T01', 'no connection to account. account=bob')
    })

    it('F08 with the largest amount that still converts when the converted amount exceeds UInt64', async () => {
      const s = setup({ rate: { numerator: 4n, denominator: 1n } })
      const err = expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob', amount: '18446744073709551615' })), 'F08',
        /^packet size too large\. maxAmount=4611686018427387903 actualAmount=18446744073709551615$/)
      expect(err).to.be.instanceOf(AmountTooLargeError)
      const data = err.data
      expect(data.readBigUInt64BE(0)).to.equal(18446744073709551615n)
      expect(data.readBigUInt64BE(8)).to.equal(4611686018427387903n)
    })

    it('R02 when the packet has expired, and when too little time is left to forward it', async () => {
      const s = setup()
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob', expiresIn: -10 })), 'R02', /^source transfer has already expired\./)
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob', expiresIn: 1500 })), 'R02', /^source transfer expires too soon to complete payment\./)
      expect(s.plugins.bob!.sentData).to.have.length(0)
    })

    it('F02 when the next hop answers with bytes that are neither Fulfill nor Reject', async () => {
      const s = setup()
      s.plugins.bob!.onSendData = async () => Buffer.from([12, 1, 0])
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'F02',
        'failed to send packet: next hop answered with an invalid reply. account=bob')
    })

    it('F02 when the next hop answers with a Fulfill or Reject whose contents do not parse (found by fuzzing): not passed upstream', async () => {
      const s = setup()
      const badTriggeredBy = IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.conn.bob', message: 'no', data: Buffer.alloc(0) })
      badTriggeredBy[badTriggeredBy.indexOf('bob')] = 0xe2 // 'b' | 0x80: not an address
      const shortFulfill = Buffer.from([13, 3, 1, 2, 0]) // a canonical envelope, but a 2-byte fulfillment
      for (const reply of [badTriggeredBy, shortFulfill]) {
        s.plugins.bob!.onSendData = async () => reply
        expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'F02',
          'failed to send packet: next hop answered with an invalid reply. account=bob')
      }
    })

    it('keeps a typed ILP error of the next hop\'s plugin, and leaves any other failure untyped (the error handler makes it T00)', async () => {
      const s = setup()
      s.plugins.bob!.onSendData = async () => { throw new BadRequestError('plugin says no') }
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'F00', 'plugin says no')
      s.plugins.bob!.onSendData = async () => { throw new Error('socket hang up') }
      const result = await send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      expect(isIlpError(result)).to.equal(false)
      expect((result as Error).message).to.equal('failed to send packet: socket hang up (account bob)')
    })
  })

  describe('packets in flight', () => {
    /** A next hop that answers only when told. */
    function holding (plugin: MockPlugin): Array<() => void> {
      const release: Array<() => void> = []
      plugin.onSendData = async () => await new Promise<Buffer>((resolve) => release.push(() => resolve(fulfill())))
      return release
    }

    it('counts them until answered, and T03s an account over its maxPacketsInFlight (its own option wins)', async () => {
      const s = setup({ maxPacketsInFlight: 2, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' }, carol: { relation: 'child', maxPacketsInFlight: 3 } } })
      const release = holding(s.plugins.bob!)
      const first = [send(s, 'alice', prepare({ destination: 'test.conn.bob' })), send(s, 'alice', prepare({ destination: 'test.conn.bob' }))]
      await new Promise((resolve) => setImmediate(resolve))
      expect(s.sw.packetsInFlight).to.equal(2)
      const over = IlpPacket.deserializeIlpReject(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })) as Buffer)
      expect(over).to.include({ code: 'T03', triggeredBy: OWN, message: 'too many packets in flight from this account. account=alice maximum=2' })
      // another account has its own count, and carol her own maximum
      const fromCarol = [1, 2, 3].map(async () => await send(s, 'carol', prepare({ destination: 'test.conn.bob' })))
      await new Promise((resolve) => setImmediate(resolve))
      expect(s.sw.packetsInFlight).to.equal(5)
      for (const r of release.splice(0)) r()
      await Promise.all([...first, ...fromCarol])
      expect(s.sw.packetsInFlight).to.equal(0)
      s.plugins.bob!.onSendData = async () => fulfill()
      expect((await send(s, 'alice', prepare({ destination: 'test.conn.bob' })) as Buffer)[0]).to.equal(13)
    })

    it('drains: new Prepares get T03 at once, the ones in flight are answered, and drain() resolves when the last is', async () => {
      const s = setup()
      const release = holding(s.plugins.bob!)
      const inFlight = send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      await new Promise((resolve) => setImmediate(resolve))
      let drained: boolean | undefined
      const draining = s.sw.drain(10000).then((all) => { drained = all })
      const late = IlpPacket.deserializeIlpReject(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })) as Buffer)
      expect(late).to.include({ code: 'T03', message: 'connector is shutting down.' })
      await new Promise((resolve) => setImmediate(resolve))
      expect(drained).to.equal(undefined)
      release[0]!()
      expect(Buffer.isBuffer(await inFlight) && (await inFlight as Buffer)[0]).to.equal(13)
      await draining
      expect(drained).to.equal(true)
      expect(s.plugins.bob!.sentData).to.have.length(1)
    })

    it('drain() gives up after its timeout with packets still in flight', async () => {
      const s = setup()
      holding(s.plugins.bob!)
      void send(s, 'alice', prepare({ destination: 'test.conn.bob' }))
      await new Promise((resolve) => setImmediate(resolve))
      expect(await s.sw.drain(30)).to.equal(false)
      expect(s.sw.packetsInFlight).to.equal(1)
    })

    it('T01 for packets in flight to a next hop whose link drops (its plugin fails them), at once', async () => {
      const s = setup()
      s.plugins.bob!.onSendData = async () => {
        s.plugins.bob!.connected = false
        throw new Error('BTP connection closed before request 7 was answered')
      }
      expectIlpError(await send(s, 'alice', prepare({ destination: 'test.conn.bob' })), 'T01', 'no connection to account. account=bob')
    })
  })

  describe('money', () => {
    it('takes incoming money through the incoming money pipeline, and sends money through the outgoing one', async () => {
      const seen: string[] = []
      const s = setup({
        middlewares: [{
          name: 'm',
          incomingMoney: async (ctx, next) => { seen.push(`in:${ctx.account.id}:${ctx.amount}`); await next(ctx) },
          outgoingMoney: async (ctx, next) => { seen.push(`out:${ctx.account.id}:${ctx.amount}`); await next(ctx) }
        }]
      })
      await s.sw.handleMoney(s.accounts.get('alice')!, '250')
      await s.sw.sendMoney(s.accounts.get('bob')!, 75n)
      expect(seen).to.deep.equal(['in:alice:250', 'out:bob:75'])
      expect(s.plugins.bob!.sentMoney).to.deep.equal(['75'])
    })

    it('refuses an amount from a plugin that is not a UInt64 decimal string', async () => {
      const s = setup()
      for (const amount of ['-1', '1.5', 'abc', '']) {
        let error: Error | undefined
        await s.sw.handleMoney(s.accounts.get('alice')!, amount).catch((err: Error) => { error = err })
        expect(error?.message, amount).to.equal(`invalid amount from plugin. account=alice amount=${amount}`)
      }
    })
  })
})
