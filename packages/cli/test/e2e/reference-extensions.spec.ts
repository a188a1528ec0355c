/**
 * Extensions written for ilp-connector v23, loaded by package name and unchanged by the real `conn` process: a
 * rate backend, a store, a custom middleware and an LPI1 plugin (through ilp-compat-plugin), all CommonJS
 * packages in test/fixtures/reference-extensions/node_modules, written from the reference's documented
 * interfaces. The configuration file lives in a run folder inside that fixtures folder, so the names resolve
 * from there as an operator's would from next to their config; real ilp-plugin-btp clients send and receive.
 */
import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Harness, freePort, type Node } from '../helpers/harness.ts'
import { logLines, startConn, type ConnProcess } from '../helpers/process.ts'

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/reference-extensions/', import.meta.url))
const LEDGER_PREFIX = 'test.conn.ledger.'
/**
 * floor(amount x rate) for the fixture backend's rate: backendConfig.rate 2 times (1 - spread 0.01), the number
 * 1.98, which conn reads exactly through its shortest decimal form as the reference's BigNumber does.
 */
function converted (amount: bigint): bigint {
  return amount * 198n / 100n
}

function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

interface Run {
  dir: string
  config: string
  alicePort: number
  bobPort: number
}

/** A run folder inside the fixtures folder with a reference-style config file naming the four fixture packages. */
async function newRun (): Promise<Run> {
  const dir = await mkdtemp(join(FIXTURE_DIR, 'run-'))
  const [alicePort, bobPort] = [await freePort(), await freePort()]
  const listener = (port: number, secret: string): Record<string, unknown> => ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
  const config = {
    ilpAddress: 'test.conn',
    backend: 'fixture-ilp-backend-fixed',
    spread: 0.01,
    backendConfig: { rate: 2, recordPath: join(dir, 'backend.jsonl') },
    store: 'fixture-ilp-store-json',
    storePath: join(dir, 'store.json'),
    middlewares: {
      limit: { type: 'fixture-ilp-middleware-limit', options: { maxAmount: '5000', countPath: join(dir, 'counts.json') } }
    },
    accounts: {
      alice: {
        relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(alicePort, 'alice-secret'),
        balance: { minimum: '-1000000000', maximum: '10000' }
      },
      bob: {
        relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(bobPort, 'bob-secret'),
        balance: { minimum: '-1000000000', maximum: '1000000000' }
      },
      ledger: {
        relation: 'child', plugin: 'fixture-ilp-plugin-ledger', assetCode: 'XYZ', assetScale: 9,
        options: { prefix: LEDGER_PREFIX, account: 'connector', currencyCode: 'XYZ', currencyScale: 9 }
      }
    }
  }
  const path = join(dir, 'config.json')
  await writeFile(path, JSON.stringify(config, null, 2))
  return { dir, config: path, alicePort, bobPort }
}

async function readJson<T> (path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

/** The JSON lines of a file once it has `count` of them (or what it has after 3 s). */
async function recordLines (path: string, count: number): Promise<Array<Record<string, string>>> {
  const deadline = Date.now() + 3000
  for (;;) {
    const lines = existsSync(path) ? (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, string>) : []
    if (lines.length >= count || Date.now() > deadline) return lines
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A Prepare for the ledger's receiver: condition sha256(sha256(data)), the receiver's rule. */
function forReceiver (): { data: Buffer, executionCondition: Buffer, fulfillment: Buffer } {
  const data = randomBytes(16)
  const fulfillment = sha256(data)
  return { data, fulfillment, executionCondition: sha256(fulfillment) }
}

describe('e2e: extensions written for ilp-connector, loaded unchanged', function () {
  this.timeout(30000)
  let h: Harness
  let run: Run
  const conns: ConnProcess[] = []

  /** Starts conn on the run's config, with alice's and bob's BTP clients; resolves when it is ready. */
  async function start (): Promise<{ conn: ConnProcess, alice: Node, bob: Node }> {
    const conn = startConn(['--config', run.config, '--log-level', 'info'])
    conns.push(conn)
    const alice = h.client('alice', `btp+ws://:alice-secret@127.0.0.1:${run.alicePort}`)
    const bob = h.client('bob', `btp+ws://:bob-secret@127.0.0.1:${run.bobPort}`)
    const died = conn.exited.then((code) => { throw new Error(`conn exited (${String(code)}) while starting:\n${conn.stderr()}\n${conn.stdout()}`) })
    died.catch(() => {})
    await Promise.race([Promise.all([alice.connect(), bob.connect()]), died])
    await conn.waitFor('connector ready')
    alice.address = 'test.conn.alice'
    bob.address = 'test.conn.bob'
    return { conn, alice, bob }
  }

  /** SIGTERM: conn runs the teardown pipelines, closes the store and exits 0. */
  async function stop (conn: ConnProcess, ...nodes: Node[]): Promise<void> {
    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(0)
    await Promise.all(nodes.map(async (node) => { await node.disconnect() }))
  }

  beforeEach(async () => {
    h = new Harness()
    run = await newRun()
  })

  afterEach(async () => {
    await h.close().catch(() => {})
    for (const conn of conns.splice(0)) {
      if (conn.child.exitCode === null && conn.child.signalCode === null) {
        conn.child.kill('SIGKILL')
        await conn.exited
      }
    }
    await rm(run.dir, { recursive: true, force: true })
  })

  it('backend: delivers at its rate, and gets submitPayment for each fulfilled payment and submitPacket for every result', async () => {
    const { conn, alice, bob } = await start()
    const paid = await alice.pay({ amount: 500, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() })
    expect(paid).to.deep.include({ type: 'fulfill', data: Buffer.from('fulfilled by bob') })
    // a condition bob does not know: he rejects it (F99), after receiving the converted amount
    const refused = await alice.pay({ amount: 100, destination: 'test.conn.bob', expiresIn: 10000, executionCondition: randomBytes(32) })
    expect(refused).to.deep.include({ type: 'reject', code: 'F99', triggeredBy: 'test.conn.bob' })
    expect(bob.received.map((p) => p.amount)).to.deep.equal([990n, 198n])

    const lines = await recordLines(join(run.dir, 'backend.jsonl'), 4)
    expect(lines).to.deep.equal([
      { event: 'connect' },
      { event: 'packet', sourceAccount: 'alice', sourceAmount: '500', destinationAccount: 'bob', destinationAmount: '990', destination: 'test.conn.bob', result: 'fulfill' },
      { event: 'payment', sourceAccount: 'alice', sourceAmount: '500', destinationAccount: 'bob', destinationAmount: '990' },
      { event: 'packet', sourceAccount: 'alice', sourceAmount: '100', destinationAccount: 'bob', destinationAmount: '198', destination: 'test.conn.bob', result: 'reject' }
    ])
    await stop(conn, alice, bob)
  })

  it('middleware: rejects above its limit with its own code, lets other packets pass, and runs per account from startup to teardown', async () => {
    const { conn, alice, bob } = await start()
    const over = await alice.pay({ amount: 6000, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() })
    expect(over).to.deep.include({ type: 'reject', code: 'F03', triggeredBy: 'test.conn', message: 'amount above limit. amount=6000 maximum=5000' })
    expect(bob.received).to.have.length(0)
    const under = await alice.pay({ amount: 700, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() })
    expect(under.type).to.equal('fulfill')
    expect(bob.received.map((p) => p.amount)).to.deep.equal([converted(700n)])

    // conn placed it after the built-ins, as the reference appends custom middlewares: no placement warning
    const lines = logLines(conn.stdout())
    expect(lines.some((l) => l.msg === 'middlewares loaded' && JSON.stringify(l.middlewares).endsWith(',"limit"]'))).to.equal(true)
    expect(lines.filter((l) => l.level === 40 && l.middleware === 'limit')).to.deep.equal([])
    await stop(conn, alice, bob)
    const counts = await readJson<Record<string, Record<string, unknown>>>(join(run.dir, 'counts.json'))
    expect(counts).to.deep.equal({
      alice: { assetCode: 'USD', startup: 1, incoming: 2, rejected: 1, outgoing: 0, fulfilled: 0, teardown: 1, address: 'test.conn' },
      bob: { assetCode: 'USD', startup: 1, incoming: 0, rejected: 0, outgoing: 1, fulfilled: 1, teardown: 1, address: 'test.conn' },
      ledger: { assetCode: 'XYZ', startup: 1, incoming: 0, rejected: 0, outgoing: 0, fulfilled: 0, teardown: 1, address: 'test.conn' }
    })
  })

  it('LPI1 plugin: a payment through it is fulfilled with the exact amount, and a payment back out of it reaches bob', async () => {
    const { conn, alice, bob } = await start()
    const toReceiver = forReceiver()
    const paid = await alice.pay({ amount: 1234, destination: LEDGER_PREFIX + 'receiver.x', expiresIn: 10000, ...toReceiver })
    expect(paid.type).to.equal('fulfill')
    if (paid.type !== 'fulfill') return
    expect(paid.fulfillment.equals(toReceiver.fulfillment)).to.equal(true)
    expect(JSON.parse(paid.data.toString())).to.deep.equal({ amount: String(converted(1234n)), to: LEDGER_PREFIX + 'receiver', seq: 1 })

    const wrong = await alice.pay({ amount: 10, destination: LEDGER_PREFIX + 'receiver', expiresIn: 10000, data: randomBytes(8), executionCondition: randomBytes(32) })
    expect(wrong).to.deep.include({ type: 'reject', code: 'F05', triggeredBy: LEDGER_PREFIX + 'receiver', message: 'condition is not sha256(sha256(data)).' })

    // the ledger's bounce account pays the same amount back in through the plugin, addressed to bob
    const back = await alice.pay({ amount: 1000, destination: LEDGER_PREFIX + 'bounce', expiresIn: 10000, data: Buffer.from('test.conn.bob'), ...h.condition() })
    expect(back).to.deep.include({ type: 'fulfill', data: Buffer.from('fulfilled by bob') })
    expect(bob.received.map((p) => [p.amount, p.destination, p.data.toString()])).to.deep.equal([
      [converted(converted(1000n)), 'test.conn.bob', 'bounced by ' + LEDGER_PREFIX + 'bounce']
    ])
    await stop(conn, alice, bob)
  })

  it('store: balances and the LPI1 plugin\'s state are kept in the store file and read back after a restart', async () => {
    const first = await start()
    expect((await first.alice.pay({ amount: 500, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() })).type).to.equal('fulfill')
    const firstLedger = await first.alice.pay({ amount: 300, destination: LEDGER_PREFIX + 'receiver', expiresIn: 10000, ...forReceiver() })
    expect(firstLedger.type === 'fulfill' && JSON.parse(firstLedger.data.toString()).seq).to.equal(1)
    await stop(first.conn, first.alice, first.bob)

    const afterFirst = await readJson<Record<string, string>>(join(run.dir, 'store.json'))
    expect(afterFirst).to.deep.equal({ 'balance:alice': '800', 'balance:bob': String(-converted(500n)), 'plugin:ledger:seq': '1' })

    const second = await start()
    // alice's balance comes back as 800: 800 + 9300 is above her maximum of 10000 (T04 from the balance
    // middleware); from 0 the packet would have passed the balance and met the fixture middleware's limit (F03)
    const refused = await second.alice.pay({ amount: 9300, destination: 'test.conn.bob', expiresIn: 10000, ...h.condition() })
    expect(refused).to.deep.include({ type: 'reject', code: 'T04', message: 'exceeded maximum balance.' })
    const secondLedger = await second.alice.pay({ amount: 200, destination: LEDGER_PREFIX + 'receiver', expiresIn: 10000, ...forReceiver() })
    expect(secondLedger.type === 'fulfill' && JSON.parse(secondLedger.data.toString()).seq).to.equal(2)
    await stop(second.conn, second.alice, second.bob)

    const afterSecond = await readJson<Record<string, string>>(join(run.dir, 'store.json'))
    expect(afterSecond).to.deep.equal({ 'balance:alice': '1000', 'balance:bob': String(-converted(500n)), 'plugin:ledger:seq': '2' })
  })
})
