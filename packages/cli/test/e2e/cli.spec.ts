import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { freePort } from '@conn/testkit'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BtpPluginModule from 'ilp-plugin-btp'
import * as IlpPacket from 'ilp-packet'
import * as Ildcp from 'ilp-protocol-ildcp'
import { BIN, logLines, startConn, type ConnProcess } from '../helpers/process.ts'

const BtpPlugin = BtpPluginModule.default
type Plugin = InstanceType<typeof BtpPlugin>


async function isListening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Connects a BTP client, retrying while the connector is still starting. */
async function client (url: string): Promise<Plugin> {
  const plugin = new BtpPlugin({ server: url, reconnectInterval: 50 } as any)
  await plugin.connect()
  return plugin
}

/** Makes `receiver` fulfil every packet, recording what it got. */
function fulfilling (receiver: Plugin): Array<ReturnType<typeof IlpPacket.deserializeIlpPrepare>> {
  const seen: Array<ReturnType<typeof IlpPacket.deserializeIlpPrepare>> = []
  receiver.registerDataHandler(async (data: Buffer) => {
    const prepare = IlpPacket.deserializeIlpPrepare(data)
    seen.push(prepare)
    return IlpPacket.serializeIlpFulfill({ fulfillment: prepare.data.subarray(0, 32), data: Buffer.from('thanks') })
  })
  return seen
}

/** A prepare whose data carries its own fulfillment, so the `fulfilling` receiver can answer it. */
async function pay (sender: Plugin, destination: string, amount: string): Promise<ReturnType<typeof IlpPacket.deserializeIlpReply>> {
  const fulfillment = randomBytes(32)
  const reply = await sender.sendData(IlpPacket.serializeIlpPrepare({
    amount,
    destination,
    executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt: new Date(Date.now() + 10000),
    data: fulfillment
  }))
  return IlpPacket.deserializeIlpReply(reply)
}

describe('conn (the cli process)', function () {
  this.timeout(20000)
  let conn: ConnProcess | undefined
  const plugins: Plugin[] = []

  afterEach(async () => {
    await Promise.all(plugins.splice(0).map(async (p) => await p.disconnect().catch(() => {})))
    if (conn !== undefined && conn.child.exitCode === null) {
      conn.child.kill('SIGKILL')
      await conn.exited
    }
    conn = undefined
  })

  it('--help prints the usage and exits 0', async () => {
    conn = startConn(['--help'])
    expect(await conn.exited).to.equal(0)
    expect(conn.stdout()).to.include('Usage: conn')
    expect(conn.stdout()).to.include('CONNECTOR_ACCOUNTS')
    expect(conn.stdout()).to.include('conn --help --all lists them all')
    expect(conn.stdout()).not.to.include('README')
  })

  it('--help --all prints every CONNECTOR_* option with its default and exits 0', async () => {
    conn = startConn(['--help', '--all'])
    expect(await conn.exited).to.equal(0)
    expect(conn.stdout()).to.match(/CONNECTOR_SHUTDOWN_TIMEOUT +ms packets in flight/)
    expect(conn.stdout()).to.include('(shutdownTimeout, integer, default 30000)')
  })

  it('with no configuration starts the embedded default: mini-accounts clients get addresses and pay each other', async () => {
    const port = await freePort()
    conn = startConn(['--port', String(port)])
    await conn.waitFor('connector ready')
    expect(conn.stderr()).to.include(`btp+ws://<name>:<secret>@127.0.0.1:${port}`)
    const alice = await client(`btp+ws://alice:alice-pw@127.0.0.1:${port}`)
    const bob = await client(`btp+ws://bob:bob-pw@127.0.0.1:${port}`)
    plugins.push(alice, bob)
    const seen = fulfilling(bob)
    const aliceInfo = await Ildcp.fetch(alice.sendData.bind(alice))
    const bobInfo = await Ildcp.fetch(bob.sendData.bind(bob))
    expect(aliceInfo).to.deep.equal({ clientAddress: 'test.conn.local.alice', assetScale: 9, assetCode: 'XRP' })
    expect(bobInfo.clientAddress).to.equal('test.conn.local.bob')

    const reply = await pay(alice, 'test.conn.local.bob.inbox', '12345')
    expect(reply).to.have.property('fulfillment')
    expect(seen.map((p) => [p.amount, p.destination])).to.deep.equal([['12345', 'test.conn.local.bob.inbox']])

    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(0)
    expect(logLines(conn.stdout()).map((l) => l.msg)).to.include('connector stopped')
    expect(await isListening(port)).to.equal(false)
  })

  it('runs a reference-style CONNECTOR_* configuration with plugins by package name, and stops on SIGINT', async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const listener = (port: number, secret: string) => ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
    conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: 'test.ref',
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(alicePort, 'a-secret') },
        bob: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 6, options: listener(bobPort, 'b-secret') }
      })
    })
    const [alice, bob] = await Promise.all([
      client(`btp+ws://:a-secret@127.0.0.1:${alicePort}`),
      client(`btp+ws://:b-secret@127.0.0.1:${bobPort}`)
    ])
    plugins.push(alice, bob)
    await conn.waitFor('connector ready')
    const seen = fulfilling(bob)
    const reply = await pay(alice, 'test.ref.bob', '5000999')
    expect(reply).to.have.property('fulfillment')
    expect(seen[0]!.amount).to.equal('5000') // scale 9 -> 6, floor

    conn.child.kill('SIGINT')
    expect(await conn.exited).to.equal(0)
    expect(await isListening(alicePort)).to.equal(false)
  })

  it('lists every configuration error with its path and exits 1 before opening any port', async () => {
    const port = await freePort()
    conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: 'test.bad',
      CONNECTOR_SPREAD: 'abc',
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: { relation: 'kid', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: '9x', options: { listener: { port, secret: 's' } } },
        bob: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, maxPacketAmount: '12x' }
      }),
      CONNECTOR_ROUTES: JSON.stringify([{ targetPrefix: 'test.x', peerId: 'carol' }])
    })
    expect(await conn.exited).to.equal(1)
    const lines = conn.stderr().trim().split('\n')
    expect(lines).to.deep.equal([
      'conn: config error: CONNECTOR_SPREAD: expected a number, got "abc"',
      'conn: config error: accounts.alice.relation (CONNECTOR_ACCOUNTS): expected one of "parent", "peer", "child", got "kid"',
      'conn: config error: accounts.alice.assetScale (CONNECTOR_ACCOUNTS): expected an integer 0..255, got "9x"',
      'conn: config error: accounts.bob.maxPacketAmount (CONNECTOR_ACCOUNTS): expected a positive integer string, got "12x"',
      'conn: config error: routes[0].peerId (CONNECTOR_ROUTES): no account "carol" in accounts',
      'conn: 5 configuration errors; nothing was started.'
    ])
    expect(conn.stdout()).to.not.include('listening')
    expect(await isListening(port)).to.equal(false)
  })

  it('names a plugin package that is not installed and exits 1', async () => {
    conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: 'test.x',
      CONNECTOR_ACCOUNTS: JSON.stringify({ alice: { relation: 'child', plugin: 'ilp-plugin-does-not-exist', assetCode: 'USD', assetScale: 9 } })
    })
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr()).to.include('conn: config error: accounts.alice.plugin: package "ilp-plugin-does-not-exist" is not installed')
  })

  it('runs as its own executable (as npm and pnpm link it) with V8\'s young generation capped by the node flag of its shebang', async function () {
    this.timeout(60_000) // the whole default configuration, loaded cold: a CI machine at load 30 took more than 20 s
    const port = await freePort()
    const child = spawn(BIN, ['--port', String(port)], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    try {
      while (!out.includes('connector ready')) {
        if (child.exitCode !== null) throw new Error(`conn exited with ${child.exitCode} before it was ready:\n${out}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const cmdline = (await readFile(`/proc/${child.pid!}/cmdline`, 'utf8')).split('\0')
      expect(cmdline).to.include('--max-semi-space-size=4')
      expect(cmdline.some((arg) => arg.endsWith('bin/conn.js'))).to.equal(true)
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  })

  it('needs accounts once anything is configured, and says how to get the embedded default', async () => {
    conn = startConn([], { CONNECTOR_SPREAD: '0' })
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr()).to.include('conn: config error: accounts: required: set CONNECTOR_ACCOUNTS')
  })

  it('reads a JSON config file, lets CONNECTOR_* override it, and warns about unknown variables and options without effect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conn-cli-'))
    try {
      const port = await freePort()
      const file = join(dir, 'conn.json')
      await writeFile(file, JSON.stringify({
        ilpAddress: 'test.fromfile',
        backend: 'one-to-one',
        accounts: {
          alice: {
            relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9,
            balance: { maximum: '1000' },
            options: { listener: { port, secret: 'pw', wsOpts: { host: '127.0.0.1', port } } }
          }
        }
      }))
      conn = startConn(['--config', file], { CONNECTOR_ILP_ADDRESS: 'test.fromenv', CONNECTOR_TYPO: 'x', CONNECTOR_ADMIN_API_TOKEN: 'secret-token' })
      const alice = await client(`btp+ws://:pw@127.0.0.1:${port}`)
      plugins.push(alice)
      await conn.waitFor('connector ready')
      const info = await Ildcp.fetch(alice.sendData.bind(alice))
      expect(info.clientAddress).to.equal('test.fromenv.alice')
      const warnings = logLines(conn.stdout()).filter((l) => l.level === 40).map((l) => String(l.msg))
      expect(warnings).to.include('unrecognized environment variable CONNECTOR_TYPO (ignored)')
      expect(warnings).to.include('adminApiToken is set, but adminApi is off; no HTTP server is started')
      // the balance middleware ships with the cli, so the balance limit is enforced, not warned about
      expect(warnings.some((w) => w.startsWith('not enforced:'))).to.equal(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a missing config file and exits 1', async () => {
    conn = startConn(['--config', '/nonexistent/conn.json'])
    expect(await conn.exited).to.equal(1)
    expect(conn.stderr()).to.include('conn: config error: /nonexistent/conn.json: file not found')
  })
})
