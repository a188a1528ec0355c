/**
 * The admin API end to end: in-process connectors (the harness) with real BTP clients, and real HTTP requests
 * (fetch) to the admin API on 127.0.0.1; then the real `conn` process with CONNECTOR_ADMIN_API.
 * Reference: spec/reference.md section 7 and its admin tests (section 10); spec/deviations.md "Admin API".
 */
import { expect } from 'chai'
import { Harness, freePort, rejectPacket, type ConnectorSpec, type Network } from '../helpers/harness.ts'
import { AdminClient, parsePrometheus, sampleValue } from '../helpers/admin.ts'
import { adminOnlyEnv, logLines, startConn, type ConnProcess } from '../helpers/process.ts'

/** No spread (amounts arrive unchanged); packets need 2 x 200 ms of life to be forwarded. */
const FAST = { spread: 0, minMessageWindow: 200, routeBroadcastEnabled: false }

let h: Harness

/** alice and bob (children with balances) and carol (a child at balance 0), the admin API on a free port. */
async function network (extra: Partial<ConnectorSpec> = {}): Promise<Network & { admin: AdminClient, port: number }> {
  const port = await freePort()
  const net = await h.network({
    ...FAST,
    adminApi: true,
    adminApiPort: port,
    accounts: {
      alice: { relation: 'child', balance: { maximum: '1000000' } },
      bob: { relation: 'child', assetScale: 6, balance: { minimum: '-1000000', maximum: '1000' } },
      carol: { relation: 'child', balance: { minimum: '-1000', maximum: '1000' } }
    },
    ...extra
  })
  return { ...net, admin: AdminClient.on(port, extra.adminApiToken), port }
}

describe('e2e: admin API', function () {
  this.timeout(15000)
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })

  describe('after one fulfilled packet alice -> bob', () => {
    let net: Awaited<ReturnType<typeof network>>
    beforeEach(async () => {
      net = await network()
      const reply = await net.nodes.alice!.pay({ amount: 5000, destination: 'test.conn.bob', ...h.condition() })
      expect(reply.type).to.equal('fulfill')
    })

    it('GET /stats has the reference metric names with their labels and values', async () => {
      const res = await net.admin.get('/stats')
      expect(res.status).to.equal(200)
      const metrics = res.json() as Array<{ name: string, type: string, help: string, values: Array<{ value: number, labels: Record<string, unknown> }> }>
      const byName = new Map(metrics.map((m) => [m.name, m]))
      for (const name of ['ilp_connector_incoming_ilp_packets', 'ilp_connector_outgoing_ilp_packets', 'ilp_connector_incoming_ilp_packet_value',
        'ilp_connector_outgoing_ilp_packet_value', 'ilp_connector_incoming_money', 'ilp_connector_outgoing_money',
        'ilp_connector_rate_limited_ilp_packets', 'ilp_connector_rate_limited_money', 'ilp_connector_balance']) {
        expect(byName.has(name), name).to.equal(true)
      }
      const value = (name: string, labels: Record<string, unknown>): number | undefined =>
        byName.get(name)!.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value
      expect(byName.get('ilp_connector_incoming_ilp_packets')!.type).to.equal('counter')
      expect(value('ilp_connector_incoming_ilp_packets', { account: 'alice', asset: 'XYZ', scale: 9, result: 'fulfilled' })).to.equal(1)
      expect(value('ilp_connector_outgoing_ilp_packets', { account: 'bob', asset: 'XYZ', scale: 6, result: 'fulfilled' })).to.equal(1)
      expect(value('ilp_connector_incoming_ilp_packet_value', { account: 'alice', result: 'fulfilled' })).to.equal(5000)
      expect(value('ilp_connector_outgoing_ilp_packet_value', { account: 'bob', result: 'fulfilled' })).to.equal(5)
      expect(value('ilp_connector_balance', { account: 'alice', asset: 'XYZ', scale: 9 })).to.equal(5000)
      expect(value('ilp_connector_balance', { account: 'bob', asset: 'XYZ', scale: 6 })).to.equal(-5)
    })

    it('GET /metrics is the Prometheus text with the same series', async () => {
      const res = await net.admin.get('/metrics')
      expect(res.status).to.equal(200)
      expect(res.contentType).to.match(/^text\/plain; version=0\.0\.4/)
      expect(res.text).to.include('# TYPE ilp_connector_incoming_ilp_packets counter')
      const samples = parsePrometheus(res.text)
      expect(sampleValue(samples, 'ilp_connector_incoming_ilp_packets', { account: 'alice', asset: 'XYZ', scale: '9', result: 'fulfilled' })).to.equal(1)
      expect(sampleValue(samples, 'ilp_connector_outgoing_ilp_packets', { account: 'bob', asset: 'XYZ', scale: '6', result: 'fulfilled' })).to.equal(1)
      expect(sampleValue(samples, 'ilp_connector_incoming_ilp_packet_value', { account: 'alice', result: 'fulfilled' })).to.equal(5000)
      expect(sampleValue(samples, 'ilp_connector_balance', { account: 'bob' })).to.equal(-5)
      expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).to.equal(false)
    })

    it('GET /balance shows every balance with its limits', async () => {
      const res = await net.admin.get('/balance')
      expect([res.status, res.json()]).to.deep.equal([200, {
        accounts: {
          alice: { balance: '5000', minimum: '-Infinity', maximum: '1000000' },
          bob: { balance: '-5', minimum: '-1000000', maximum: '1000' },
          carol: { balance: '0', minimum: '-1000', maximum: '1000' }
        }
      }])
    })

    it('GET /status gives balances, connection state and the routing table', async () => {
      expect((await net.admin.get('/status')).json()).to.deep.equal({
        balances: { alice: '5000', bob: '-5', carol: '0' },
        connected: { alice: true, bob: true, carol: true },
        localRoutingTable: {
          'test.conn': { nextHop: '', path: '' },
          'test.conn.alice': { nextHop: 'alice', path: '' },
          'test.conn.bob': { nextHop: 'bob', path: '' },
          'test.conn.carol': { nextHop: 'carol', path: '' }
        }
      })
    })
  })

  it('POST /balance adds then subtracts (12, -34 -> "-22"), and bad bodies get 400 with the reason', async () => {
    const { app, admin } = await network()
    const add = await admin.post('/balance', { accountId: 'carol', amountDiff: '12' })
    expect([add.status, add.text]).to.deep.equal([204, ''])
    expect((await admin.post('/balance', { accountId: 'carol', amountDiff: '-34' })).status).to.equal(204)
    expect((await admin.get('/balance')).json().accounts.carol.balance).to.equal('-22')
    expect(await app.balances.get('carol')).to.equal(-22n)

    const bad: Array<[unknown, number, string]> = [
      [undefined, 400, 'Error: invalid balance update: no JSON body; expected {"accountId": "<id>", "amountDiff": "<signed integer>"}'],
      ['{"accountId":', 400, 'Error: invalid JSON body: '],
      [{}, 400, 'Error: invalid balance update: accountId is required'],
      [{ accountId: 'carol', amountDiff: '1.5' }, 400, 'Error: invalid balance update: amountDiff must be a string holding a signed integer'],
      [{ accountId: 'carol', amountDiff: 7 }, 400, 'Error: invalid balance update: amountDiff must be a string holding a signed integer'],
      [{ accountId: 'dave', amountDiff: '1' }, 400, 'Error: invalid balance update: unknown account id. accountId=dave'],
      [{ accountId: 'carol', amountDiff: '2000' }, 409, 'Error: exceeded maximum balance.']
    ]
    for (const [body, status, text] of bad) {
      const res = await admin.post('/balance', body)
      expect([body, res.status, res.text.slice(0, text.length)]).to.deep.equal([body, status, text])
    }
    expect(await app.balances.get('carol')).to.equal(-22n)
  })

  it('GET /accounts, /routing and /rates have the reference shapes', async () => {
    const { admin } = await network()
    expect((await admin.get('/accounts')).json()).to.deep.equal({
      address: 'test.conn',
      accounts: {
        alice: { info: { relation: 'child', plugin: 'AbstractBtpPlugin', assetCode: 'XYZ', assetScale: 9, balance: { maximum: '1000000' } }, connected: true, adminInfo: false },
        bob: { info: { relation: 'child', plugin: 'AbstractBtpPlugin', assetCode: 'XYZ', assetScale: 6, balance: { minimum: '-1000000', maximum: '1000' } }, connected: true, adminInfo: false },
        carol: { info: { relation: 'child', plugin: 'AbstractBtpPlugin', assetCode: 'XYZ', assetScale: 9, balance: { minimum: '-1000', maximum: '1000' } }, connected: true, adminInfo: false }
      }
    })
    const routing = (await admin.get('/routing')).json()
    expect(routing).to.deep.equal({
      routingTableId: null,
      currentEpoch: 0,
      localRoutingTable: {
        'test.conn': { nextHop: '', path: '' },
        'test.conn.alice': { nextHop: 'alice', path: '' },
        'test.conn.bob': { nextHop: 'bob', path: '' },
        'test.conn.carol': { nextHop: 'carol', path: '' }
      },
      forwardingRoutingTable: {},
      routingLog: [],
      peers: {}
    })
    expect((await admin.get('/rates')).json()).to.deep.equal({
      alice: { bob: 0.001, carol: 1 },
      bob: { alice: 1000, carol: 1000 },
      carol: { alice: 1, bob: 0.001 }
    })
  })

  it('GET /routing is the route exchange status when routeBroadcastEnabled', async () => {
    const { admin } = await network({ routeBroadcastEnabled: true })
    const routing = (await admin.get('/routing')).json()
    expect(routing).to.have.all.keys('routingTableId', 'currentEpoch', 'localRoutingTable', 'forwardingRoutingTable', 'routingLog', 'peers')
    expect(routing.routingTableId).to.be.a('string')
    expect(routing.localRoutingTable['test.conn.alice']).to.deep.equal({ nextHop: 'alice', path: '' })
  })

  it('three T04 "exceeded maximum balance." rejects from bob make one alert with count 3; DELETE removes it', async () => {
    const { nodes, admin } = await network()
    expect((await admin.get('/alerts')).json()).to.deep.equal({ alerts: [] })
    const bob = nodes.bob!
    bob.handler = () => rejectPacket({ code: 'T04', triggeredBy: bob.address, message: 'exceeded maximum balance.' })
    for (let i = 0; i < 3; i++) {
      const reply = await nodes.alice!.pay({ amount: 1000, destination: 'test.conn.bob', ...h.condition() })
      expect(reply).to.include({ type: 'reject', code: 'T04', triggeredBy: 'test.conn.bob' })
    }
    const { alerts } = (await admin.get('/alerts')).json()
    expect(alerts).to.have.length(1)
    expect(alerts[0]).to.include({ accountId: 'bob', triggeredBy: 'test.conn.bob', message: 'exceeded maximum balance.', count: 3 })
    expect(alerts[0].id).to.be.a('number')
    expect(Date.parse(alerts[0].createdAt)).to.be.closeTo(Date.now(), 10000)

    const deleted = await admin.delete('/alerts/' + String(alerts[0].id))
    expect(deleted.status).to.equal(204)
    expect((await admin.get('/alerts')).json()).to.deep.equal({ alerts: [] })
    expect(await admin.delete('/alerts/' + String(alerts[0].id)).then((r) => r.status)).to.equal(404)
    expect(await admin.delete('/alerts/abc').then((r) => [r.status, r.text])).to.deep.equal([400, 'Error: invalid alert id'])
  })

  it('POST /addAccount creates and connects a BTP account that then gets paid; DELETE /accounts/:id removes it (then F02)', async () => {
    const { nodes, admin } = await network()
    const port = await freePort()
    const options = {
      relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 9, balance: { maximum: '1000' },
      options: { listener: { port, secret: 'dave-pw', wsOpts: { host: '127.0.0.1', port } } }
    }
    const dave = h.client('dave', `btp+ws://:dave-pw@127.0.0.1:${port}`)
    dave.address = 'test.conn.dave'
    const [added] = await Promise.all([admin.post('/addAccount', { id: 'dave', options }), dave.connect()])
    expect([added.status, added.json()]).to.deep.equal([200, { plugin: 'dave', connected: true }])

    const accounts = (await admin.get('/accounts')).json().accounts
    expect(accounts.dave).to.deep.equal({
      info: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 9, balance: { maximum: '1000' } },
      connected: true,
      adminInfo: false
    })
    expect((await admin.get('/status')).json().localRoutingTable['test.conn.dave']).to.deep.equal({ nextHop: 'dave', path: '' })
    const paid = await nodes.alice!.pay({ amount: 700, destination: 'test.conn.dave.inbox', ...h.condition() })
    expect(paid).to.include({ type: 'fulfill' })
    expect(dave.received.map((p) => [p.amount, p.destination])).to.deep.equal([[700n, 'test.conn.dave.inbox']])
    expect((await admin.get('/balance')).json().accounts.dave.balance).to.equal('-700')

    const again = await admin.post('/addAccount', { id: 'dave', options })
    expect([again.status, again.text]).to.deep.equal([409, 'Error: account already exists. accountId=dave'])
    const invalid = await admin.post('/addAccount', { id: 'erin', options: { ...options, assetScale: '9x' } })
    expect(invalid.status).to.equal(400)
    expect(invalid.text).to.match(/^Error: invalid account: accounts\.erin\.assetScale: /)

    const removed = await admin.delete('/accounts/dave')
    expect(removed.status).to.equal(204)
    expect(Object.keys((await admin.get('/accounts')).json().accounts)).to.deep.equal(['alice', 'bob', 'carol'])
    const unreachable = await nodes.alice!.pay({ amount: 700, destination: 'test.conn.dave.inbox', ...h.condition() })
    expect(unreachable).to.include({ type: 'reject', code: 'F02', triggeredBy: 'test.conn' })
    expect(dave.received).to.have.length(1)
    expect(await admin.delete('/accounts/dave').then((r) => r.status)).to.equal(404)
  })

  it('GET and POST /accounts/:id pass through to the plugin\'s getAdminInfo and sendAdminInfo', async () => {
    const listener = await h.listener('erin-pw')
    const plugin = Object.assign(listener.plugin, {
      getAdminInfo: async () => ({ channel: 'open', capacity: '1000' }),
      sendAdminInfo: async (info: unknown) => ({ received: info })
    })
    const erin = h.client('erin', listener.url)
    const [{ admin }] = await Promise.all([network({
      accounts: {
        alice: { relation: 'child' },
        erin: { relation: 'peer', plugin: plugin as any, assetCode: 'XYZ', assetScale: 9 }
      }
    }), erin.connect()])
    expect((await admin.get('/accounts')).json().accounts.erin).to.include({ connected: true, adminInfo: true })
    expect((await admin.get('/accounts/erin')).json()).to.deep.equal({ account: 'erin', plugin: 'AbstractBtpPlugin', info: { channel: 'open', capacity: '1000' } })
    expect((await admin.post('/accounts/erin', { close: true })).json()).to.deep.equal({ account: 'erin', plugin: 'AbstractBtpPlugin', result: { received: { close: true } } })
    expect(await admin.get('/accounts/alice').then((r) => [r.status, r.text])).to.deep.equal([404, 'Error: plugin has no admin info. account=alice'])
    expect(await admin.get('/accounts/nobody').then((r) => [r.status, r.text])).to.deep.equal([404, 'Error: account does not exist. account=nobody'])
  })

  it('with adminApiToken, no or a wrong token gets 401 and the right one works', async () => {
    const { admin, port } = await network({ adminApiToken: 'right-token' })
    const anonymous = AdminClient.on(port)
    for (const path of ['/status', '/metrics', '/nope']) {
      const res = await anonymous.get(path)
      expect([path, res.status, res.text]).to.deep.equal([path, 401, 'Unauthorized'])
    }
    expect((await anonymous.post('/addAccount', { id: 'x', options: {} })).status).to.equal(401)
    expect((await anonymous.get('/status', { authorization: 'Bearer wrong-token' })).status).to.equal(401)
    expect((await admin.get('/status')).status).to.equal(200)
  })

  it('collectDefaultMetrics: /metrics also has the process metrics', async () => {
    const { admin } = await network({ collectDefaultMetrics: true })
    const samples = parsePrometheus((await admin.get('/metrics')).text)
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).to.equal(true)
    expect(samples.some((s) => s.name === 'ilp_connector_balance')).to.equal(true)
  })

  describe('the conn process', () => {
    let conn: ConnProcess | undefined
    afterEach(async () => {
      if (conn !== undefined && conn.child.exitCode === null) {
        conn.child.kill('SIGKILL')
        await conn.exited
      }
      conn = undefined
    })

    it('CONNECTOR_ADMIN_API=true with CONNECTOR_ADMIN_API_PORT serves GET /status on 127.0.0.1', async () => {
      const port = await freePort()
      conn = startConn([], adminOnlyEnv(port))
      await conn.waitFor('connector ready')
      const res = await AdminClient.on(port).get('/status')
      expect([res.status, res.json()]).to.deep.equal([200, { balances: {}, connected: {}, localRoutingTable: { 'test.x': { nextHop: '', path: '' } } }])
      const listening = logLines(conn.stdout()).find((l) => l.msg === 'admin API listening')
      expect(listening).to.include({ host: '127.0.0.1', port, token: false })
      conn.child.kill('SIGTERM')
      expect(await conn.exited).to.equal(0)
      const error = await fetch(`http://127.0.0.1:${port}/status`).then(() => undefined, (err: Error) => err)
      expect(error).to.be.instanceOf(TypeError)
    })
  })
})
