/**
 * `pnpm soak`: the real `conn` bin for a set time (SOAK_MINUTES, default 10) at a steady rate (SOAK_RATE packets/s,
 * default 500) from alice to bob and carol, while carol's link drops and comes back every few seconds
 * (SOAK_DROP_EVERY ms, default 5000; down for SOAK_DOWN ms, default 1000). Accounts are configured as operators
 * write them (`"plugin": "ilp-plugin-btp"`, which conn runs on its own transport), with balances, on the level store.
 *
 * It reports conn's RSS slope (least squares over the second half, MB per minute), packets fulfilled and rejected by
 * code, and checks at the end that no money was created or lost: the balances sum to 0, alice's equals what alice saw
 * fulfilled, and each receiver's lies between what alice saw fulfilled to it and what it fulfilled itself (a Fulfill
 * can be lost with the link after the receiver sent it). Exits non-zero if a check fails. A script, not a test.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@conn/testkit'
import * as IlpPacket from 'ilp-packet'
import BtpPluginModule from 'ilp-plugin-btp'
import { CLI_DIR } from './connector-ipc.ts'

const BtpPlugin = BtpPluginModule.default
type Client = InstanceType<typeof BtpPlugin>

const numberOption = (name: string, fallback: number): number => {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${JSON.stringify(value)}`)
  return n
}
const minutes = numberOption('SOAK_MINUTES', 10)
const rate = numberOption('SOAK_RATE', 500)
const dropEvery = numberOption('SOAK_DROP_EVERY', 5000)
const down = numberOption('SOAK_DOWN', 1000)
const AMOUNT = 1000n

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** A receiver: fulfills Prepares whose data is their fulfillment, and counts what it fulfilled. */
function receiver (client: Client, book: { fulfilled: bigint }): void {
  client.registerDataHandler(async (data: Buffer) => {
    const prepare = IlpPacket.deserializeIlpPrepare(data)
    book.fulfilled += BigInt(prepare.amount)
    return IlpPacket.serializeIlpFulfill({ fulfillment: prepare.data, data: Buffer.alloc(0) })
  })
}

function client (port: number): Client {
  return new BtpPlugin({ server: `btp+ws://:s@127.0.0.1:${port}`, reconnectIntervals: [50] })
}

async function residentMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024
}

/** Least-squares slope of y over x. */
function slope (points: Array<[number, number]>): number {
  const n = points.length
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

const dir = await mkdtemp(join(tmpdir(), 'conn-soak-'))
const ports = { alice: await freePort(), bob: await freePort(), carol: await freePort(), admin: await freePort() }
const account = (port: number, balance: Record<string, string>): Record<string, unknown> => ({
  relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, balance,
  options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } }
})
const conn = spawn(join(CLI_DIR, 'bin', 'conn.js'), [], {
  env: {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    CONNECTOR_ILP_ADDRESS: 'test.soak',
    CONNECTOR_BACKEND: 'one-to-one',
    CONNECTOR_SPREAD: '0',
    CONNECTOR_STORE_PATH: join(dir, 'db'),
    CONNECTOR_ADMIN_API: 'true',
    CONNECTOR_ADMIN_API_PORT: String(ports.admin),
    CONNECTOR_ACCOUNTS: JSON.stringify({
      alice: account(ports.alice, { maximum: '1000000000000000000' }),
      bob: account(ports.bob, { minimum: '-1000000000000000000', maximum: '0' }),
      carol: account(ports.carol, { minimum: '-1000000000000000000', maximum: '0' })
    })
  },
  stdio: ['ignore', 'inherit', 'inherit']
})
const exited = new Promise<number | null>((resolve) => conn.once('exit', (code) => resolve(code)))

const alice = client(ports.alice)
const bob = client(ports.bob)
let carol = client(ports.carol)
const books = { bob: { fulfilled: 0n }, carol: { fulfilled: 0n } }
receiver(bob, books.bob)
receiver(carol, books.carol)
await Promise.all([alice.connect(), bob.connect(), carol.connect()])
const adminUrl = `http://127.0.0.1:${ports.admin}`
while (!(await fetch(adminUrl + '/health/ready').then((r) => r.ok, () => false))) await sleep(50)

const seen = { bob: 0n, carol: 0n }
const codes = new Map<string, number>()
let fulfilled = 0
let sent = 0
const rss: Array<[number, number]> = []
const started = Date.now()
const end = started + minutes * 60_000
const pending = new Set<Promise<void>>()

async function pay (to: 'bob' | 'carol'): Promise<void> {
  const fulfillment = randomBytes(32)
  const prepare = IlpPacket.serializeIlpPrepare({
    amount: String(AMOUNT),
    destination: `test.soak.${to}`,
    executionCondition: createHash('sha256').update(fulfillment).digest(),
    expiresAt: new Date(Date.now() + 10_000),
    data: fulfillment
  })
  sent++
  try {
    const reply = await alice.sendData(prepare)
    if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
      fulfilled++
      seen[to] += AMOUNT
    } else {
      const code = IlpPacket.deserializeIlpReject(reply).code
      codes.set(code, (codes.get(code) ?? 0) + 1)
    }
  } catch (err) {
    codes.set('error: ' + (err as Error).message.slice(0, 40), (codes.get('error: ' + (err as Error).message.slice(0, 40)) ?? 0) + 1)
  }
}

// carol drops and comes back, all along
const dropper = (async () => {
  let drops = 0
  while (Date.now() + dropEvery < end) {
    await sleep(dropEvery)
    await carol.disconnect()
    drops++
    await sleep(down)
    carol = client(ports.carol)
    receiver(carol, books.carol)
    await carol.connect()
  }
  return drops
})()

const sampler = setInterval(() => { void residentMb(conn.pid!).then((mb) => rss.push([(Date.now() - started) / 60_000, mb])) }, 1000)
const interval = 1000 / rate
let next = Date.now()
let turn = 0
while (Date.now() < end) {
  const p = pay(turn++ % 2 === 0 ? 'bob' : 'carol').finally(() => pending.delete(p))
  pending.add(p)
  next += interval
  const wait = next - Date.now()
  if (wait > 0) await sleep(wait)
}
clearInterval(sampler)
const drops = await dropper
await Promise.all(pending)
await sleep(500)

const balances = (await (await fetch(adminUrl + '/balance')).json() as { accounts: Record<string, { balance: string }> }).accounts
const balance = (id: string): bigint => BigInt(balances[id]!.balance)
conn.kill('SIGTERM')
const code = await exited
await Promise.all([alice.disconnect(), bob.disconnect(), carol.disconnect()].map(async (p) => await p.catch(() => {})))
await rm(dir, { recursive: true, force: true })

const secondHalf = rss.filter(([minute]) => minute >= minutes / 2)
const checks = [
  { what: 'balances sum to 0', ok: balance('alice') + balance('bob') + balance('carol') === 0n },
  { what: 'alice\'s balance is what alice saw fulfilled', ok: balance('alice') === seen.bob + seen.carol },
  { what: 'bob\'s balance lies between what alice saw fulfilled to him and what he fulfilled', ok: -balance('bob') >= seen.bob && -balance('bob') <= books.bob.fulfilled },
  { what: 'carol\'s balance lies between what alice saw fulfilled to her and what she fulfilled', ok: -balance('carol') >= seen.carol && -balance('carol') <= books.carol.fulfilled },
  { what: 'conn exited 0 on SIGTERM', ok: code === 0 }
]
const result = {
  minutes,
  rate,
  sent,
  fulfilled,
  rejectedByCode: Object.fromEntries([...codes].sort()),
  carolDrops: drops,
  rssMb: { first: rss[0]?.[1], last: rss.at(-1)?.[1], max: Math.max(...rss.map(([, mb]) => mb)) },
  rssSlopeMbPerMinuteSecondHalf: Number(slope(secondHalf).toFixed(3)),
  balances: { alice: String(balance('alice')), bob: String(balance('bob')), carol: String(balance('carol')) },
  seenFulfilled: { bob: String(seen.bob), carol: String(seen.carol) },
  receiversFulfilled: { bob: String(books.bob.fulfilled), carol: String(books.carol.fulfilled) },
  checks
}
console.log(JSON.stringify(result, null, 2))
process.exit(checks.every((c) => c.ok) ? 0 : 1)
