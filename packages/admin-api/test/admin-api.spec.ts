import { expect } from 'chai'
import sinon from 'sinon'
import { request } from 'node:http'
import { fakePlugin } from '@conn/testkit'
import { InsufficientLiquidityError, TYPES_RANGE, type HttpMount } from '@conn/types'
import manifest, { AdminApi, AdminRoutes, isLoopback, rateToNumber, type AdminApiOptions } from '../src/index.ts'
import {
  METRICS_CONTENT_TYPE, METRICS_JSON, METRICS_TEXT, fakeAlertMiddleware, fakeBalanceMiddleware, fakeConnector, fakeSettlementMiddleware,
  type FakeConnector
} from './fake-connector.ts'

interface Answer { status: number, type: string | null, text: string, json: () => any, headers: Headers }

describe('admin-api', () => {
  let connector: FakeConnector
  let api: AdminApi | undefined

  beforeEach(() => {
    connector = fakeConnector()
    connector.add({ id: 'alice', relation: 'child', assetCode: 'USD', assetScale: 9, config: { balance: { maximum: '1000' }, options: { secret: 's3cret' } } })
    connector.add({ id: 'bob', relation: 'peer', assetCode: 'EUR', assetScale: 6, config: { balance: { minimum: '-500', maximum: 'Infinity' } } })
  })
  afterEach(async () => {
    await api?.stop()
    api = undefined
  })

  async function start (options: AdminApiOptions = {}): Promise<AdminApi> {
    api = new AdminApi(connector, options)
    await api.start()
    return api
  }

  async function call (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    if (api === undefined) await start()
    const res = await fetch(api!.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, type: res.headers.get('content-type'), text, json: () => JSON.parse(text), headers: res.headers }
  }

  describe('manifest', () => {
    it('is an extension manifest named adminApi for the installed types range whose create() returns an AdminApi', async () => {
      expect(manifest).to.include({ kind: 'extension', name: 'adminApi', types: TYPES_RANGE })
      expect(await manifest.create({}, connector)).to.be.instanceOf(AdminApi)
    })
  })

  describe('server', () => {
    it('listens on a free port when adminApiPort is 0, exposes it as `port` and logs it at info', async () => {
      const admin = await start()
      expect(admin.port).to.be.a('number').above(0)
      expect(admin.url).to.equal(`http://127.0.0.1:${admin.port}`)
      const listening = connector.logger.at('info').find((r) => r.msg === 'admin API listening')
      expect(listening?.obj).to.deep.equal({ host: '127.0.0.1', port: admin.port, token: false })
    })

    it('port throws before start() and after stop(); requests after stop() fail to connect', async () => {
      const admin = new AdminApi(connector)
      expect(() => admin.port).to.throw('the admin API is not listening')
      await admin.start()
      const url = admin.url
      expect((await fetch(url + '/status')).status).to.equal(200) // leaves a keep-alive connection open
      await admin.stop()
      expect(() => admin.port).to.throw('the admin API is not listening')
      const error = await fetch(url + '/status').then(() => undefined, (err: Error) => err)
      expect(error).to.be.instanceOf(TypeError)
    })

    it('fails to start with the host and port in the message when the port is taken', async () => {
      const first = await start()
      const second = new AdminApi(connector, { port: first.port })
      const error = await second.start().then(() => undefined, (err: Error) => err)
      expect(error?.message).to.match(new RegExp(`^admin API cannot listen on 127\\.0\\.0\\.1:${first.port}: .*EADDRINUSE`))
    })

    it('answers 404 "Not Found" for an unknown path or a known path with another method', async () => {
      for (const [method, path] of [['GET', '/nope'], ['PUT', '/status'], ['POST', '/status'], ['GET', '/status/x'], ['GET', '/addAccount']] as const) {
        const res = await call(method, path)
        expect([method, path, res.status, res.text]).to.deep.equal([method, path, 404, 'Not Found'])
      }
    })

    it('ignores the query string', async () => {
      expect((await call('GET', '/status?x=1')).status).to.equal(200)
    })

    it('answers 400 with the parse error for a body that is not JSON', async () => {
      const res = await call('POST', '/balance', '{"accountId": ')
      expect(res.status).to.equal(400)
      expect(res.type).to.equal('text/plain; charset=utf-8')
      expect(res.text).to.match(/^Error: invalid JSON body: /)
    })

    it('answers 413 for a body over the limit (by Content-Length or as it streams) and runs no handler', async () => {
      connector.middlewares.set('balance', fakeBalanceMiddleware())
      await start({ bodyLimit: 100 })
      const big = JSON.stringify({ accountId: 'alice', amountDiff: '1', pad: 'x'.repeat(200) })
      const res = await call('POST', '/balance', big)
      expect([res.status, res.text]).to.deep.equal([413, 'Error: request body too large. limit=100 bytes'])

      const chunked = await new Promise<{ status: number | undefined, text: string }>((resolve, reject) => {
        const req = request(api!.url + '/balance', { method: 'POST' }, (response) => {
          let text = ''
          response.on('data', (chunk: Buffer) => { text += chunk.toString() })
          response.on('end', () => resolve({ status: response.statusCode, text }))
        })
        req.on('error', reject)
        req.write('x'.repeat(80))
        req.end('x'.repeat(80)) // no Content-Length: chunked
      })
      expect(chunked).to.deep.equal({ status: 413, text: 'Error: request body too large. limit=100 bytes' })
      expect((connector.getMiddleware('balance') as ReturnType<typeof fakeBalanceMiddleware>).adjustBalance.called).to.equal(false)
    })

    it('answers a handler error with 500 and "Error: <message>", logged at warn', async () => {
      connector.metricsExport.json = async () => { throw new Error('registry exploded') }
      const res = await call('GET', '/stats')
      expect([res.status, res.text]).to.deep.equal([500, 'Error: registry exploded'])
      expect(connector.logger.at('warn').map((r) => r.msg)).to.deep.equal(['error in admin API request handler'])
    })

    it('uses the httpErrorCode of an error that has one, as the reference does', async () => {
      connector.metricsExport.json = async () => { throw Object.assign(new Error('busy'), { httpErrorCode: 503 }) }
      expect((await call('GET', '/stats')).status).to.equal(503)
    })

    it('logs requests at debug only', async () => {
      await call('GET', '/status')
      await call('GET', '/nope')
      await call('POST', '/balance', {})
      expect(connector.logger.records.filter((r) => r.level !== 'debug').map((r) => r.msg)).to.deep.equal(['admin API listening'])
      expect(connector.logger.at('debug').map((r) => [r.obj.method, r.obj.path, r.obj.status])).to.deep.equal([
        ['GET', '/status', 200], ['GET', '/nope', 404], ['POST', '/balance', 400]
      ])
    })
  })

  describe('bearer token', () => {
    beforeEach(async () => { await start({ token: 'tok-123' }) })

    it('answers 401 with WWW-Authenticate on every route, known or not, without a token', async () => {
      for (const [method, path] of [['GET', '/status'], ['GET', '/metrics'], ['POST', '/addAccount'], ['GET', '/nope']] as const) {
        const res = await call(method, path)
        expect([path, res.status, res.text]).to.deep.equal([path, 401, 'Unauthorized'])
        expect(res.headers.get('www-authenticate')).to.equal('Bearer realm="conn admin API"')
      }
      expect(connector.addPlugin.called).to.equal(false)
    })

    it('answers 401 for a wrong token, another scheme, or the token as a prefix', async () => {
      for (const authorization of ['Bearer tok-12', 'Bearer tok-1234', 'Basic tok-123', 'tok-123', 'Bearer ']) {
        expect([authorization, (await call('GET', '/status', undefined, { authorization })).status]).to.deep.equal([authorization, 401])
      }
    })

    it('serves the request with the right token ("Bearer" in any case)', async () => {
      expect((await call('GET', '/status', undefined, { authorization: 'Bearer tok-123' })).status).to.equal(200)
      expect((await call('GET', '/nope', undefined, { authorization: 'bearer tok-123' })).status).to.equal(404)
      expect(connector.logger.at('info').find((r) => r.msg === 'admin API listening')?.obj.token).to.equal(true)
    })

    it('takes the token from adminApiToken', async () => {
      await api!.stop()
      connector = fakeConnector({ adminApiToken: 'from-config' })
      await start()
      expect((await call('GET', '/status')).status).to.equal(401)
      expect((await call('GET', '/status', undefined, { authorization: 'Bearer from-config' })).status).to.equal(200)
    })
  })

  describe('mounts (the console)', () => {
    /** A mount that answers with what it was given. */
    function echoMount (): HttpMount & { calls: Array<{ method: string, url: string, admin: boolean }> } {
      const calls: Array<{ method: string, url: string, admin: boolean }> = []
      return {
        prefix: '/console',
        calls,
        handle: (req, res, access) => {
          calls.push({ method: req.method!, url: req.url!, admin: access.admin })
          res.setHeader('Content-Type', 'application/json')
          res.end(JSON.stringify({ admin: access.admin }))
        }
      }
    }

    it('hands every request for the prefix to the mount, token or not, with whether it carried the token', async () => {
      const mount = echoMount()
      await start({ token: 'tok-123', mounts: [mount] })
      expect((await call('GET', '/console')).json()).to.deep.equal({ admin: false })
      expect((await call('POST', '/console/ping?x=1', {}, { authorization: 'Bearer wrong' })).json()).to.deep.equal({ admin: false })
      expect((await call('GET', '/console/events', undefined, { authorization: 'Bearer tok-123' })).json()).to.deep.equal({ admin: true })
      expect(mount.calls).to.deep.equal([
        { method: 'GET', url: '/console', admin: false },
        { method: 'POST', url: '/console/ping?x=1', admin: false },
        { method: 'GET', url: '/console/events', admin: true }
      ])
    })

    it('gives admin: false to every request when no token is configured, and leaves other paths to the routes', async () => {
      const mount = echoMount()
      await start({ mounts: [mount] })
      expect((await call('GET', '/console/state', undefined, { authorization: 'Bearer anything' })).json()).to.deep.equal({ admin: false })
      expect((await call('GET', '/consoles')).status).to.equal(404)
      expect((await call('GET', '/status')).status).to.equal(200)
      expect(mount.calls.map((c) => c.url)).to.deep.equal(['/console/state'])
    })

    it('keeps the token on the admin routes when a mount is there', async () => {
      await start({ token: 'tok-123', mounts: [echoMount()] })
      expect((await call('POST', '/balance', { accountId: 'alice', amountDiff: '1' })).status).to.equal(401)
      expect((await call('GET', '/accounts')).status).to.equal(401)
    })
  })

  describe('GET /health/live and /health/ready', () => {
    it('live answers 200 whenever the server answers', async () => {
      connector.state = 'starting'
      const res = await call('GET', '/health/live')
      expect([res.status, res.json()]).to.deep.equal([200, { status: 'live' }])
    })

    it('ready answers 503 until start-up has finished and from shutdown on, listing the accounts not connected', async () => {
      await connector.accounts.get('bob')!.plugin.disconnect()
      const notConnected = ['bob']
      for (const [state, status] of [['starting', 503], ['started', 200], ['stopping', 503]] as const) {
        connector.state = state
        const res = await call('GET', '/health/ready')
        expect(res.type).to.equal('application/json')
        expect([state, res.status, res.json()]).to.deep.equal([state, status, { ready: status === 200, state, notConnected }])
      }
    })

    it('need no admin token (probes cannot always send one); every other route still does', async () => {
      await start({ token: 'tok-123' })
      connector.state = 'started'
      expect((await call('GET', '/health/live')).status).to.equal(200)
      expect((await call('GET', '/health/ready')).status).to.equal(200)
      expect((await call('GET', '/status')).status).to.equal(401)
      expect((await call('POST', '/health/ready')).status).to.equal(401)
    })
  })

  describe('GET /status', () => {
    it('gives balances, connection state and the routing table with paths joined by spaces', async () => {
      connector.middlewares.set('balance', fakeBalanceMiddleware())
      ;(connector.getAccount('bob')!.plugin as ReturnType<typeof fakePlugin>).connected = false
      connector.routes = [['test.conn.alice', { nextHop: 'alice', path: [] }], ['test.other', { nextHop: 'bob', path: ['test.x', 'test.y'], auth: Buffer.alloc(32) }]]
      const res = await call('GET', '/status')
      expect(res.status).to.equal(200)
      expect(res.type).to.equal('application/json')
      expect(res.json()).to.deep.equal({
        balances: { alice: '100', bob: '-94' },
        connected: { alice: true, bob: false },
        localRoutingTable: {
          'test.conn.alice': { nextHop: 'alice', path: '' },
          'test.other': { nextHop: 'bob', path: 'test.x test.y' }
        }
      })
    })

    it('has no balances when the balance middleware does not run', async () => {
      expect((await call('GET', '/status')).json().balances).to.deep.equal({})
    })
  })

  describe('GET /routing', () => {
    it('is the route-exchange package status when one runs', async () => {
      const status = { routingTableId: 'abc', currentEpoch: 3, localRoutingTable: {}, forwardingRoutingTable: {}, routingLog: [], peers: { bob: {} } }
      connector.routing = { start: () => {}, stop: () => {}, getStatus: () => status }
      expect((await call('GET', '/routing')).json()).to.deep.equal(status)
    })

    it('is the same shape built from the routing table when there is no route exchange', async () => {
      connector.routes = [['test.conn', { nextHop: '', path: [] }]]
      expect((await call('GET', '/routing')).json()).to.deep.equal({
        routingTableId: null,
        currentEpoch: 0,
        localRoutingTable: { 'test.conn': { nextHop: '', path: '' } },
        forwardingRoutingTable: {},
        routingLog: [],
        peers: {}
      })
    })
  })

  describe('GET /accounts', () => {
    it('gives the address and each account\'s config without options, connection state and whether it has admin info', async () => {
      const plugin = Object.assign(fakePlugin(), { getAdminInfo: async () => ({ foo: 'bar' }) })
      connector.add({ id: 'carl', relation: 'parent', assetCode: 'XRP', assetScale: 9, plugin, config: { plugin: plugin as any } })
      expect((await call('GET', '/accounts')).json()).to.deep.equal({
        address: 'test.conn',
        accounts: {
          alice: { info: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, balance: { maximum: '1000' } }, connected: true, adminInfo: false },
          bob: { info: { relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'EUR', assetScale: 6, balance: { minimum: '-500', maximum: 'Infinity' } }, connected: true, adminInfo: false },
          carl: { info: { relation: 'parent', plugin: 'FakePlugin', assetCode: 'XRP', assetScale: 9 }, connected: true, adminInfo: true }
        }
      })
    })

    it('never shows the plugin options (secrets)', async () => {
      expect((await call('GET', '/accounts')).text).to.not.include('s3cret')
    })
  })

  describe('/accounts/:id', () => {
    let getAdminInfo: sinon.SinonStub
    let sendAdminInfo: sinon.SinonStub

    beforeEach(() => {
      getAdminInfo = sinon.stub().resolves({ foo: 'bar' })
      sendAdminInfo = sinon.stub().callsFake(async (info: unknown) => ({ foo: info }))
      Object.assign(connector.getAccount('alice')!.plugin, { getAdminInfo, sendAdminInfo })
    })

    it('GET gives the plugin\'s getAdminInfo', async () => {
      const res = await call('GET', '/accounts/alice')
      expect([res.status, res.json()]).to.deep.equal([200, { account: 'alice', plugin: 'ilp-plugin-btp', info: { foo: 'bar' } }])
    })

    it('POST passes the body to sendAdminInfo and gives its result', async () => {
      const res = await call('POST', '/accounts/alice', { foo: 'bar' })
      expect([res.status, res.json()]).to.deep.equal([200, { account: 'alice', plugin: 'ilp-plugin-btp', result: { foo: { foo: 'bar' } } }])
      expect(sendAdminInfo.firstCall.args).to.deep.equal([{ foo: 'bar' }])
    })

    it('answers 400 "invalid account." for an id with other characters, 404 for an unknown account', async () => {
      expect(await call('GET', '/accounts/a%20b').then((r) => [r.status, r.text])).to.deep.equal([400, 'Error: invalid account.'])
      expect(await call('GET', '/accounts/zed').then((r) => [r.status, r.text])).to.deep.equal([404, 'Error: account does not exist. account=zed'])
    })

    it('answers 404 when the plugin has no getAdminInfo / sendAdminInfo', async () => {
      expect(await call('GET', '/accounts/bob').then((r) => [r.status, r.text]))
        .to.deep.equal([404, 'Error: plugin has no admin info. account=bob'])
      expect(await call('POST', '/accounts/bob', { a: 1 }).then((r) => [r.status, r.text]))
        .to.deep.equal([404, 'Error: plugin does not support sending admin info. account=bob'])
    })

    it('POST without a body answers 400 and calls nothing', async () => {
      expect(await call('POST', '/accounts/alice').then((r) => [r.status, r.text])).to.deep.equal([400, 'Error: no json body provided to set admin info.'])
      expect(sendAdminInfo.called).to.equal(false)
    })

    it('DELETE removes the account (204)', async () => {
      const res = await call('DELETE', '/accounts/bob')
      expect([res.status, res.text]).to.deep.equal([204, ''])
      expect(connector.removePlugin.firstCall.args).to.deep.equal(['bob'])
      expect(connector.logger.at('info').map((r) => [r.msg, r.obj.account])).to.deep.include(['account removed through the admin API', 'bob'])
    })

    it('DELETE of an unknown account answers 404 and removes nothing', async () => {
      expect(await call('DELETE', '/accounts/zed').then((r) => [r.status, r.text])).to.deep.equal([404, 'Error: account does not exist. account=zed'])
      expect(connector.removePlugin.called).to.equal(false)
    })
  })

  describe('/balance', () => {
    let balance: ReturnType<typeof fakeBalanceMiddleware>
    beforeEach(() => {
      balance = fakeBalanceMiddleware()
      connector.middlewares.set('balance', balance)
    })

    it('GET gives every tracked account\'s balance and limits', async () => {
      expect((await call('GET', '/balance')).json()).to.deep.equal({
        accounts: {
          alice: { balance: '100', minimum: '-Infinity', maximum: '1000' },
          bob: { balance: '-94', minimum: '-500', maximum: 'Infinity' }
        }
      })
    })

    it('GET gives {} when the balance middleware does not run', async () => {
      connector.middlewares.delete('balance')
      expect((await call('GET', '/balance')).json()).to.deep.equal({})
    })

    it('POST adjusts the balance by amountDiff as a bigint and answers 204', async () => {
      expect((await call('POST', '/balance', { accountId: 'alice', amountDiff: '12' })).status).to.equal(204)
      expect((await call('POST', '/balance', { accountId: 'alice', amountDiff: '-34' })).status).to.equal(204)
      expect((await call('POST', '/balance', { accountId: 'bob', amountDiff: '0' })).status).to.equal(204)
      expect(balance.adjustBalance.args).to.deep.equal([['alice', 12n], ['alice', -34n], ['bob', 0n]])
    })

    it('POST answers 400 with the reason for a bad body, and changes nothing', async () => {
      const cases: Array<[unknown, string]> = [
        [undefined, 'no JSON body; expected {"accountId": "<id>", "amountDiff": "<signed integer>"}'],
        ['[1]', 'expected a JSON object {"accountId": "<id>", "amountDiff": "<signed integer>"}'],
        ['null', 'expected a JSON object {"accountId": "<id>", "amountDiff": "<signed integer>"}'],
        [{}, 'accountId is required'],
        [{ amountDiff: '1' }, 'accountId is required'],
        [{ accountId: 5, amountDiff: '1' }, 'accountId must be a non-empty string'],
        [{ accountId: 'alice' }, 'amountDiff is required'],
        [{ accountId: 'alice', amountDiff: 12 }, 'amountDiff must be a string holding a signed integer (e.g. "12" or "-34"), got 12'],
        [{ accountId: 'alice', amountDiff: '1.5' }, 'amountDiff must be a string holding a signed integer (e.g. "12" or "-34"), got "1.5"'],
        [{ accountId: 'alice', amountDiff: '012' }, 'amountDiff must be a string holding a signed integer (e.g. "12" or "-34"), got "012"'],
        [{ accountId: 'alice', amountDiff: '-0' }, 'amountDiff must be a string holding a signed integer (e.g. "12" or "-34"), got "-0"'],
        [{ accountId: 'alice', amountDiff: '1', extra: true }, 'unknown properties: extra'],
        [{ accountId: 'zed', amountDiff: '1' }, 'unknown account id. accountId=zed']
      ]
      for (const [body, reason] of cases) {
        const res = await call('POST', '/balance', body)
        expect([body, res.status, res.text]).to.deep.equal([body, 400, `Error: invalid balance update: ${reason}`])
      }
      expect(balance.adjustBalance.called).to.equal(false)
    })

    it('POST for an account without balance settings answers 400', async () => {
      connector.add({ id: 'carl' })
      const res = await call('POST', '/balance', { accountId: 'carl', amountDiff: '1' })
      expect([res.status, res.text]).to.deep.equal([400,
        'Error: invalid balance update: the account has no balance settings, so its balance is not tracked. accountId=carl'])
    })

    it('POST that would cross a limit answers 409 with the middleware\'s message', async () => {
      balance.adjustBalance.rejects(new InsufficientLiquidityError('exceeded maximum balance.'))
      const res = await call('POST', '/balance', { accountId: 'alice', amountDiff: '5000' })
      expect([res.status, res.text]).to.deep.equal([409, 'Error: exceeded maximum balance.'])
    })

    it('POST answers 409 when the balance middleware does not run', async () => {
      connector.middlewares.delete('balance')
      const res = await call('POST', '/balance', { accountId: 'alice', amountDiff: '5' })
      expect([res.status, res.text]).to.deep.equal([409, 'Error: the balance middleware is not running (disableMiddleware); balances are not tracked'])
    })
  })

  describe('GET /rates', () => {
    it('gives a number for every ordered pair of distinct accounts, fractions divided', async () => {
      connector.rates = async (src, dst) => src === 'alice' ? 0.5 : { numerator: 3n, denominator: 2n }
      expect((await call('GET', '/rates')).json()).to.deep.equal({ alice: { bob: 0.5 }, bob: { alice: 1.5 } })
    })

    it('leaves out a pair whose rate fails and keeps the others', async () => {
      connector.add({ id: 'carl', assetCode: 'XRP' })
      connector.rates = async (src, dst) => {
        if (dst === 'carl') throw new Error('no rate for XRP')
        return 2
      }
      expect((await call('GET', '/rates')).json()).to.deep.equal({
        alice: { bob: 2 },
        bob: { alice: 2 },
        carl: { alice: 2, bob: 2 }
      })
    })
  })

  describe('GET /stats and /metrics', () => {
    it('/stats is the metrics as JSON', async () => {
      expect((await call('GET', '/stats')).json()).to.deep.equal(METRICS_JSON)
    })

    it('/metrics is the Prometheus text with its content type', async () => {
      const res = await call('GET', '/metrics')
      expect([res.status, res.type, res.text]).to.deep.equal([200, METRICS_CONTENT_TYPE, METRICS_TEXT])
    })
  })

  describe('/settlements', () => {
    const date = new Date('2024-01-02T03:04:05.000Z')
    const ID = '0b9a3c52-8d5e-4f0e-9f55-3f0e8f1e2a11'
    let settlement: ReturnType<typeof fakeSettlementMiddleware>
    let balances: Map<string, bigint>
    beforeEach(() => {
      balances = new Map([['bob', -2700n]])
      settlement = fakeSettlementMiddleware([
        { id: ID, accountId: 'bob', amount: '1500', createdAt: date, reason: '7 timed out' },
        { id: 'x', accountId: 'gone', amount: '3', createdAt: date, reason: 'the connector stopped while sending it' }
      ], balances)
      connector.middlewares.set('balance', settlement)
    })

    it('GET lists the unsettled settlements, with the asset of accounts still there and dates as ISO strings', async () => {
      expect((await call('GET', '/settlements')).json()).to.deep.equal({
        settlements: [
          { id: ID, accountId: 'bob', amount: '1500', createdAt: date.toISOString(), reason: '7 timed out', assetCode: 'EUR', assetScale: 6 },
          { id: 'x', accountId: 'gone', amount: '3', createdAt: date.toISOString(), reason: 'the connector stopped while sending it' }
        ]
      })
    })

    it('GET gives an empty list when the balance middleware does not run', async () => {
      connector.middlewares.delete('balance')
      expect((await call('GET', '/settlements')).json()).to.deep.equal({ settlements: [] })
    })

    it('POST /settlements/bob {"outcome":"paid","id"} resolves it: 200 with the settlement, outcome and new balance; then it is no longer listed', async () => {
      const answer = await call('POST', '/settlements/bob', { outcome: 'paid', id: ID })
      expect(answer.status).to.equal(200)
      expect(answer.json()).to.deep.equal({
        settlement: { id: ID, accountId: 'bob', amount: '1500', createdAt: date.toISOString(), reason: '7 timed out' },
        outcome: 'paid',
        balance: '-1200',
        resolvedBy: 'operator'
      })
      expect(settlement.resolutions).to.deep.equal([['bob', 'paid', ID]])
      expect((await call('GET', '/settlements')).json().settlements.map((s: { accountId: string }) => s.accountId)).to.deep.equal(['gone'])
      expect(connector.logger.at('info').find((r) => r.msg === 'unsettled settlement resolved through the admin API')?.obj)
        .to.deep.equal({ account: 'bob', settlement: ID, amount: '1500', outcome: 'paid' })
    })

    it('POST {"outcome":"not-paid"} (no id) resolves it and leaves the balance', async () => {
      expect((await call('POST', '/settlements/bob', { outcome: 'not-paid' })).json()).to.deep.include({ outcome: 'not-paid', balance: '-2700' })
      expect(settlement.resolutions).to.deep.equal([['bob', 'not-paid', undefined]])
    })

    it('POST answers 400 for a bad body or account id, without resolving anything', async () => {
      const cases: Array<[string, unknown, string]> = [
        ['/settlements/bob', undefined, 'invalid settlement resolution: no JSON body; expected {"outcome": "paid" | "not-paid", "id": "<settlement id, optional>"}'],
        ['/settlements/bob', [1], 'invalid settlement resolution: expected {"outcome": "paid" | "not-paid", "id": "<settlement id, optional>"}'],
        ['/settlements/bob', { outcome: 'yes' }, 'invalid settlement resolution: outcome must be "paid" or "not-paid", got "yes"'],
        ['/settlements/bob', {}, 'invalid settlement resolution: outcome must be "paid" or "not-paid", got nothing'],
        ['/settlements/bob', { outcome: 'paid', id: 7 }, 'invalid settlement resolution: id must be a non-empty string, got 7'],
        ['/settlements/bob', { outcome: 'paid', amount: '1' }, 'invalid settlement resolution: unknown properties: amount'],
        ['/settlements/b%20b', { outcome: 'paid' }, 'invalid account.']
      ]
      for (const [path, body, message] of cases) {
        expect(await call('POST', path, body).then((r) => [r.status, r.text])).to.deep.equal([400, 'Error: ' + message])
      }
      expect(settlement.resolutions).to.deep.equal([])
    })

    it('POST answers 404 when the account has no unsettled settlement, 409 for another id, 409 without the balance middleware', async () => {
      expect(await call('POST', '/settlements/alice', { outcome: 'paid' }).then((r) => [r.status, r.text]))
        .to.deep.equal([404, 'Error: no unsettled settlement for account alice'])
      expect(await call('POST', '/settlements/bob', { outcome: 'paid', id: 'other' }).then((r) => [r.status, r.text]))
        .to.deep.equal([409, `Error: the unsettled settlement of account bob is ${ID} (1500), not other`])
      expect(balances.get('bob')).to.equal(-2700n)
      connector.middlewares.delete('balance')
      expect(await call('POST', '/settlements/bob', { outcome: 'paid' }).then((r) => [r.status, r.text]))
        .to.deep.equal([409, 'Error: the balance middleware is not running (disableMiddleware); settlements are not tracked'])
    })
  })

  describe('/alerts', () => {
    const date = new Date('2024-01-02T03:04:05.000Z')
    let alertMiddleware: ReturnType<typeof fakeAlertMiddleware>
    beforeEach(() => {
      alertMiddleware = fakeAlertMiddleware([
        { id: 1700000000000, accountId: 'bob', triggeredBy: 'test.bob', message: 'exceeded maximum balance.', count: 3, createdAt: date, updatedAt: date }
      ])
      connector.middlewares.set('alert', alertMiddleware)
    })

    it('GET lists the alerts, dates as ISO strings', async () => {
      expect((await call('GET', '/alerts')).json()).to.deep.equal({
        alerts: [{ id: 1700000000000, accountId: 'bob', triggeredBy: 'test.bob', message: 'exceeded maximum balance.', count: 3, createdAt: date.toISOString(), updatedAt: date.toISOString() }]
      })
    })

    it('GET gives an empty list when the alert middleware does not run', async () => {
      connector.middlewares.delete('alert')
      expect((await call('GET', '/alerts')).json()).to.deep.equal({ alerts: [] })
    })

    it('DELETE removes the alert (204), then it is gone', async () => {
      expect((await call('DELETE', '/alerts/1700000000000')).status).to.equal(204)
      expect(alertMiddleware.deleteAlert.firstCall.args).to.deep.equal([1700000000000])
      expect((await call('GET', '/alerts')).json()).to.deep.equal({ alerts: [] })
    })

    it('DELETE answers 400 "invalid alert id" for an id that is not digits, 404 for an unknown one', async () => {
      for (const id of ['abc', '12a', '-1', '']) {
        expect(await call('DELETE', '/alerts/' + id).then((r) => [id, r.status, r.text])).to.deep.equal([id, 400, 'Error: invalid alert id'])
      }
      expect(await call('DELETE', '/alerts/42').then((r) => [r.status, r.text])).to.deep.equal([404, 'Error: alert not found. id=42'])
    })
  })

  describe('POST /addAccount', () => {
    const options = { relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: {} }

    beforeEach(() => {
      connector.addPlugin.callsFake(async (id, config) => { connector.add({ id, relation: config.relation, config }) })
    })

    it('adds the account through the connector and answers {plugin: id, connected}', async () => {
      const res = await call('POST', '/addAccount', { id: 'carl', options })
      expect([res.status, res.json()]).to.deep.equal([200, { plugin: 'carl', connected: true }])
      expect(connector.addPlugin.firstCall.args).to.deep.equal(['carl', options])
    })

    it('answers 400 with the config issues joined when the connector refuses the account', async () => {
      connector.addPlugin.rejects(Object.assign(new Error('x'), {
        name: 'ConfigError',
        issues: [{ path: 'accounts.carl.assetScale', message: 'expected an integer 0..255, got "9x"' }, { path: 'accounts.carl.relation', message: 'required' }]
      }))
      const res = await call('POST', '/addAccount', { id: 'carl', options: { ...options, assetScale: '9x', relation: undefined } })
      expect([res.status, res.text]).to.deep.equal([400,
        'Error: invalid account: accounts.carl.assetScale: expected an integer 0..255, got "9x"; accounts.carl.relation: required'])
    })

    it('answers 400 when the plugin package cannot be loaded', async () => {
      connector.addPlugin.rejects(Object.assign(new Error('accounts.carl.plugin: package "nope" is not installed'), { code: 'ERR_PACKAGE_NOT_FOUND' }))
      const res = await call('POST', '/addAccount', { id: 'carl', options: { ...options, plugin: 'nope' } })
      expect([res.status, res.text]).to.deep.equal([400, 'Error: invalid account: accounts.carl.plugin: package "nope" is not installed'])
    })

    it('answers 400 for a missing body, a bad id or missing options, and 409 for an existing id, adding nothing', async () => {
      const cases: Array<[unknown, number, string]> = [
        [undefined, 400, 'no json body provided to make plugin.'],
        ['[]', 400, 'invalid account: expected a JSON object {id, options}'],
        [{ options }, 400, 'invalid account: id must be a string of letters, digits and _ . - ~, got nothing'],
        [{ id: 'a b', options }, 400, 'invalid account: id must be a string of letters, digits and _ . - ~, got "a b"'],
        [{ id: 'carl' }, 400, 'invalid account: options must be an object (the account\'s configuration). accountId=carl'],
        [{ id: 'alice', options }, 409, 'account already exists. accountId=alice']
      ]
      for (const [body, status, message] of cases) {
        const res = await call('POST', '/addAccount', body)
        expect([body, res.status, res.text]).to.deep.equal([body, status, `Error: ${message}`])
      }
      expect(connector.addPlugin.called).to.equal(false)
    })

    it('answers connected: false with the error when the account was added but its plugin failed to connect', async () => {
      connector.addPlugin.callsFake(async (id, config) => {
        connector.add({ id, config, plugin: fakePlugin({ connected: false }) })
        throw new Error('connection refused')
      })
      const res = await call('POST', '/addAccount', { id: 'carl', options })
      expect([res.status, res.json()]).to.deep.equal([200, { plugin: 'carl', connected: false, error: 'connection refused' }])
    })
  })

  describe('addAccount waiting for the connection (AdminRoutes, fake timers)', () => {
    let clock: sinon.SinonFakeTimers
    beforeEach(() => { clock = sinon.useFakeTimers() })
    afterEach(() => { clock.restore() })

    it('answers connected: false after initialConnectTimeout while the plugin keeps connecting', async () => {
      connector = fakeConnector({ initialConnectTimeout: 2000 })
      let connect!: () => void
      connector.addPlugin.callsFake(async (id, config) => {
        connector.add({ id, config, plugin: fakePlugin({ connected: false }) })
        await new Promise<void>((resolve) => { connect = resolve })
      })
      const routes = new AdminRoutes(connector)
      let answer: unknown
      const pending = routes.addAccount({ id: 'carl', options: { relation: 'peer', plugin: 'x', assetCode: 'XRP', assetScale: 9 } }).then((a) => { answer = a })
      await clock.tickAsync(1999)
      expect(answer).to.equal(undefined)
      await clock.tickAsync(1)
      await pending
      expect(answer).to.deep.equal({ plugin: 'carl', connected: false })
      connect()
    })

    it('logs at warn when the plugin fails to connect after the answer was given', async () => {
      connector = fakeConnector({ initialConnectTimeout: 100 })
      let fail!: (err: Error) => void
      connector.addPlugin.callsFake(async (id, config) => {
        connector.add({ id, config, plugin: fakePlugin({ connected: false }) })
        await new Promise<void>((_resolve, reject) => { fail = reject })
      })
      const pending = new AdminRoutes(connector).addAccount({ id: 'carl', options: { relation: 'peer', plugin: 'x', assetCode: 'XRP', assetScale: 9 } })
      await clock.tickAsync(100)
      expect(await pending).to.deep.equal({ plugin: 'carl', connected: false })
      fail(new Error('gave up'))
      await clock.tickAsync(0)
      expect(connector.logger.at('warn').map((r) => [r.msg, r.obj.account, r.obj.err?.message]))
        .to.deep.equal([['account added through the admin API failed to connect', 'carl', 'gave up']])
    })
  })

  describe('rateToNumber', () => {
    it('divides fractions, even ones whose terms are beyond the range of a double', () => {
      expect(rateToNumber(0.25)).to.equal(0.25)
      expect(rateToNumber({ numerator: 1n, denominator: 3n })).to.equal(1 / 3)
      expect(rateToNumber({ numerator: 3n * 10n ** 400n, denominator: 2n * 10n ** 400n })).to.be.closeTo(1.5, 1e-12)
      expect(rateToNumber({ numerator: 10n ** 400n, denominator: 10n ** 398n })).to.be.closeTo(100, 1e-9)
    })
  })

  describe('isLoopback', () => {
    it('is true for 127.0.0.0/8, ::1 and localhost only', () => {
      expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(isLoopback)).to.deep.equal([true, true, true, true])
      expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com'].map(isLoopback)).to.deep.equal([false, false, false, false, false, false])
    })
  })
})
