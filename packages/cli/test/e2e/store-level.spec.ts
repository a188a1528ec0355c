import { expect } from 'chai'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelStore } from '@conn/store-level'
import { freePort, sleep, type DecodedReply, type Node } from '../helpers/harness.ts'
import { logLines, startConn, type ConnProcess } from '../helpers/process.ts'
import {
  OWN_ADDRESS, answer, indexOf, isListening, paymentData, readBalances, startStoreNetwork, storeConnEnv, type StoreNetwork
} from '../helpers/store.ts'

const BOB = `${OWN_ADDRESS}.bob`
/** Bob's client rejects every 7th packet (index 6, 13, ...) with F99. */
const rejectedByBob = (index: number): boolean => index % 7 === 6
/**
 * 2^16 plus a bit of its own among any 16 consecutive packets: a sum of at most 16 such packets tells exactly
 * which ones it is made of (how many: the sum >> 16; which: the low 16 bits), so a difference in a balance can
 * be traced back to the packets it came from.
 */
const amountOf = (index: number): bigint => 65536n + (1n << BigInt(index % 16))

/** The packets among `candidates` (indexes less than 16 apart) whose amounts sum to `total`; undefined if none do. */
function packetsOf (total: bigint, candidates: number[]): number[] | undefined {
  if (total < 0n) return undefined
  const bits = total & 0xffffn
  const chosen = candidates.filter((i) => (bits & (1n << BigInt(i % 16))) !== 0n)
  return sum(chosen.map(amountOf)) === total ? chosen : undefined
}

const sum = (amounts: Iterable<bigint>): bigint => { let total = 0n; for (const a of amounts) total += a; return total }

describe('store-level: balances in a level directory through the cli process', function () {
  this.timeout(20000)
  let dir: string
  const conns: ConnProcess[] = []
  const nodes: Node[] = []
  const holders: LevelStore[] = []

  /** Starts a network and remembers its process and clients for cleanup. */
  async function network (options: { aliceMaximum?: string, aliceResponseTimeout?: number } = {}): Promise<StoreNetwork & { alicePort: number }> {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const started = await startStoreNetwork({ dir, alicePort, bobPort, aliceMaximum: options.aliceMaximum }, options.aliceResponseTimeout)
    conns.push(started.conn)
    nodes.push(started.alice, started.bob)
    return { ...started, alicePort }
  }

  /** SIGTERM, exit code 0, clients disconnected: the directory is free to read. */
  async function stop ({ conn, alice, bob }: StoreNetwork): Promise<void> {
    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(0)
    await Promise.all([alice.disconnect(), bob.disconnect()])
  }

  async function pay (alice: Node, index: number, amount = amountOf(index)): Promise<DecodedReply> {
    return await alice.pay({ amount, destination: BOB, ...paymentData(index) })
  }

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'conn-store-level-e2e-')) })

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (node) => { await node.disconnect().catch(() => {}) }))
    for (const conn of conns.splice(0)) {
      if (conn.child.exitCode === null && conn.child.signalCode === null) {
        conn.child.kill('SIGKILL')
        await conn.exited
      }
    }
    await Promise.all(holders.splice(0).map(async (store) => { await store.close() }))
    await rm(dir, { recursive: true, force: true })
  })

  it('balances survive a clean restart: the directory holds the fulfilled sums, and the restored balance counts against maximum (T04)', async () => {
    const first = await network()
    first.bob.handler = (prepare) => answer(prepare.data, rejectedByBob(indexOf(prepare.data)), first.bob.address)
    const replies = []
    for (let i = 0; i < 20; i++) replies.push(await pay(first.alice, i))
    const fulfilled = replies.flatMap((reply, i) => reply.type === 'fulfill' ? [i] : [])
    expect(replies.flatMap((reply, i) => reply.type === 'reject' ? [[i, reply.code]] : [])).to.deep.equal([[6, 'F99'], [13, 'F99']])
    const paid = sum(fulfilled.map(amountOf))
    expect(paid).to.equal(sum(Array.from({ length: 20 }, (_, i) => amountOf(i))) - amountOf(6) - amountOf(13))
    await stop(first)

    // Committed balances as decimal strings under balance:<account>; the two rejected packets left no trace.
    expect(await readBalances(dir)).to.deep.equal({ alice: paid, bob: -paid })

    // Restarted with alice's maximum 500 above the restored balance: 1000 would fit a fresh balance of 0,
    // but not the restored one; 500 reaches the maximum exactly.
    const second = await network({ aliceMaximum: String(paid + 500n) })
    second.bob.handler = (prepare) => answer(prepare.data, false, second.bob.address)
    const over = await pay(second.alice, 100, 1000n)
    expect(over).to.deep.include({ type: 'reject', code: 'T04', triggeredBy: OWN_ADDRESS, message: 'exceeded maximum balance.' })
    expect(second.bob.received, 'refused before forwarding').to.have.length(0)
    expect(await pay(second.alice, 101, 500n)).to.have.property('type', 'fulfill')
    await stop(second)
    expect(await readBalances(dir)).to.deep.equal({ alice: paid + 500n, bob: -paid - 500n })
  })

  it('kill -9 under load: the directory holds every Fulfill alice got, plus at most packets in flight at the kill, no rejected one; a restart carries on from it', async () => {
    const first = await network({ aliceResponseTimeout: 1000 })
    first.bob.handler = async (prepare) => {
      const index = indexOf(prepare.data)
      await sleep(2 + Math.floor(Math.random() * 10))
      return answer(prepare.data, rejectedByBob(index), first.bob.address)
    }

    // Eight senders keep eight packets in flight until the kill; every packet has its own amount.
    const outcomes = new Map<number, string>()
    const pending = new Set<number>()
    let next = 0
    let stopped = false
    const sender = async (): Promise<void> => {
      while (!stopped) {
        const index = next++
        pending.add(index)
        try {
          const reply = await pay(first.alice, index)
          outcomes.set(index, reply.type === 'fulfill' ? 'fulfill' : `reject ${reply.code}`)
        } catch {
          outcomes.set(index, 'no reply') // ilp-plugin-btp's own timeout: the connector died first
        }
        pending.delete(index)
      }
    }
    const senders = Array.from({ length: 8 }, sender)
    await sleep(1000)
    stopped = true
    first.conn.child.kill('SIGKILL')
    const inFlightAtKill = new Set(pending)
    expect(await first.conn.exited).to.equal(null)
    expect(first.conn.child.signalCode).to.equal('SIGKILL')
    // Replies already on the wire still arrive; the rest time out on alice's side.
    await Promise.all(senders)
    await Promise.all([first.alice.disconnect(), first.bob.disconnect()])

    const indexes = [...outcomes.keys()]
    const withOutcome = (outcome: string): number[] => indexes.filter((i) => outcomes.get(i) === outcome)
    const fulfilled = withOutcome('fulfill')
    const rejected = withOutcome('reject F99')
    const noReply = withOutcome('no reply')
    expect(fulfilled.length, 'fulfilled packets before the kill').to.be.greaterThan(50)
    expect(rejected.length).to.be.greaterThan(5)
    expect(rejected.every(rejectedByBob), 'only bob\'s rejects').to.equal(true)
    expect(fulfilled.length + rejected.length + noReply.length).to.equal(next)
    expect(noReply.every((i) => inFlightAtKill.has(i)), 'every packet without a reply was in flight at the kill').to.equal(true)
    expect(noReply.length).to.be.at.most(8)

    const paid = sum(fulfilled.map(amountOf))
    // Packets without a reply that bob would fulfil (not those he rejects): the connector may have committed
    // some of them before it died, without alice ever seeing their Fulfill.
    const mayHaveCommitted = noReply.filter((i) => !rejectedByBob(i))
    expect(new Set(mayHaveCommitted.map((i) => i % 16)).size, `less than 16 apart: ${noReply.join(',')}`).to.equal(mayHaveCommitted.length)
    const balances = await readBalances(dir)
    const detail = `paid=${paid} balances=${String(balances.alice)}/${String(balances.bob)} packets without reply=${noReply.join(',')}`
    const extraAlice = packetsOf(balances.alice! - paid, mayHaveCommitted)
    const extraBob = packetsOf(-balances.bob! - paid, mayHaveCommitted)
    expect(extraAlice, `alice's balance is the fulfilled sum plus some packets in flight: ${detail}`).not.to.equal(undefined)
    expect(extraBob, `bob's balance is minus the fulfilled sum minus some packets in flight: ${detail}`).not.to.equal(undefined)
    // bob's outgoing side commits a Fulfill before alice's incoming side sees it.
    expect(extraBob, detail).to.include.members(extraAlice!)

    const second = await network()
    second.bob.handler = (prepare) => answer(prepare.data, false, second.bob.address)
    expect(await pay(second.alice, 1_000_000, 777n)).to.have.property('type', 'fulfill')
    await stop(second)
    expect(await readBalances(dir)).to.deep.equal({ alice: balances.alice! + 777n, bob: balances.bob! - 777n })
  })

  it('a directory another conn holds: the second exits 1 with the lock message before opening a port; the first keeps working', async () => {
    const first = await network()
    first.bob.handler = (prepare) => answer(prepare.data, false, first.bob.address)
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const second = startConn([], storeConnEnv({ dir, alicePort, bobPort }))
    conns.push(second)
    expect(await second.exited).to.equal(1)
    expect(second.stderr()).to.match(new RegExp(
      `^conn: start-up failed: storePath \\(CONNECTOR_STORE_PATH\\): the leveldown store at ${escape(dir)} is locked by ` +
      'another process \\(another conn running on it\\?\\): stop that process, or give this one another directory ' +
      '\\(IO error: lock .*LOCK: .*\\)\\n$'))
    const listening = (conn: ConnProcess): unknown[] => logLines(conn.stdout()).filter((line) => String(line.msg).startsWith('listening for BTP connections'))
    expect(listening(first.conn), 'the first one logged its listeners').to.have.length(2)
    expect(listening(second), 'the second opened none').to.have.length(0)
    expect(await isListening(alicePort)).to.equal(false)

    expect(await pay(first.alice, 0)).to.have.property('type', 'fulfill')
    await stop(first)
    expect(await readBalances(dir)).to.deep.equal({ alice: amountOf(0), bob: -amountOf(0) })
  })

  it('a directory held open by another process (here: the test), a path under a file, or no path: exits 1 with the reason', async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const holder = new LevelStore({ path: dir })
    holders.push(holder)
    await holder.open()
    const run = async (env: Record<string, string>): Promise<string> => {
      const conn = startConn([], { ...storeConnEnv({ dir, alicePort, bobPort }), ...env })
      conns.push(conn)
      expect(await conn.exited, conn.stderr()).to.equal(1)
      return conn.stderr()
    }
    const file = join(dir, '..', `${dir.split('/').pop()!}-file`)
    await writeFile(file, 'not a directory')
    try {
      const [locked, underFile, noPath] = await Promise.all([
        run({}),
        run({ CONNECTOR_STORE_PATH: join(file, 'db') }),
        run({ CONNECTOR_STORE_PATH: '', CONNECTOR_STORE: 'level' })
      ])
      expect(locked).to.include(`conn: start-up failed: storePath (CONNECTOR_STORE_PATH): the leveldown store at ${dir} is locked by another process (another conn running on it?)`)
      expect(underFile).to.include(`conn: start-up failed: storePath (CONNECTOR_STORE_PATH): cannot create or write the leveldown store at ${join(file, 'db')}: the path or one of its parents is a file, not a directory`)
      expect(noPath).to.equal("conn: start-up failed: storePath (CONNECTOR_STORE_PATH): required for the leveldown store: set it to the directory that keeps the connector's data (created if missing)\n")
    } finally {
      await rm(file, { force: true })
    }
    expect(await isListening(alicePort)).to.equal(false)
  })
})

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
