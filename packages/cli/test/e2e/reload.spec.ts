/**
 * Configuration changes without a restart, on the real bin with real BTP clients and payments flowing all along:
 * SIGHUP adds an account, applies a changed option to another without dropping its connection, removes one after
 * its packets in flight; a broken configuration is refused whole and the connector keeps serving; --watch reloads
 * on a change of the file. Every payment sent meanwhile is fulfilled or rejected with a temporary code, and alice's
 * balance is exactly what was fulfilled.
 */
import { expect } from 'chai'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, sleep, type Node } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'
import { OWN_ADDRESS, answer, clientNode, paymentData, stopEverything } from '../helpers/store.ts'

const refuse = (): Buffer => answer(Buffer.alloc(36), true, `${OWN_ADDRESS}.x`)
const fulfil = (prepare: { data: Buffer }): Buffer => answer(prepare.data, false, '')

function account (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    relation: 'child',
    plugin: 'ilp-plugin-btp',
    assetCode: 'USD',
    assetScale: 9,
    options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } },
    ...extra
  }
}

describe('e2e: configuration reload (SIGHUP, --watch)', function () {
  this.timeout(60_000)
  let dir: string
  let conn: ConnProcess | undefined
  const nodes: Node[] = []
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'conn-reload-')) })
  afterEach(async () => {
    await stopEverything(nodes.splice(0), conn === undefined ? [] : [conn])
    conn = undefined
    await rm(dir, { recursive: true, force: true })
  })

  it('adds, changes and removes accounts under load through SIGHUP; refuses a broken config whole and keeps serving', async () => {
    const [alicePort, bobPort, carolPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
    const file = join(dir, 'conn.json')
    const base = {
      ilpAddress: OWN_ADDRESS,
      backend: 'one-to-one',
      spread: 0,
      adminApi: true,
      adminApiPort: adminPort,
      accounts: {
        alice: account(alicePort, { balance: { maximum: '1000000000' } }),
        bob: account(bobPort)
      }
    }
    const write = async (config: unknown): Promise<void> => { await writeFile(file, JSON.stringify(config)) }
    await write(base)
    conn = startConn(['--config', file])
    const [alice, bob] = await Promise.all([clientNode('alice', alicePort, 's', refuse), clientNode('bob', bobPort, 's', fulfil)])
    nodes.push(alice, bob)
    await conn.waitFor('connector ready')
    let aliceDisconnected = false
    alice.plugin.on('disconnect', () => { aliceDisconnected = true })

    // payments alice -> bob all along, four at a time
    const outcomes: string[] = []
    let fulfilledAmount = 0n
    let running = true
    let index = 0
    const lane = async (): Promise<void> => {
      while (running) {
        const reply = await alice.pay({ amount: 10n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(index++) })
        outcomes.push(reply.type === 'fulfill' ? 'fulfill' : reply.code)
        if (reply.type === 'fulfill') fulfilledAmount += 10n
      }
    }
    const lanes = Promise.all([lane(), lane(), lane(), lane()])
    const pay = async (to: string, amount: bigint): Promise<string> => {
      const reply = await alice.pay({ amount, destination: `${OWN_ADDRESS}.${to}`, ...paymentData(index++) })
      if (reply.type === 'fulfill') fulfilledAmount += amount
      return reply.type === 'fulfill' ? 'fulfill' : reply.code
    }
    const hangUp = async (logged: string): Promise<void> => {
      const before = conn!.stdout().split(logged).length
      conn!.child.kill('SIGHUP')
      const deadline = Date.now() + 10_000
      while (conn!.stdout().split(logged).length === before && Date.now() < deadline) await sleep(20)
      expect(conn!.stdout().split(logged).length, `no "${logged}" after SIGHUP:\n${conn!.stdout().slice(-3000)}`).to.be.greaterThan(before)
    }
    await sleep(200)

    // 1. an account added: carol's listener opens, her client connects, alice pays her
    await write({ ...base, accounts: { ...base.accounts, carol: account(carolPort) } })
    await hangUp('configuration reload: account added')
    const carol = await clientNode('carol', carolPort, 's', fulfil)
    nodes.push(carol)
    expect(await pay('carol', 5n)).to.equal('fulfill')

    // 2. alice's maxPacketAmount changed: applied at once, her connection and balance untouched
    const limitedAlice = account(alicePort, { balance: { maximum: '1000000000' }, maxPacketAmount: '15' })
    await write({ ...base, accounts: { ...base.accounts, carol: account(carolPort), alice: limitedAlice } })
    await hangUp('configuration reload: account options applied')
    expect(await pay('bob', 20n)).to.equal('F08')
    expect(await pay('bob', 12n)).to.equal('fulfill')
    expect(aliceDisconnected).to.equal(false)

    // 3. carol removed: drained, her listener closed; payments to her now find no route
    await write({ ...base, accounts: { alice: limitedAlice, bob: base.accounts.bob } })
    await hangUp('configuration reload: account removed')
    expect(await pay('carol', 5n)).to.equal('F02')

    // 4. a broken configuration: refused whole (every problem logged), nothing changes
    await write({ ...base, spread: -1, accounts: { alice: limitedAlice, bob: base.accounts.bob, dave: { relation: 'friend' } } })
    await hangUp('configuration reload refused whole')
    expect(conn.stdout()).to.include('configuration reload refused: spread').and.include('configuration reload refused: accounts.dave')
    expect(await pay('bob', 20n)).to.equal('F08') // alice's change from step 2 still holds
    await sleep(200)

    running = false
    await lanes
    const codes = new Set(outcomes)
    expect(outcomes.length).to.be.greaterThan(50)
    expect([...codes].every((code) => code === 'fulfill' || code.startsWith('T')), JSON.stringify([...codes])).to.equal(true)
    expect(outcomes.filter((o) => o === 'fulfill').length).to.be.greaterThan(outcomes.length / 2)
    const balances = await (await fetch(`http://127.0.0.1:${adminPort}/balance`)).json() as { accounts: Record<string, { balance: string }> }
    expect(BigInt(balances.accounts.alice!.balance)).to.equal(fulfilledAmount)
  })

  it('--watch reloads when the config file changes', async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const file = join(dir, 'conn.json')
    const base = { ilpAddress: OWN_ADDRESS, backend: 'one-to-one', spread: 0, accounts: { alice: account(alicePort) } }
    await writeFile(file, JSON.stringify(base))
    conn = startConn(['--config', file, '--watch'])
    const alice = await clientNode('alice', alicePort, 's', refuse)
    nodes.push(alice)
    await conn.waitFor('connector ready')
    await writeFile(file, JSON.stringify({ ...base, accounts: { ...base.accounts, bob: account(bobPort) } }))
    await conn.waitFor('configuration reload: account added')
    const bob = await clientNode('bob', bobPort, 's', fulfil)
    nodes.push(bob)
    const reply = await alice.pay({ amount: 10n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(1) })
    expect(reply.type).to.equal('fulfill')
  })
  it('applies a new spread to the next packets and re-creates an account whose plugin options changed', async () => {
    const [alicePort, bobPort, bobPort2] = [await freePort(), await freePort(), await freePort()]
    const file = join(dir, 'conn.json')
    const base = { ilpAddress: OWN_ADDRESS, backend: 'one-to-one', spread: 0, accounts: { alice: account(alicePort), bob: account(bobPort) } }
    await writeFile(file, JSON.stringify(base))
    conn = startConn(['--config', file])
    const received: bigint[] = []
    let delay = 0
    const counting = async (prepare: { amount: bigint, data: Buffer }): Promise<Buffer> => {
      received.push(prepare.amount)
      if (delay > 0) await sleep(delay)
      return fulfil(prepare)
    }
    const [alice, bob] = await Promise.all([clientNode('alice', alicePort, 's', refuse), clientNode('bob', bobPort, 's', counting)])
    nodes.push(alice, bob)
    await conn.waitFor('connector ready')
    expect((await alice.pay({ amount: 1000n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(1) })).type).to.equal('fulfill')

    await writeFile(file, JSON.stringify({ ...base, spread: 0.25 }))
    conn.child.kill('SIGHUP')
    await conn.waitFor('configuration reload: backend options applied')
    expect((await alice.pay({ amount: 1000n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(2) })).type).to.equal('fulfill')
    expect(received).to.deep.equal([1000n, 750n])

    // bob's listener moves to another port: the account is drained (the 5 packets bob holds for 400 ms are
    // fulfilled first), then made again on the new port
    delay = 400
    const inFlight = Promise.all([10, 11, 12, 13, 14].map(async (i) => await alice.pay({ amount: 1000n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(i) })))
    await sleep(100)
    await writeFile(file, JSON.stringify({ ...base, spread: 0.25, accounts: { alice: base.accounts.alice, bob: account(bobPort2) } }))
    conn.child.kill('SIGHUP')
    expect((await inFlight).map((reply) => reply.type)).to.deep.equal(Array(5).fill('fulfill'))
    await conn.waitFor('configuration reload: account created again')
    expect(conn.stdout()).to.include('account removed after its packets in flight were answered')
    delay = 0
    received.splice(2)
    const bobAgain = await clientNode('bob', bobPort2, 's', counting)
    nodes.push(bobAgain)
    expect((await alice.pay({ amount: 1000n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(3) })).type).to.equal('fulfill')
    expect(received).to.deep.equal([1000n, 750n, 750n])
    expect(conn.stdout()).to.not.include('takes a restart')
  })
})
