/**
 * The install test: every public package packed as a release would pack it, installed with npm in a folder
 * outside the workspace, and run there as a user runs it. First the minimal install (the cli without its optional
 * dependencies), then the full one in the same folder (what `npx @conn/cli` gets) plus two third-party packages
 * written from docs/write-a-package.md.
 */
import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '@conn/testkit'
import { packAll, type PackedPackage } from '../src/pack.ts'
import { packFixture, Project } from '../src/project.ts'
import { startConn, watch, type ConnProcess } from '../src/conn-process.ts'
import { connectClient, fulfilEverything, pay, type Client } from '../src/btp.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url))
const OPTIONAL = ['@conn/store-level', '@conn/store-redis', '@conn/backend-ecb', '@conn/admin-api', '@conn/console', '@conn/routing-ccp', '@conn/plugin-http',
  'ilp-plugin-btp', 'ilp-plugin-mini-accounts', 'ilp-compat-plugin']

async function duKilobytes (dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', dir])
  return Number(stdout.split('\t')[0])
}

async function isListening (port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })
    return true
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED'
  }
}

describe('install: packed tarballs installed with npm outside the workspace', function () {
  this.timeout(600000)
  let work: string
  let packed: PackedPackage[]
  let project: Project
  const timings: Record<string, number> = {}
  const running: ConnProcess[] = []
  const clients: Client[] = []

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'conn-install-'))
    const started = Date.now()
    packed = await packAll(ROOT, join(work, 'packs'))
    timings.pack = Date.now() - started
    await mkdir(join(work, 'project'))
    project = new Project(join(work, 'project'), packed)
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async (client) => { await client.disconnect().catch(() => {}) }))
    for (const conn of running.splice(0)) {
      if (conn.child.exitCode === null && conn.child.signalCode === null) conn.child.kill('SIGKILL')
      await conn.exited
    }
  })

  after(async () => {
    console.log(`      timings (ms): ${JSON.stringify(timings)}`)
    if (process.env.KEEP_INSTALL_TEST === undefined) await rm(work, { recursive: true, force: true })
  })

  describe('the tarballs', () => {
    it('every public package is packed with LICENSE, README, its built entry point and its registry metadata', async () => {
      expect(packed.map((p) => p.name)).to.include.members(['@conn/cli', '@conn/core', '@conn/types', '@conn/store-level', '@conn/testkit'])
      const license = await readFile(join(ROOT, 'LICENSE'), 'utf8')
      expect(license).to.include('Apache License').and.include('Version 2.0, January 2004')
      for (const pkg of packed) {
        const { stdout: list } = await run('tar', ['tzf', pkg.tarball])
        const files = list.split('\n')
        expect(files, pkg.name).to.include.members(['package/LICENSE', 'package/README.md', 'package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts'])
        const { stdout: licenseText } = await run('tar', ['xzf', pkg.tarball, '-O', 'package/LICENSE'])
        expect(licenseText, `${pkg.name} LICENSE`).to.equal(license)
        const { stdout: manifestText } = await run('tar', ['xzf', pkg.tarball, '-O', 'package/package.json'])
        expect(manifestText, `${pkg.name}: workspace: ranges are resolved`).not.to.include('workspace:')
        const manifest = JSON.parse(manifestText) as Record<string, any>
        expect(manifest.license, pkg.name).to.equal('Apache-2.0')
        expect(manifest.repository, pkg.name).to.deep.equal({ type: 'git', url: 'git+https://github.com/conn-ilp/conn.git', directory: `packages/${pkg.dir.split('/').at(-1)}` })
        expect(manifest.homepage, pkg.name).to.match(/^https:\/\/github\.com\/conn-ilp\/conn\//)
        expect(manifest.bugs, pkg.name).to.deep.equal({ url: 'https://github.com/conn-ilp/conn/issues' })
        expect(manifest.publishConfig, pkg.name).to.deep.equal({ access: 'public' })
        expect(manifest.engines?.node, pkg.name).to.be.a('string')
        const source = JSON.parse(await readFile(join(pkg.dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
        expect(source.scripts?.prepack, `${pkg.name}: packing builds first`).to.equal('tsc -b')
        const { stdout: readme } = await run('tar', ['xzf', pkg.tarball, '-O', 'package/README.md'])
        expect(readme, `${pkg.name} README: no link relative to the repository`).not.to.match(/\]\((?!https?:|#)/)
      }
    })
  })

  describe('minimal install: npm i @conn/cli --omit=optional', () => {
    before(async () => {
      timings.npmMinimal = await project.install({ '@conn/cli': project.spec('@conn/cli') }, { omitOptional: true })
      timings.minimalKB = await duKilobytes(join(project.dir, 'node_modules'))
    })

    it('installs the cli, core, conn\'s BTP transport and the built-in middlewares, none of the optional parts', async () => {
      for (const name of ['@conn/cli', '@conn/core', '@conn/types', '@conn/plugin-btp', '@conn/middleware-balance', '@conn/middleware-error-handler']) {
        expect(await project.has(name), name).to.equal(true)
      }
      for (const name of [...OPTIONAL, 'classic-level', 'ioredis']) expect(await project.has(name), name).to.equal(false)
    })

    it('starts the embedded default; two BTP clients get addresses and one pays the other in full', async () => {
      const port = await freePort()
      const conn = startConn(project.dir, ['--port', String(port)])
      running.push(conn)
      await conn.waitFor('conn is running at test.conn')
      const alice = await connectClient(`btp+ws://alice:a-secret@127.0.0.1:${port}`)
      const bob = await connectClient(`btp+ws://bob:b-secret@127.0.0.1:${port}`)
      clients.push(alice, bob)
      const received = fulfilEverything(bob)
      expect(await pay(alice, 'test.conn.local.bob', '1234')).to.deep.equal({ type: 'fulfill' })
      expect(received).to.deep.equal(['1234'])
      conn.child.kill('SIGTERM')
      expect(await conn.exited).to.equal(0)
    })

    it('a config naming a package that is not installed stops before any port, naming the option and the npm i line', async () => {
      const [port, adminPort] = [await freePort(), await freePort()]
      const conn = startConn(project.dir, [], {
        CONNECTOR_ILP_ADDRESS: 'test.mine',
        CONNECTOR_STORE: 'level',
        CONNECTOR_STORE_PATH: join(work, 'never'),
        CONNECTOR_ADMIN_API: 'true',
        CONNECTOR_ADMIN_API_PORT: String(adminPort),
        CONNECTOR_ACCOUNTS: JSON.stringify({ alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: { listener: { port, secret: 's' } } } })
      })
      running.push(conn)
      expect(await conn.exited).to.equal(1)
      expect(conn.output()).to.include('conn: config error: store: store "level": package "@conn/store-level" is not installed; install it next to your config: npm i @conn/store-level')
      expect(conn.output()).to.include('conn: config error: adminApi: the admin API: package "@conn/admin-api" is not installed; install it next to your config: npm i @conn/admin-api')
      expect(conn.output()).to.include('nothing was started')
      expect(await isListening(port)).to.equal(false)
      expect(await isListening(adminPort)).to.equal(false)
    })
  })

  describe('full install: npx @conn/cli (optional dependencies too) and two third-party packages', () => {
    let typesVersion: string

    before(async () => {
      typesVersion = packed.find((p) => p.name === '@conn/types')!.version
      const deny = await packFixture(join(FIXTURES, 'conn-example-deny'), join(work, 'fixtures', 'deny'), join(work, 'packs'), typesVersion)
      const rates = await packFixture(join(FIXTURES, 'conn-example-fixed-rates'), join(work, 'fixtures', 'rates'), join(work, 'packs'), typesVersion)
      timings.npmFull = await project.install({
        '@conn/cli': project.spec('@conn/cli'),
        'ilp-protocol-ildcp': '2.2.3', // the root README's client example needs it
        'conn-example-deny': `file:${deny}`,
        'conn-example-fixed-rates': `file:${rates}`
      })
      timings.fullKB = await duKilobytes(join(project.dir, 'node_modules'))
    })

    it('installs the optional parts', async () => {
      for (const name of OPTIONAL) expect(await project.has(name), name).to.equal(true)
    })

    it('the root README\'s client example gets its address from the embedded default', async () => {
      const port = await freePort()
      const conn = startConn(project.dir, ['--port', String(port)])
      running.push(conn)
      await conn.waitFor('conn is running at test.conn')
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
      const example = /```js\n(\/\/ npm i @conn\/plugin-btp ilp-protocol-ildcp\n[\s\S]*?)```/.exec(readme)?.[1]
      expect(example, 'the example in README.md').to.be.a('string')
      const script = example!.replace('127.0.0.1:7768', `127.0.0.1:${port}`) + '\nconsole.log(clientAddress)\nawait plugin.disconnect()\n'
      await writeFile(join(project.dir, 'client.mjs'), script)
      const { stdout } = await run(process.execPath, ['client.mjs'], { cwd: project.dir, timeout: 20000 })
      expect(stdout.trim()).to.equal('test.conn.local.alice')
    })

    it('npx conn --help prints the usage, and --help --all every option', async () => {
      const { stdout } = await run('npx', ['--no-install', 'conn', '--help'], { cwd: project.dir })
      expect(stdout).to.include('Usage: conn')
      const { stdout: all } = await run('npx', ['--no-install', 'conn', '--help', '--all'], { cwd: project.dir })
      expect(all).to.include('CONNECTOR_STORE_PATH').and.include('(shutdownTimeout, integer, default 30000)')
    })

    it('runs a reference-style config on the level store with the admin API and the third-party packages; SIGTERM exits 0 with balances kept', async () => {
      const [alicePort, bobPort, adminPort] = [await freePort(), await freePort(), await freePort()]
      const account = (assetCode: string, port: number, secret: string): Record<string, unknown> => ({
        relation: 'child', plugin: 'ilp-plugin-btp', assetCode, assetScale: 9,
        balance: { minimum: '-1000000', maximum: '1000000' },
        options: { listener: { port, secret } }
      })
      const config = {
        ilpAddress: 'test.mine',
        spread: 0,
        backend: 'conn-example-fixed-rates',
        backendConfig: { rates: { EUR: 2 } }, // 1 EUR = 2 USD
        store: 'leveldown',
        storePath: join(work, 'balances'),
        adminApi: true,
        adminApiPort: adminPort,
        middlewares: { deny: { type: 'conn-example-deny' } },
        accounts: { alice: { ...account('USD', alicePort, 'alice-secret'), deny: ['test.mine.bob.blocked'] }, bob: account('EUR', bobPort, 'bob-secret') }
      }
      await writeFile(join(project.dir, 'conn.json'), JSON.stringify(config))

      const startAndConnect = async (): Promise<{ conn: ConnProcess, alice: Client, bob: Client, received: string[] }> => {
        const conn = startConn(project.dir, ['--config', 'conn.json'])
        running.push(conn)
        const [alice, bob] = await Promise.all([connectClient(`btp+ws://:alice-secret@127.0.0.1:${alicePort}`), connectClient(`btp+ws://:bob-secret@127.0.0.1:${bobPort}`)])
        clients.push(alice, bob)
        return { conn, alice, bob, received: fulfilEverything(bob) }
      }
      const balances = async (): Promise<Record<string, string>> => {
        const body = await (await fetch(`http://127.0.0.1:${adminPort}/balance`)).json() as { accounts: Record<string, { balance: string }> }
        return Object.fromEntries(Object.entries(body.accounts).map(([id, { balance }]) => [id, balance]))
      }

      const first = await startAndConnect()
      expect(await pay(first.alice, 'test.mine.bob', '1000')).to.deep.equal({ type: 'fulfill' })
      expect(first.received, 'the fixed-rates backend: 1000 USD units are 500 EUR units').to.deep.equal(['500'])
      const denied = await pay(first.alice, 'test.mine.bob.blocked', '1000')
      expect(denied, 'the deny middleware').to.include({ type: 'reject', code: 'F02' })
      expect(first.received).to.have.length(1)
      const before = await balances()
      expect(before.alice, 'alice').to.be.oneOf(['1000', '-1000'])
      expect(before.bob, 'bob').to.be.oneOf(['500', '-500'])

      // the way a supervisor stops it: SIGTERM to the process it started (the bin itself)
      first.conn.child.kill('SIGTERM')
      expect(await first.conn.exited).to.equal(0)
      await Promise.all(clients.splice(0).map(async (client) => { await client.disconnect() }))

      const second = await startAndConnect()
      await second.conn.waitFor('"msg":"middlewares loaded"')
      expect(await balances(), 'the balances read back from the level store').to.deep.equal(before)
      second.conn.child.kill('SIGTERM')
      expect(await second.conn.exited).to.equal(0)
    })

    it('under a shell supervisor that execs the bin, SIGTERM reaches conn and it exits 0', async () => {
      const port = await freePort()
      const child = (await import('node:child_process')).spawn('sh', ['-c', `exec ./node_modules/.bin/conn --port ${port}`], {
        cwd: project.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe']
      })
      const conn = watch(child)
      running.push(conn)
      await conn.waitFor('conn is running at test.conn')
      child.kill('SIGTERM')
      expect(await conn.exited, `${String(child.signalCode)} ${conn.output()}`).to.equal(0)
      expect(conn.output()).to.include('"signal":"SIGTERM"')
      expect(dirname(project.dir)).to.equal(work)
    })
  })
})
