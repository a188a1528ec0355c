/**
 * A third-party middleware's per-account option, end to end through the real `conn` bin: the package
 * (test/fixtures/app/node_modules/conn-fixture-blocklist) declares `blocklist` in its manifest; conn, which knows
 * nothing about it, checks it at start, and the middleware enforces it on real packets from real ilp-plugin-btp
 * clients. A misspelt option (third-party or standard) stops start-up naming the field, before any port opens.
 */
import { expect } from 'chai'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Harness, FIXTURES_APP_DIR, freePort, type Node } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'

describe('e2e: a third-party middleware\'s account option', function () {
  this.timeout(20000)
  let h: Harness
  let conn: ConnProcess | undefined
  let dir: string

  beforeEach(async () => {
    h = new Harness()
    dir = await mkdtemp(join(FIXTURES_APP_DIR, 'run-'))
  })
  afterEach(async () => {
    await h.close()
    if (conn !== undefined && conn.child.exitCode === null) {
      conn.child.kill('SIGTERM')
      await conn.exited
    }
    conn = undefined
    await rm(dir, { recursive: true, force: true })
  })

  /** Writes the config in a folder under the fixtures app (package names resolve from there) and starts conn on it. */
  async function start (aliceOptions: Record<string, unknown>, ports: number[]): Promise<void> {
    const account = (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9,
      options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } }, ...extra
    })
    const file = join(dir, 'conn.json')
    await writeFile(file, JSON.stringify({
      ilpAddress: 'test.conn',
      backend: 'one-to-one',
      spread: 0,
      middlewares: { blocklist: { type: 'conn-fixture-blocklist' } },
      accounts: { alice: account(ports[0]!, aliceOptions), bob: account(ports[1]!), carol: account(ports[2]!) }
    }))
    conn = startConn(['--config', file], {})
  }

  it('is enforced on the account that sets it: a blocked destination is rejected with F02, others are paid', async () => {
    const ports = [await freePort(), await freePort(), await freePort()]
    await start({ blocklist: ['test.conn.bob'] }, ports)
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name, i) => h.client(name, `btp+ws://:s@127.0.0.1:${ports[i]!}`)) as [Node, Node, Node]
    await Promise.all([alice.connect(), bob.connect(), carol.connect()])
    await conn!.waitFor('connector ready')
    const blocked = await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
    expect(blocked).to.deep.include({ type: 'reject', code: 'F02', triggeredBy: 'test.conn', message: 'destination is on the account\'s blocklist. destination=test.conn.bob' })
    expect(bob.received).to.have.length(0)
    expect(await alice.pay({ amount: 11, destination: 'test.conn.carol', ...h.condition() })).to.deep.include({ type: 'fulfill' })
    expect(carol.received.map((p) => p.amount)).to.deep.equal([11n])
    // bob has no blocklist of his own
    expect(await bob.pay({ amount: 12, destination: 'test.conn.alice', ...h.condition() })).to.deep.include({ type: 'fulfill' })
  })

  it('stops start-up naming the field when the option is misspelt, or has the wrong type, before any port opens', async () => {
    const ports = [await freePort(), await freePort(), await freePort()]
    await start({ blocklsit: ['test.conn.bob'], blocklist: 'test.conn.bob', balance: { maxmum: '10' } }, ports)
    expect(await conn!.exited).to.equal(1)
    const stderr = conn!.stderr()
    expect(stderr).to.include('conn: config error: accounts.alice.blocklsit: unknown option (no middleware that runs declares it)')
    expect(stderr).to.include('conn: config error: accounts.alice.blocklist: expected an array, got "test.conn.bob"')
    expect(stderr).to.include('conn: config error: accounts.alice.balance.maximum: required')
    expect(stderr).to.include('conn: config error: accounts.alice.balance.maxmum: unknown option')
    expect(stderr).to.include('nothing was started')
    expect(conn!.stdout()).to.not.include('listening for BTP')
  })
})
