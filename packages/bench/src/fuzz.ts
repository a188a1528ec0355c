/**
 * The fuzz runner: starts the real `conn` bin with five BTP accounts (the victim, whose secret the attacker has;
 * alice and bob, the canaries; carol, a bystander who is connected and rejects everything; dave, configured but
 * never connected) and the admin API with a token, then runs the cases of fuzz-cases.ts in batches, one at a time.
 *
 * Between batches it checks that conn is alive (the process and /health/live), that a payment from alice to bob
 * (a canary) is fulfilled, that the accounts are the same ones, that no balance moved but the victim's and the
 * canaries', and that the canaries' moved by exactly what they paid. A case that hangs, an answer conn must never
 * give, or a failed check is a failure; the report tallies every answer by kind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { freePort } from '@conn/testkit'
import * as IlpPacket from 'ilp-packet'
import BtpPluginModule from 'ilp-plugin-btp'
import { CLI_DIR } from './connector-ipc.ts'
import { Hang, KINDS, Unexpected, makeCase, type Kind, type Target } from './fuzz-cases.ts'

const BtpPlugin = BtpPluginModule.default
type Client = InstanceType<typeof BtpPlugin>

export interface FuzzOptions {
  cases: number
  seed: number
  /** Cases between two checks (default 250). */
  batchSize?: number
  /** ms a case waits for any one answer (default 5000). */
  caseTimeout?: number
  /** Cases run at once (default 1: one at a time, so each is replayable alone). */
  concurrency?: number
  /** Run only these case numbers (to replay failures). */
  only?: number[]
  /** Progress lines. */
  log?: (line: string) => void
  /** Log every case's number, kind, variant and answer. */
  trace?: boolean
  /** Called before the checks after each batch (tests use it to break conn on purpose and see the checks fail). */
  beforeCheck?: (batch: number, control: FuzzControl) => Promise<void>
}

export interface FuzzControl {
  conn: ChildProcess
  admin: (method: string, path: string, body?: unknown) => Promise<Response>
}

export interface Failure {
  /** Case number, or the batch check that failed. */
  where: string
  kind: Kind | 'check'
  variant: string
  message: string
}

export interface BatchCheck {
  batch: number
  casesSoFar: number
  alive: boolean
  canary: string
  balancesOk: boolean
  ms: number
}

export interface FuzzReport {
  seed: number
  cases: number
  batchSize: number
  caseTimeout: number
  concurrency: number
  durationMs: number
  kinds: Record<string, number>
  answers: Record<string, number>
  answersByKind: Record<string, Record<string, number>>
  failures: Failure[]
  batches: BatchCheck[]
  canaries: { paid: number, fulfilled: number, amount: string }
  balances: { start: Record<string, string>, end: Record<string, string> }
  victimBalanceChange: string
  connErrorLines: number
  connExit: number | null | 'running'
}

const CANARY_AMOUNT = 1000n
const ILP_ADDRESS = 'test.fuzz'
const ACCOUNTS = ['victim', 'alice', 'bob', 'carol', 'dave'] as const
const LIMIT = '1000000000000000000'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Hang(what)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

const rejectPacket = (code: string): Buffer => IlpPacket.serializeIlpReject({ code, triggeredBy: `${ILP_ADDRESS}.canary`, message: 'no', data: Buffer.alloc(0) })

export async function runFuzz (options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const batchSize = options.batchSize ?? 250
  const caseTimeout = options.caseTimeout ?? 5000
  const concurrency = Math.max(1, options.concurrency ?? 1)
  const ports: Record<string, number> = {}
  for (const id of ACCOUNTS) ports[id] = await freePort()
  const adminPort = await freePort()
  const secrets: Record<string, string> = Object.fromEntries(ACCOUNTS.map((id) => [id, `${id}-${randomBytes(8).toString('hex')}`]))
  const adminToken = 'fuzz-admin-' + randomBytes(12).toString('hex')
  const account = (id: string): Record<string, unknown> => ({
    relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9,
    balance: { minimum: '-' + LIMIT, maximum: LIMIT },
    // authTimeout 1 s: sockets that neither upgrade nor authenticate are closed within a case's time-out
    options: { listener: { port: ports[id], secret: secrets[id], wsOpts: { host: '127.0.0.1', port: ports[id] } }, authTimeout: 1000 }
  })

  const conn = spawn(process.execPath, [join(CLI_DIR, 'bin', 'conn.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'error',
      CONNECTOR_ILP_ADDRESS: ILP_ADDRESS,
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_ADMIN_API: 'true',
      CONNECTOR_ADMIN_API_PORT: String(adminPort),
      CONNECTOR_ADMIN_API_TOKEN: adminToken,
      // dave never connects: do not wait for him at start
      CONNECTOR_INITIAL_CONNECT_TIMEOUT: '500',
      CONNECTOR_ACCOUNTS: JSON.stringify(Object.fromEntries(ACCOUNTS.map((id) => [id, account(id)])))
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let connErrorLines = 0
  const lastLines: string[] = []
  const watch = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue
      connErrorLines++
      lastLines.push(line.slice(0, 500))
      if (lastLines.length > 20) lastLines.shift()
    }
  }
  conn.stdout!.on('data', watch)
  conn.stderr!.on('data', watch)
  const exited = new Promise<number | null>((resolve) => conn.once('exit', (code) => resolve(code)))

  const adminUrl = `http://127.0.0.1:${adminPort}`
  const admin = async (method: string, path: string, body?: unknown): Promise<Response> => await fetch(adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(caseTimeout)
  })
  const alive = async (): Promise<boolean> => conn.exitCode === null && conn.signalCode === null &&
    await fetch(adminUrl + '/health/live', { signal: AbortSignal.timeout(caseTimeout) }).then((r) => r.ok, () => false)
  const balances = async (): Promise<Record<string, string>> => {
    const body = await (await admin('GET', '/balance')).json() as { accounts: Record<string, { balance: string }> }
    return Object.fromEntries(Object.entries(body.accounts).map(([id, b]) => [id, b.balance]).sort())
  }
  const accountIds = async (): Promise<string> => {
    const body = await (await admin('GET', '/accounts')).json() as unknown
    const ids = Array.isArray(body) ? body.map((a: { id?: string }) => a.id ?? String(a)) : Object.keys((body as { accounts?: object }).accounts ?? body as object)
    return ids.sort().join(',')
  }

  // the canaries and the bystander: alice pays, bob fulfils only what alice sends, carol rejects everything
  const client = (id: string): Client => new BtpPlugin({ server: `btp+ws://:${secrets[id]}@127.0.0.1:${ports[id]}`, reconnectIntervals: [100] })
  const alice = client('alice')
  const bob = client('bob')
  const carol = client('carol')
  const expected = new Map<string, Buffer>()
  alice.registerDataHandler(async () => rejectPacket('F99'))
  carol.registerDataHandler(async () => rejectPacket('F99'))
  bob.registerDataHandler(async (data: Buffer) => {
    const prepare = IlpPacket.deserializeIlpPrepare(data)
    const fulfillment = expected.get(prepare.executionCondition.toString('hex'))
    if (fulfillment === undefined || BigInt(prepare.amount) !== CANARY_AMOUNT) return rejectPacket('F99')
    return IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) })
  })

  const failures: Failure[] = []
  const kinds: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]))
  const answers: Record<string, number> = {}
  const answersByKind: Record<string, Record<string, number>> = {}
  const batches: BatchCheck[] = []
  const canaries = { paid: 0, fulfilled: 0 }
  let start: Record<string, string> = {}
  let end: Record<string, string> = {}
  const paidSoFar = { alice: 0n, bob: 0n }

  const stop = async (): Promise<number | null> => {
    await Promise.all([alice, bob, carol].map(async (c) => await c.disconnect().catch(() => {})))
    if (conn.exitCode === null && conn.signalCode === null) {
      conn.kill('SIGTERM')
      const timer = setTimeout(() => conn.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
    return conn.exitCode
  }

  let connExit: number | null | 'running' = 'running'
  try {
    const deadline = Date.now() + 30_000
    while (!(await fetch(adminUrl + '/health/ready').then((r) => r.ok, () => false))) {
      if (conn.exitCode !== null || Date.now() > deadline) throw new Error(`conn did not start:\n${lastLines.join('\n')}`)
      await sleep(50)
    }
    await withTimeout(Promise.all([alice.connect(), bob.connect(), carol.connect()]), 15_000, 'canary clients connecting')
    start = await balances()
    const startAccounts = await accountIds()
    const target: Target = {
      ilpAddress: ILP_ADDRESS, btpPorts: ports, victim: 'victim', victimSecret: secrets.victim!, adminPort, adminToken, timeout: caseTimeout
    }

    /** A payment alice -> bob, with a fulfillment only bob knows. */
    const canary = async (): Promise<string> => {
      const fulfillment = randomBytes(32)
      const condition = createHash('sha256').update(fulfillment).digest()
      expected.set(condition.toString('hex'), fulfillment)
      canaries.paid++
      try {
        const reply = await withTimeout(alice.sendData(IlpPacket.serializeIlpPrepare({
          amount: String(CANARY_AMOUNT), destination: `${ILP_ADDRESS}.bob`, executionCondition: condition,
          expiresAt: new Date(Date.now() + 5000), data: Buffer.alloc(0)
        })), 10_000, 'canary payment')
        if (reply[0] === IlpPacket.Type.TYPE_ILP_FULFILL) {
          canaries.fulfilled++
          paidSoFar.alice += CANARY_AMOUNT
          paidSoFar.bob -= CANARY_AMOUNT
          return 'fulfilled'
        }
        const rej = IlpPacket.deserializeIlpReject(reply)
        return `rejected ${rej.code} ${rej.message}`
      } catch (err) {
        return `error: ${(err as Error).message}`
      } finally {
        expected.delete(condition.toString('hex'))
      }
    }

    const check = async (batch: number, casesSoFar: number): Promise<boolean> => {
      const t0 = Date.now()
      if (options.beforeCheck !== undefined) await options.beforeCheck(batch, { conn, admin })
      const fail = (message: string): void => { failures.push({ where: `after batch ${batch}`, kind: 'check', variant: '', message }) }
      const isAlive = await alive()
      if (!isAlive) {
        fail(`conn is not alive (exit ${String(conn.exitCode)}, signal ${String(conn.signalCode)}); its last lines:\n${lastLines.join('\n')}`)
        batches.push({ batch, casesSoFar, alive: false, canary: 'not run', balancesOk: false, ms: Date.now() - t0 })
        return false
      }
      const paid = await canary()
      if (paid !== 'fulfilled') fail(`canary payment alice -> bob: ${paid}`)
      let balancesOk = true
      try {
        const now = await balances()
        for (const id of Object.keys({ ...start, ...now })) {
          if (id === 'victim') continue
          const want = BigInt(start[id] ?? 'NaN') + (id === 'alice' ? paidSoFar.alice : id === 'bob' ? paidSoFar.bob : 0n)
          if (now[id] === undefined || BigInt(now[id]) !== want) {
            balancesOk = false
            fail(`balance of ${id} is ${now[id] ?? 'missing'}, expected ${want}`)
          }
        }
        const ids = await accountIds()
        if (ids !== startAccounts) {
          balancesOk = false
          fail(`accounts changed: ${startAccounts} -> ${ids}`)
        }
        end = now
      } catch (err) {
        balancesOk = false
        fail(`reading balances: ${(err as Error).message}`)
      }
      batches.push({ batch, casesSoFar, alive: true, canary: paid, balancesOk, ms: Date.now() - t0 })
      return true
    }

    const indices = options.only ?? Array.from({ length: options.cases }, (_, i) => i)
    let batch = 0
    let done = 0
    if (!(await check(0, 0))) throw new Error('conn failed the checks before any case')
    for (let from = 0; from < indices.length; from += batchSize) {
      batch++
      const batchStarted = Date.now()
      const queue = indices.slice(from, from + batchSize)
      const runOne = async (index: number): Promise<void> => {
        const c = makeCase(options.seed, index)
        kinds[c.kind] = (kinds[c.kind] ?? 0) + 1
        let answer: string
        try {
          answer = await withTimeout(c.run(target), caseTimeout * 4 + 1000, `case ${index} as a whole`)
        } catch (err) {
          const e = err as Error
          answer = e instanceof Hang ? 'HANG' : e instanceof Unexpected ? 'UNEXPECTED' : 'ERROR'
          failures.push({ where: `case ${index}`, kind: c.kind, variant: c.variant, message: `${e.name}: ${e.message}` })
        }
        answers[answer] = (answers[answer] ?? 0) + 1
        if (options.trace === true) log(`case ${index} ${c.kind}/${c.variant}: ${answer}`)
        const byKind = answersByKind[c.kind] ??= {}
        byKind[answer] = (byKind[answer] ?? 0) + 1
        done++
      }
      // `concurrency` workers take the batch's cases in order (with more than one, victim sessions replace each other)
      await Promise.all(Array.from({ length: concurrency }, async () => {
        for (let index = queue.shift(); index !== undefined; index = queue.shift()) await runOne(index)
      }))
      const ok = await check(batch, done)
      const last = batches.at(-1)!
      log(`batch ${batch}: ${done} cases, ${Date.now() - batchStarted} ms, alive ${String(last.alive)}, canary ${last.canary}, balances ${last.balancesOk ? 'ok' : 'MOVED'}, failures so far ${failures.length}`)
      if (!ok) break
    }
  } catch (err) {
    failures.push({ where: 'runner', kind: 'check', variant: '', message: (err as Error).message })
  } finally {
    connExit = await stop()
  }
  if (connExit !== 0) failures.push({ where: 'shutdown', kind: 'check', variant: '', message: `conn exited ${String(connExit)} on SIGTERM` })
  const victimBalanceChange = String(BigInt(end.victim ?? '0') - BigInt(start.victim ?? '0'))

  return {
    seed: options.seed,
    cases: Object.values(kinds).reduce((s, n) => s + n, 0),
    batchSize,
    caseTimeout,
    concurrency,
    durationMs: Date.now() - started,
    kinds,
    answers: Object.fromEntries(Object.entries(answers).sort(([, a], [, b]) => b - a)),
    answersByKind,
    failures,
    batches,
    canaries: { ...canaries, amount: String(CANARY_AMOUNT) },
    balances: { start, end },
    victimBalanceChange,
    connErrorLines,
    connExit
  }
}
