/**
 * `conn check`, `conn status` and `conn routes` as an operator runs them: the real bin, against config files,
 * and against a running conn (a real process with real ilp-plugin-btp clients) through its admin API.
 */
import { expect } from 'chai'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@conn/testkit'
import { startConn } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, paymentData, startStoreNetwork, stopEverything, type StoreNetwork } from '../helpers/store.ts'

/** Runs a command of the bin to its end; its exit code and what it printed. */
async function command (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, out: string, err: string }> {
  const run = startConn(args, env)
  const code = await run.exited
  return { code, out: run.stdout(), err: run.stderr() }
}

/** Holds a port on 127.0.0.1, as another program would. */
async function holdPort (port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return server
}

const btpListener = (port: number): Record<string, unknown> => ({ listener: { port, secret: 's3cret', wsOpts: { host: '127.0.0.1', port } } })

describe('conn check', function () {
  this.timeout(20000)
  let dir: string
  const held: Server[] = []

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'conn-check-')) })
  afterEach(async () => {
    await Promise.all(held.splice(0).map(async (server) => await new Promise((resolve) => server.close(resolve))))
    await rm(dir, { recursive: true, force: true })
  })

  async function configFile (config: unknown): Promise<string> {
    const file = join(dir, 'conn.json')
    await writeFile(file, JSON.stringify(config))
    return file
  }

  it('exits 0 with a summary for a good config, and opens none of its ports (they stay held by another program)', async () => {
    const [alicePort, bobPort, adminPort] = [await freePort(), await freePort(), await freePort()]
    const file = await configFile({
      ilpAddress: 'test.checked',
      adminApi: true,
      adminApiPort: adminPort,
      accounts: {
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: btpListener(alicePort), balance: { maximum: '1000' } },
        bob: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: btpListener(bobPort) }
      }
    })
    // were check to start anything, it would fail on these ports (EADDRINUSE) instead of exiting 0
    held.push(await holdPort(alicePort), await holdPort(bobPort), await holdPort(adminPort))
    const { code, out, err } = await command(['check', '--config', file])
    expect(code, out + err).to.equal(0)
    expect(out).to.match(/^config OK: 2 accounts \(alice, bob\), packages @conn\/plugin-btp, @conn\/admin-api$/m)
    expect(out + err).not.to.include('connector ready')
    expect(out + err).not.to.include('listening')
  })

  it('checks the CONNECTOR_* variables as start-up does', async () => {
    const { code, out } = await command(['check'], {
      CONNECTOR_ILP_ADDRESS: 'test.env',
      CONNECTOR_ACCOUNTS: JSON.stringify({ alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: btpListener(await freePort()) } })
    })
    expect(code).to.equal(0)
    expect(out).to.include('config OK: 1 account (alice)')
  })

  it('prints every problem with its option, missing packages among them, and exits 1', async () => {
    const file = await configFile({
      ilpAddress: 'test.bad',
      spread: 'abc',
      accounts: {
        alice: { relation: 'kid', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: '9x' },
        bob: { relation: 'child', plugin: 'ilp-plugin-not-installed-anywhere', assetCode: 'USD', assetScale: 9, maxPacketAmount: '12x' }
      },
      middlewares: { audit: { type: 'conn-middleware-not-installed' } }
    })
    const { code, out } = await command(['check', '--config', file])
    expect(code).to.equal(1)
    const lines = out.trim().split('\n')
    expect(lines.slice(0, -1).map((line) => line.slice(0, line.indexOf(':')))).to.have.members([
      'spread', 'accounts.alice.relation', 'accounts.alice.assetScale', 'accounts.bob.maxPacketAmount', 'accounts.bob.plugin', 'middlewares.audit.type',
      'accounts.alice.options.server' // alice's plugin, constructed, wants a server or a listener
    ])
    expect(out).to.include('accounts.alice.assetScale: expected an integer 0..255, got "9x"')
    expect(out).to.include('accounts.bob.plugin: package "ilp-plugin-not-installed-anywhere" is not installed')
    expect(out).to.include('middlewares.audit.type: package "conn-middleware-not-installed" is not installed')
    expect(lines.at(-1)).to.equal('conn check: 7 problems; conn would not start with this configuration.')
  })

  it('reports a package that is not installed in an otherwise valid config', async () => {
    const file = await configFile({
      ilpAddress: 'test.x',
      backend: 'conn-backend-not-installed',
      accounts: { alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: btpListener(await freePort()) } }
    })
    const { code, out } = await command(['check', '--config', file])
    expect(code).to.equal(1)
    expect(out).to.include('backend: backend "conn-backend-not-installed": package "conn-backend-not-installed" is not installed')
    expect(out).to.include('conn check: 1 problem;')
  })

  it('constructs each plugin (never connected) and reports the options it refuses at their path', async () => {
    const port = await freePort()
    const file = await configFile({
      ilpAddress: 'test.x',
      accounts: {
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: { listener: { port, secret: '' } } },
        bob: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: btpListener(await freePort()) }
      }
    })
    const { code, out } = await command(['check', '--config', file])
    expect(code).to.equal(1)
    expect(out).to.match(/^accounts\.alice\.options\.listener\.secret: .*empty secret/m)
    expect(out).to.include('conn check: 1 problem;')
  })

  it('with no configuration checks the embedded default', async () => {
    const { code, out } = await command(['check'])
    expect(code).to.equal(0)
    expect(out).to.include('config OK (no configuration given: the embedded default): 1 account (local)')
  })
})

describe('conn status and conn routes', function () {
  this.timeout(30000)
  const TOKEN = 'ops-test-token'
  let net: StoreNetwork
  let adminPort: number

  before(async () => {
    adminPort = await freePort()
    net = await startStoreNetwork({
      dir: '',
      store: 'memory',
      alicePort: await freePort(),
      bobPort: await freePort(),
      env: { CONNECTOR_ADMIN_API: 'true', CONNECTOR_ADMIN_API_PORT: String(adminPort), CONNECTOR_ADMIN_API_TOKEN: TOKEN }
    })
    net.bob.handler = (prepare) => answer(prepare.data, false, `${OWN_ADDRESS}.bob`)
    const reply = await net.alice.pay({ amount: 5000n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(0) })
    expect(reply.type).to.equal('fulfill')
  })
  after(async () => { await stopEverything([net.alice, net.bob], [net.conn]) })

  /** The admin API found from the CONNECTOR_* variables, as on the machine the connector runs on. */
  const env = (): Record<string, string> => ({ CONNECTOR_ADMIN_API_PORT: String(adminPort), CONNECTOR_ADMIN_API_TOKEN: TOKEN })

  it('status prints health and every account with its connection and balance after a payment', async () => {
    const { code, out, err } = await command(['status'], env())
    expect(code, out + err).to.equal(0)
    const lines = out.split('\n')
    expect(lines[0]).to.equal('conn at test.conn: ready (started); 2 accounts, all connected')
    const rows = lines.filter((line) => /^(ACCOUNT|alice|bob) /.test(line)).map((line) => line.split(/ {2,}/))
    expect(rows).to.deep.equal([
      ['ACCOUNT', 'RELATION', 'ASSET', 'PLUGIN', 'CONNECTED', 'BALANCE', 'MINIMUM', 'MAXIMUM'],
      ['alice', 'child', 'USD (scale 9)', 'ilp-plugin-btp', 'yes', '5000', '-1000000000', '1000000000'],
      ['bob', 'child', 'USD (scale 9)', 'ilp-plugin-btp', 'yes', '-5000', '-1000000000', '1000000000']
    ])
  })

  it('status --json is the admin API\'s answers', async () => {
    const { code, out } = await command(['status', '--json'], env())
    expect(code).to.equal(0)
    const status = JSON.parse(out) as { health: { ready: boolean }, address: string, accounts: Record<string, { connected: boolean }>, balances: Record<string, { balance: string }> }
    expect(status.health.ready).to.equal(true)
    expect(status.address).to.equal('test.conn')
    expect(status.accounts.bob!.connected).to.equal(true)
    expect(status.balances.alice!.balance).to.equal('5000')
    expect(status.balances.bob!.balance).to.equal('-5000')
  })

  it('routes prints the routing table, from --admin-url', async () => {
    const { code, out, err } = await command(['routes', '--admin-url', `http://127.0.0.1:${adminPort}`], { CONNECTOR_ADMIN_API_TOKEN: TOKEN })
    expect(code, out + err).to.equal(0)
    const rows = out.split('\n').filter((line) => /^(PREFIX|test\.)/.test(line)).map((line) => line.split(/ {2,}/))
    expect(rows).to.deep.equal([
      ['PREFIX', 'NEXT HOP', 'PATH'],
      ['test.conn', '(this conn)', '(local)'],
      ['test.conn.alice', 'alice', '(local)'],
      ['test.conn.bob', 'bob', '(local)']
    ])
    const json = await command(['routes', '--json'], env())
    expect(JSON.parse(json.out).localRoutingTable).to.deep.equal({ 'test.conn': { nextHop: '', path: '' }, 'test.conn.alice': { nextHop: 'alice', path: '' }, 'test.conn.bob': { nextHop: 'bob', path: '' } })
  })

  it('says what is wrong, exit 1, without the token or with no conn at the address', async () => {
    const noToken = await command(['status', '--admin-url', `http://127.0.0.1:${adminPort}`])
    expect(noToken.code).to.equal(1)
    expect(noToken.out).to.include('wants its token: set CONNECTOR_ADMIN_API_TOKEN')
    const nobody = await command(['routes'], { CONNECTOR_ADMIN_API_PORT: String(await freePort()) })
    expect(nobody.code).to.equal(1)
    expect(nobody.out).to.match(/cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })
})
