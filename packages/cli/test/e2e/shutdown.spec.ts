/**
 * Graceful drain, through the real `conn` bin: SIGTERM while 100 Prepares are in flight to a receiver that takes
 * 500 ms to answer. Every one of them must be fulfilled upstream (the receiver may already have paid out), a
 * Prepare sent after the signal gets a temporary reject at once, conn exits 0, and the balances of the fulfilled
 * packets are in the level store when conn starts again on it.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AdminClient } from '../helpers/admin.ts'
import { Harness, freePort, fulfillPacket, sleep, type Node } from '../helpers/harness.ts'
import { startConn, type ConnProcess } from '../helpers/process.ts'

describe('e2e: graceful shutdown', function () {
  this.timeout(30000)
  let h: Harness
  let conn: ConnProcess | undefined
  let dir: string

  beforeEach(async () => {
    h = new Harness()
    dir = await mkdtemp(join(tmpdir(), 'conn-drain-'))
  })
  afterEach(async () => {
    await h.close()
    if (conn !== undefined && conn.child.exitCode === null) {
      conn.child.kill('SIGKILL')
      await conn.exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  function env (ports: { alice: number, bob: number, admin: number }): Record<string, string> {
    const account = (port: number, balance: Record<string, string>): Record<string, unknown> => ({
      relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, balance,
      options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } }
    })
    return {
      CONNECTOR_ILP_ADDRESS: 'test.conn',
      CONNECTOR_BACKEND: 'one-to-one',
      CONNECTOR_SPREAD: '0',
      CONNECTOR_STORE_PATH: join(dir, 'db'),
      CONNECTOR_ADMIN_API: 'true',
      CONNECTOR_ADMIN_API_PORT: String(ports.admin),
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: account(ports.alice, { maximum: '1000000' }),
        bob: account(ports.bob, { minimum: '-1000000', maximum: '0' })
      })
    }
  }

  it('answers every packet in flight on SIGTERM, rejects new ones at once, exits 0 and keeps the balances', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), admin: await freePort() }
    conn = startConn([], env(ports))
    const alice = h.client('alice', `btp+ws://:s@127.0.0.1:${ports.alice}`)
    const bob: Node = h.client('bob', `btp+ws://:s@127.0.0.1:${ports.bob}`)
    const fulfillments = new Map<string, Buffer>()
    bob.handler = async (prepare) => {
      await sleep(500)
      return fulfillPacket(fulfillments.get(prepare.executionCondition.toString('hex'))!)
    }
    await Promise.all([alice.connect(), bob.connect()])
    await conn.waitFor('connector ready')

    const payments = Array.from({ length: 100 }, async () => {
      const condition = h.condition()
      fulfillments.set(condition.executionCondition.toString('hex'), condition.fulfillment)
      return await alice.pay({ amount: 10, destination: 'test.conn.bob', expiresIn: 10000, ...condition })
    })
    while (bob.received.length < 100) await sleep(10)
    conn.child.kill('SIGTERM')
    await conn.waitFor('shutting down')
    const late = await alice.pay({ amount: 10, destination: 'test.conn.bob', ...h.condition() })
    expect(late).to.deep.include({ type: 'reject', code: 'T03', message: 'connector is shutting down.' })

    const replies = await Promise.all(payments)
    expect(replies.filter((r) => r.type === 'fulfill')).to.have.length(100)
    expect(bob.received).to.have.length(100)
    expect(await conn.exited).to.equal(0)

    // the same store, a new process: the 100 fulfilled packets are on the books
    conn = startConn([], env(ports))
    const alice2 = h.client('alice2', `btp+ws://:s@127.0.0.1:${ports.alice}`)
    const bob2 = h.client('bob2', `btp+ws://:s@127.0.0.1:${ports.bob}`)
    await Promise.all([alice2.connect(), bob2.connect()])
    await conn.waitFor('connector ready')
    const balances = (await AdminClient.on(ports.admin).get('/balance')).json().accounts
    expect(balances.alice.balance).to.equal('1000')
    expect(balances.bob.balance).to.equal('-1000')
  })
  it('a second SIGTERM while packets are in flight exits 1 at once, without waiting for them', async () => {
    const ports = { alice: await freePort(), bob: await freePort(), admin: await freePort() }
    conn = startConn([], env(ports))
    const alice = h.client('alice', `btp+ws://:s@127.0.0.1:${ports.alice}`)
    const bob: Node = h.client('bob', `btp+ws://:s@127.0.0.1:${ports.bob}`)
    bob.handler = async () => await new Promise<Buffer>(() => {}) // never answers: the drain would wait
    await Promise.all([alice.connect(), bob.connect()])
    await conn.waitFor('connector ready')
    void alice.pay({ amount: 10, destination: 'test.conn.bob', expiresIn: 20000, ...h.condition() }).catch(() => {})
    while (bob.received.length < 1) await sleep(10)
    conn.child.kill('SIGTERM')
    await conn.waitFor('shutting down')
    const started = Date.now()
    conn.child.kill('SIGTERM')
    expect(await conn.exited).to.equal(1)
    expect(Date.now() - started).to.be.below(5000) // the packet in flight expires in 20 s
    expect(conn.stderr() + conn.stdout()).to.include('SIGTERM again, exiting now')
  })
})
