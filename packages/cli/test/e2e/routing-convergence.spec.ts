/**
 * Time from start-up to the first payment across a peering link, with the route intervals an operator has
 * by default (routeBroadcastInterval 30 s, routeExpiry 45 s: nothing shortened, which is what hid a 30 s
 * stall, issue 11). Two connectors peer over real BTP on 127.0.0.1, each with one child: alice (a child of
 * conn) and bob (a child of the other). Both connectors and both children start at once; then each child
 * sends the other a fresh Prepare every 50 ms until one is fulfilled with the exact amount delivered. Every
 * run must get there within 2 s, in both directions, for each pairing: conn with conn, conn listening with
 * the reference dialing, the reference listening with conn dialing (ilp-connector 23.0.2, in process).
 * conn's accounts are configured as an operator's reference config has them (`"plugin": "ilp-plugin-btp"` with
 * its options, so conn runs its own transport); the reference gets ilp-plugin-btp instances.
 *
 * Runs per pairing: CONVERGENCE_RUNS (default 3); `pnpm --filter @conn/cli convergence` runs 20 each and
 * prints the distribution.
 */
import { expect } from 'chai'
import { createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Connector } from '@conn/core'
import { Harness, freePort, sleep, type Node } from '../helpers/harness.ts'
import { createReference } from '../helpers/reference.ts'
import { btpClient, btpClientByName, btpListener, btpListenerByName, btpUrl } from '../helpers/routing.ts'

const RUNS = runsFromEnv()
/** The promise: alice and bob can pay each other this soon after start-up. */
const LIMIT = 2000
/** A run that has not paid by then is recorded as failed (and stops trying). */
const GIVE_UP = 5000
const ATTEMPT_INTERVAL = 50
const DEFAULT_ROUTE_BROADCAST_INTERVAL = 30000
const DEFAULT_ROUTE_EXPIRY = 45000

function runsFromEnv (): number {
  const value = process.env.CONVERGENCE_RUNS ?? '3'
  const runs = Number(value)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`CONVERGENCE_RUNS: expected a positive integer, got "${value}"`)
  return runs
}

type Pairing = 'conn/conn' | 'conn listens, reference dials' | 'reference listens, conn dials'
const PAIRINGS: Pairing[] = ['conn/conn', 'conn listens, reference dials', 'reference listens, conn dials']

interface RunResult {
  /** Whole ms from start to the first fulfilled payment; Infinity if none within GIVE_UP. */
  aliceToBob: number
  bobToAlice: number
}

/** One run: starts both connectors and children at once, measures both directions, tears everything down. */
async function run (pairing: Pairing): Promise<RunResult> {
  const h = new Harness()
  const [linkPort, alicePort, bobPort] = [await freePort(), await freePort(), await freePort()]
  const asset = { assetCode: 'XYZ', assetScale: 9 }
  const connListens = pairing !== 'reference listens, conn dials'
  // alice's connector: conn, always; no route intervals given, so the defaults apply.
  const conn = h.connector({
    ilpAddress: 'test.conn',
    backend: 'one-to-one',
    spread: 0,
    accounts: {
      alice: { relation: 'child', ...btpListenerByName(alicePort), ...asset },
      other: { relation: 'peer', ...(connListens ? btpListenerByName(linkPort) : btpClientByName(linkPort)), ...asset }
    }
  })
  expectDefaultIntervals('conn', conn.config)
  let other: { listen: () => Promise<void>, close: () => Promise<void>, address: string }
  if (pairing === 'conn/conn') {
    // Made after `conn`, so the harness shuts it (the dialing side) down first.
    const peer: Connector = h.connector({
      ilpAddress: 'test.peer',
      backend: 'one-to-one',
      spread: 0,
      accounts: {
        bob: { relation: 'child', ...btpListenerByName(bobPort), ...asset },
        conn: { relation: 'peer', ...btpClientByName(linkPort), ...asset }
      }
    })
    expectDefaultIntervals('the peer', peer.config)
    other = { listen: async () => await peer.listen(), close: async () => {}, address: 'test.peer' }
  } else {
    const ref = await createReference({
      ilpAddress: 'test.ref',
      accounts: {
        bob: { relation: 'child', plugin: btpListener(bobPort) },
        conn: { relation: 'peer', plugin: connListens ? btpClient(linkPort) : btpListener(linkPort) }
      }
    })
    expectDefaultIntervals('the reference', (ref.app as unknown as { config: { routeBroadcastInterval?: unknown, routeExpiry?: unknown } }).config)
    other = { listen: async () => await ref.app.listen(), close: async () => await ref.close(), address: 'test.ref' }
  }
  const alice = h.client('alice', btpUrl(alicePort))
  alice.address = 'test.conn.alice'
  const bob = h.client('bob', btpUrl(bobPort))
  bob.address = other.address + '.bob'

  const start = performance.now()
  const started = Promise.all([conn.listen(), other.listen(), alice.connect(), bob.connect()])
  try {
    const [aliceToBob, bobToAlice] = await Promise.all([
      firstPayment(h, alice, bob, start, 1234n),
      firstPayment(h, bob, alice, start, 4321n)
    ])
    await started
    return { aliceToBob, bobToAlice }
  } finally {
    await started.catch(() => {})
    // The dialing side goes first, so no plugin is left redialing a closed listener.
    if (connListens) {
      await other.close()
      await h.close()
    } else {
      await h.close()
      await other.close()
    }
    await portsReleased([linkPort, alicePort, bobPort])
  }
}

function expectDefaultIntervals (who: string, { routeBroadcastInterval, routeExpiry }: { routeBroadcastInterval?: unknown, routeExpiry?: unknown }): void {
  expect({ routeBroadcastInterval, routeExpiry }, `${who}'s route intervals`)
    .to.deep.equal({ routeBroadcastInterval: DEFAULT_ROUTE_BROADCAST_INTERVAL, routeExpiry: DEFAULT_ROUTE_EXPIRY })
}

/**
 * Sends a fresh Prepare from `from` to `to` every ATTEMPT_INTERVAL ms (once `from` is connected) until one
 * is fulfilled; returns when that reply came, in ms since `start`. Every fulfilled one must have reached `to`
 * exactly once with exactly `amount`. All attempts are settled before it returns.
 */
async function firstPayment (h: Harness, from: Node, to: Node, start: number, amount: bigint): Promise<number> {
  while (!from.isConnected()) {
    if (performance.now() - start > GIVE_UP) return Infinity
    await sleep(5)
  }
  let fulfilledAt: number | undefined
  const attempts: Array<Promise<void>> = []
  while (fulfilledAt === undefined && performance.now() - start < GIVE_UP) {
    const condition = h.condition()
    attempts.push(from.pay({ amount, destination: to.address, expiresIn: 5000, ...condition }).then((reply) => {
      if (reply.type !== 'fulfill') return
      fulfilledAt ??= performance.now() - start
      const delivered = to.received.filter((p) => p.executionCondition.equals(condition.executionCondition)).map((p) => p.amount)
      expect(delivered, `${from.name} -> ${to.name}: amounts delivered`).to.deep.equal([amount])
    }))
    await sleep(ATTEMPT_INTERVAL)
  }
  await Promise.all(attempts)
  return fulfilledAt === undefined ? Infinity : Math.round(fulfilledAt)
}

/** Waits until every port can be bound on 127.0.0.1 again (the run's listeners are closed). */
async function portsReleased (ports: number[]): Promise<void> {
  const deadline = Date.now() + 2000
  for (const port of ports) {
    while (!await bindable(port)) {
      if (Date.now() > deadline) throw new Error(`port ${port} still in use after the run was torn down`)
      await sleep(20)
    }
  }
}

async function bindable (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** min / median / p90 / max (nearest rank) of the times (ms); a run that never paid shows as "-". */
function distribution (times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number): string => {
    const t = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
    return Number.isFinite(t) ? String(t) : '-'
  }
  return `min ${at(0)} / median ${at(0.5)} / p90 ${at(0.9)} / max ${at(1)} ms`
}

describe('e2e: convergence from start-up with the default route intervals (conn and ilp-connector 23.0.2)', function () {
  for (const pairing of PAIRINGS) {
    it(`${pairing}: alice and bob pay each other the exact amount within ${LIMIT} ms of start, in each of ${RUNS} runs`, async function () {
      this.timeout(RUNS * (GIVE_UP + 5000) + 5000)
      const results: RunResult[] = []
      for (let i = 0; i < RUNS; i++) results.push(await run(pairing))
      const aliceToBob = results.map((r) => r.aliceToBob)
      const bobToAlice = results.map((r) => r.bobToAlice)
      console.log(`      ${pairing}, ${RUNS} runs: alice -> bob ${distribution(aliceToBob)}; bob -> alice ${distribution(bobToAlice)}`)
      const slow = results.map((r, i) => ({ run: i + 1, ...r })).filter((r) => r.aliceToBob > LIMIT || r.bobToAlice > LIMIT)
      expect(slow, `runs slower than ${LIMIT} ms`).to.deep.equal([])
    })
  }
})
