/**
 * The embedding API end to end (spec/reference.md section 9): createApp with plugin instances or package
 * names, accounts added and removed at run time, shutdown, configuration errors, and custom middleware
 * loaded by package name from the application's own node_modules.
 */
import { connect } from 'node:net'
import { expect } from 'chai'
import { ConfigError } from '@conn/core'
import type { Plugin } from '@conn/types'
import {
  CLI_DIR, FIXTURES_APP_DIR, Harness, fulfillPacket, freePort, waitFor
} from '../helpers/harness.ts'

let h: Harness

const FAST = { spread: 0, minMessageWindow: 200 }

/** Whether something accepts TCP connections on 127.0.0.1:port. */
async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

interface FixtureCall { tag: string, hook: string, account: string, amount?: string, address?: string, result?: string }

/** What conn-fixture-middleware recorded (it keeps its calls on globalThis). */
function fixtureCalls (tag: string): FixtureCall[] {
  const all = (globalThis as Record<symbol, FixtureCall[] | undefined>)[Symbol.for('conn-fixture-middleware.calls')] ?? []
  return all.filter((call) => call.tag === tag)
}

describe('e2e: embedding', function () {
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })
  this.timeout(10000)

  describe('accounts at run time', () => {
    it('addPlugin after listen: carol is paid at test.conn.carol and getPlugin returns her plugin instance', async () => {
      const { app, nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child' } } })
      const listener = await h.listener()
      const carol = h.client('carol', listener.url)
      await Promise.all([
        app.addPlugin('carol', { relation: 'child', plugin: listener.plugin as unknown as Plugin, assetCode: 'XYZ', assetScale: 9 }),
        carol.connect()
      ])
      expect(app.getPlugin('carol')).to.equal(listener.plugin)
      expect(await carol.ildcp()).to.deep.equal({ clientAddress: 'test.conn.carol', assetCode: 'XYZ', assetScale: 9 })
      const reply = await nodes.alice!.pay({ amount: 50, destination: 'test.conn.carol', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      expect(carol.received.map((p) => p.amount)).to.deep.equal([50n])
    })

    it('removePlugin: paying carol then gives F02 "no route found. ..." and getPlugin returns undefined', async () => {
      const { app, nodes } = await h.network({ ...FAST, accounts: { alice: { relation: 'child' }, carol: { relation: 'child' } } })
      expect((await nodes.alice!.pay({ amount: 5, destination: 'test.conn.carol', ...h.condition() })).type).to.equal('fulfill')

      await app.removePlugin('carol')
      expect(app.getPlugin('carol')).to.equal(undefined)
      const reply = await nodes.alice!.pay({ amount: 5, destination: 'test.conn.carol', ...h.condition() })
      expect(reply).to.deep.include({ type: 'reject', code: 'F02', triggeredBy: 'test.conn', message: 'no route found. source=alice destination=test.conn.carol' })
      expect(nodes.carol!.received).to.have.length(1)
    })

    it('shutdown ends the clients\' sessions (client isConnected() false) and closes the listeners\' ports', async () => {
      const { app, nodes, listeners } = await h.network({ ...FAST, accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } } })
      expect(nodes.alice!.isConnected()).to.equal(true)
      expect(await listening(listeners.alice!.port)).to.equal(true)

      await app.shutdown()
      await waitFor('the clients to see their session end', () => !nodes.alice!.isConnected() && !nodes.bob!.isConnected())
      expect(await listening(listeners.alice!.port)).to.equal(false)
      expect(await listening(listeners.bob!.port)).to.equal(false)
    })
  })

  it('loads an account plugin given by package name ("ilp-plugin-btp") from the cli folder', async () => {
    const port = await freePort()
    const dave = h.client('dave', `btp+ws://:s3cret@127.0.0.1:${port}`)
    // The listener only exists once listen() constructed the plugin; the client retries until then.
    const daveConnected = dave.connect()
    const { app, nodes } = await h.network({
      ...FAST,
      accounts: {
        alice: { relation: 'child' },
        dave: { relation: 'child', plugin: 'ilp-plugin-btp', options: { listener: { port, secret: 's3cret', wsOpts: { host: '127.0.0.1', port } } } }
      }
    })
    await daveConnected
    expect(app.getPlugin('dave')?.isConnected()).to.equal(true)
    expect((await dave.ildcp()).clientAddress).to.equal('test.conn.dave')
    const reply = await nodes.alice!.pay({ amount: 21, destination: 'test.conn.dave', ...h.condition() })
    expect(reply.type).to.equal('fulfill')
    expect(dave.received.map((p) => p.amount)).to.deep.equal([21n])
  })

  it('throws ConfigError from createApp listing every bad option by path', () => {
    let thrown: unknown
    try {
      h.connector({
        ilpAddress: 'test.conn',
        spread: 2,
        accounts: {
          x: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 300 },
          y: { relation: 'uncle' as 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 2 }
        }
      })
    } catch (err) {
      thrown = err
    }
    expect(thrown).to.be.instanceOf(ConfigError)
    const paths = (thrown as ConfigError).issues.map((issue) => issue.path)
    expect(paths).to.include.members(['accounts.x.assetScale', 'accounts.y.relation', 'spread'])
    expect((thrown as ConfigError).message).to.contain('accounts.x.assetScale: expected an integer 0..255, got 300')
  })

  describe('custom middleware by package name', () => {
    const resolveFrom = [FIXTURES_APP_DIR, CLI_DIR]

    it('runs it on the packet path: amount 13 is rejected with the T99 its options describe, others pass', async () => {
      const tag = 'reject-13'
      const { nodes } = await h.network({
        ...FAST,
        middlewares: {
          tagger: {
            type: 'conn-fixture-middleware',
            options: { tag, rejectAmount: '13', rejectCode: 'T99', rejectMessage: 'unlucky amount', rejectData: 'thirteen' }
          }
        },
        accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } }
      }, { resolveFrom })
      const rejected = await nodes.alice!.pay({ amount: 13, destination: 'test.conn.bob', ...h.condition() })
      expect(rejected).to.deep.include({ type: 'reject', code: 'T99', triggeredBy: 'test.conn', message: 'unlucky amount' })
      if (rejected.type === 'reject') expect(rejected.data.toString()).to.equal('thirteen')
      expect(nodes.bob!.received).to.have.length(0)

      const passed = await nodes.alice!.pay({ amount: 14, destination: 'test.conn.bob', ...h.condition() })
      expect(passed.type).to.equal('fulfill')
      expect(nodes.bob!.received.map((p) => p.amount)).to.deep.equal([14n])
      expect(fixtureCalls(tag)).to.deep.equal([
        { tag, hook: 'incomingData', account: 'alice', amount: '13', address: 'test.conn' },
        { tag, hook: 'incomingData', account: 'alice', amount: '14', address: 'test.conn' },
        { tag, hook: 'outgoingData', account: 'bob', result: 'fulfill' }
      ])
    })

    /** bob never answers; alice's packet times out in the expire middleware after 1.3 s. */
    async function timeOutThrough (tag: string, placement: { before?: string }): Promise<void> {
      const { nodes } = await h.network({
        ...FAST,
        middlewares: { tagger: { type: 'conn-fixture-middleware', options: { tag }, ...placement } },
        accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } }
      }, { resolveFrom })
      nodes.bob!.handler = nodes.bob!.hold()
      const reply = await nodes.alice!.pay({ amount: 10, destination: 'test.conn.bob', expiresIn: 1500, ...h.condition() }) // 500 ms gave R02 on a loaded machine
      expect(reply).to.deep.include({ type: 'reject', code: 'R00', message: 'packet expired.' })
    }

    it('with before: "expire" it wraps expire and sees expire\'s R00 come back from next', async () => {
      await timeOutThrough('before-expire', { before: 'expire' })
      expect(fixtureCalls('before-expire').filter((c) => c.hook === 'outgoingData'))
        .to.deep.equal([{ tag: 'before-expire', hook: 'outgoingData', account: 'bob', result: 'threw R00' }])
    })

    it('by default it goes after the built-ins, inside expire, so it never sees the R00', async () => {
      await timeOutThrough('last', {})
      expect(fixtureCalls('last').map((c) => c.hook)).to.deep.equal(['incomingData'])
    })

    it('listen() rejects naming the middleware when its package is not installed', async () => {
      const app = h.connector({
        ilpAddress: 'test.conn',
        middlewares: { ghost: { type: 'conn-fixture-not-installed' } },
        accounts: {}
      }, { resolveFrom })
      let thrown: Error | undefined
      await app.listen().catch((err: Error) => { thrown = err })
      expect(thrown, 'listen() rejected').to.be.instanceOf(Error)
      expect(thrown!.message).to.contain('conn-fixture-not-installed')
      expect(thrown!.message).to.match(/\bghost\b/)
    })

    it('disableMiddleware: [validateFulfillment] removes it: a wrong fulfillment reaches alice as a Fulfill', async () => {
      const { nodes } = await h.network({
        ...FAST,
        disableMiddleware: ['validateFulfillment'],
        accounts: { alice: { relation: 'child' }, bob: { relation: 'child' } }
      })
      const wrong = Buffer.alloc(32, 7)
      nodes.bob!.handler = () => fulfillPacket(wrong)
      const reply = await nodes.alice!.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
      if (reply.type === 'fulfill') expect(reply.fulfillment.equals(wrong)).to.equal(true)
    })
  })
})
