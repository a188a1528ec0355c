/**
 * Versions that survive a release: on a scratch copy of the workspace, a dummy changeset and `changeset version`
 * bump @conn/types; after the build, conn starts with every built-in package (each states the range of the
 * @conn/types it was installed with) and a third-party middleware that targets the new version, and refuses one
 * that still targets the old one.
 */
import { expect } from 'chai'
import { createServer, type Server } from 'node:http'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '@conn/testkit'
import { copyWorkspace, versionAndBuild } from '../src/scratch-release.ts'
import { watch, type ConnProcess } from '../src/conn-process.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url))
const STANDARD = ['errorHandler', 'rateLimit', 'maxPacketAmount', 'throughput', 'balance', 'deduplicate', 'echo', 'expire', 'validateFulfillment', 'stats', 'alert']

describe('release: changeset version on a scratch copy, then conn with every built-in and a third-party package', function () {
  this.timeout(300000)
  let scratch: string
  let oldTypes: string
  let newTypes: string
  let ecb: Server
  const running: ConnProcess[] = []
  const timings: Record<string, number> = {}

  /** A third-party middleware (the guide's example) in the app's node_modules, targeting `range`. */
  async function thirdParty (name: string, range: string): Promise<void> {
    const dir = join(scratch, 'app', 'node_modules', name)
    await cp(join(FIXTURES, 'conn-example-deny'), dir, { recursive: true })
    for (const file of ['package.json', 'index.js']) {
      const text = (await readFile(join(dir, file), 'utf8')).replaceAll('^0.1.0', range).replaceAll('conn-example-deny', name)
      await writeFile(join(dir, file), text)
    }
  }

  function startConn (config: Record<string, unknown>): ConnProcess {
    const file = join(scratch, 'app', `conn-${running.length}.json`)
    const conn = watch(spawn(process.execPath, [join(scratch, 'packages', 'cli', 'bin', 'conn.js'), '--config', file], {
      cwd: join(scratch, 'app'), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe']
    }))
    running.push(conn)
    return conn
  }

  before(async () => {
    oldTypes = (JSON.parse(await readFile(join(ROOT, 'packages', 'types', 'package.json'), 'utf8')) as { version: string }).version
    scratch = await mkdtemp(join(tmpdir(), 'conn-release-'))
    let started = Date.now()
    await copyWorkspace(ROOT, scratch)
    timings.copy = Date.now() - started
    started = Date.now()
    newTypes = await versionAndBuild(scratch)
    timings.versionInstallBuild = Date.now() - started
    // the user's project: @conn/types installed next to the third-party packages (their peer dependency)
    await mkdir(join(scratch, 'app', 'node_modules', '@conn'), { recursive: true })
    await symlink(join(scratch, 'packages', 'types'), join(scratch, 'app', 'node_modules', '@conn', 'types'))
    await thirdParty('conn-example-deny', `^${newTypes}`)
    await thirdParty('conn-example-deny-old', `^${oldTypes}`)
    const xml = await readFile(join(ROOT, 'packages', 'backend-ecb', 'test', 'fixtures', 'eurofxref-daily.xml'))
    ecb = createServer((_req, res) => { res.setHeader('content-type', 'text/xml'); res.end(xml) })
    await new Promise<void>((resolve) => ecb.listen(0, '127.0.0.1', resolve))
  })

  afterEach(async () => {
    for (const conn of running.splice(0)) {
      if (conn.child.exitCode === null && conn.child.signalCode === null) conn.child.kill('SIGKILL')
      await conn.exited
    }
  })

  after(async () => {
    console.log(`      timings (ms): ${JSON.stringify(timings)}`)
    ecb?.close()
    await rm(scratch, { recursive: true, force: true })
  })

  it('changeset version bumps @conn/types, and the range conn checks follows it', async () => {
    expect(newTypes).not.to.equal(oldTypes)
    const { TYPES_VERSION, TYPES_RANGE } = await import(join(scratch, 'packages', 'types', 'dist', 'index.js')) as { TYPES_VERSION: string, TYPES_RANGE: string }
    expect(TYPES_VERSION).to.equal(newTypes)
    expect(TYPES_RANGE).to.equal(`^${newTypes}`)
  })

  it('starts with every built-in package and a third-party middleware targeting the new version', async () => {
    const [btpPort, miniPort, peerPort, httpPort, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
    const address = (ecb.address() as { port: number }).port
    const config = {
      ilpAddress: 'test.release',
      backend: 'ecb',
      backendConfig: { ratesApiUrl: `http://127.0.0.1:${address}/eurofxref-daily.xml` },
      store: 'level',
      storePath: join(scratch, 'balances'),
      adminApi: true,
      adminApiPort: adminPort,
      initialConnectTimeout: 100,
      middlewares: { deny: { type: 'conn-example-deny' } },
      accounts: {
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, deny: ['test.release.x'], options: { listener: { port: btpPort, secret: 's' } } },
        users: { relation: 'child', plugin: 'ilp-plugin-mini-accounts', assetCode: 'EUR', assetScale: 9, options: { wsOpts: { host: '127.0.0.1', port: miniPort } } },
        peer: { relation: 'peer', plugin: '@conn/plugin-btp', assetCode: 'USD', assetScale: 9, options: { listener: { port: peerPort, secret: 's' } } },
        web: {
          relation: 'peer', plugin: '@conn/plugin-http', assetCode: 'USD', assetScale: 9,
          options: { incoming: { port: httpPort, host: '127.0.0.1', secretToken: 'in' }, outgoing: { url: 'http://127.0.0.1:9/', secretToken: 'out' } }
        }
      }
    }
    await writeFile(join(scratch, 'app', 'conn-0.json'), JSON.stringify(config))
    const conn = startConn(config)
    await conn.waitFor('"msg":"connector ready"', 60000)
    const loaded = conn.output().split('\n').find((line) => line.includes('"msg":"middlewares loaded"'))
    expect(JSON.parse(loaded ?? '{}').middlewares).to.include.members([...STANDARD, 'deny'])
    expect(conn.output()).not.to.include('is not installed')
    const ready = await fetch(`http://127.0.0.1:${adminPort}/health/ready`)
    expect(ready.status).to.equal(200)
    const routing = await (await fetch(`http://127.0.0.1:${adminPort}/routing`)).json() as { routingTableId: string | null }
    expect(routing.routingTableId, 'route exchange (@conn/routing-ccp) runs').to.be.a('string')
    const rates = await (await fetch(`http://127.0.0.1:${adminPort}/rates`)).json() as Record<string, Record<string, number>>
    expect(rates.alice?.users, 'the ECB backend has USD -> EUR').to.be.a('number')
    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(0)
  })

  it('refuses a third-party package that still targets the old version, naming both versions', async () => {
    const config = {
      ilpAddress: 'test.release',
      middlewares: { deny: { type: 'conn-example-deny-old' } },
      accounts: {}
    }
    await writeFile(join(scratch, 'app', `conn-${running.length}.json`), JSON.stringify(config))
    const conn = startConn(config)
    expect(await conn.exited).to.equal(1)
    expect(conn.output()).to.include(`package "conn-example-deny-old" targets @conn/types ^${oldTypes}, but this conn has @conn/types ${newTypes}`)
  })
})
