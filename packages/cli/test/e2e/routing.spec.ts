/**
 * Route exchange end to end: three conn connectors in a line, test.a - test.b - test.c, neighbours peered
 * over real BTP on 127.0.0.1, each with one child (alice, bob, carol). Nothing is configured but the
 * links: every route comes from CCP (@conn/routing-ccp, loaded by name). Intervals are short
 * (routeBroadcastInterval 250 ms, routeExpiry 1.5 s, routeCleanupInterval 100 ms).
 */
import { expect } from 'chai'
import { Harness, waitFor, type Node } from '../helpers/harness.ts'
import { Line, ROUTING_FAST, routingStatus } from '../helpers/routing.ts'

let h: Harness
let line: Line

async function converge (): Promise<number> {
  const started = Date.now()
  await line.start()
  await waitFor('routes between test.a, test.b and test.c', () => line.converged(), 5000)
  return Date.now() - started
}

/** Pays `amount` from one child to another; returns the reply type after checking what arrived. */
async function pay (from: Node, to: Node, amount: bigint): Promise<void> {
  const before = to.received.length
  const reply = await from.pay({ amount, destination: to.address + '.wallet', ...h.condition() })
  expect(reply, `${from.name} -> ${to.name}`).to.deep.include({ type: 'fulfill' })
  expect(to.received.slice(before).map((p) => p.amount), `${from.name} -> ${to.name}`).to.deep.equal([amount])
}

describe('e2e: routing (CCP) in a line of three conn connectors', function () {
  this.timeout(15000)

  beforeEach(async () => {
    h = new Harness()
    line = await Line.create(h, { a: 'alice', b: 'bob', c: 'carol' })
  })
  afterEach(async () => {
    await line.close()
    await h.close()
  })

  it('converges from start-up, then every child pays every other child the exact amount (6 payments)', async () => {
    const elapsed = await converge()
    console.log(`      convergence of test.a - test.b - test.c: ${elapsed} ms (routeBroadcastInterval ${ROUTING_FAST.routeBroadcastInterval} ms)`)
    const { a, b, c } = line.apps
    expect(a!.routingTable.get('test.c')).to.deep.include({ nextHop: 'b', path: ['test.b', 'test.c'] })
    expect(c!.routingTable.get('test.a')).to.deep.include({ nextHop: 'b', path: ['test.b', 'test.a'] })
    expect(b!.routingTable.get('test.a')).to.deep.include({ nextHop: 'a', path: ['test.a'] })

    const children = Object.values(line.children)
    let amount = 1000n
    for (const from of children) {
      for (const to of children) {
        if (from !== to) await pay(from, to, amount++)
      }
    }
  })

  it('a child that disconnects stays covered by its connector\'s route: payments to it get T01 from that connector', async () => {
    await converge()
    await line.children.c!.disconnect()
    const reply = await line.children.a!.pay({ amount: 10, destination: 'test.c.carol', ...h.condition() })
    expect(reply).to.deep.include({ type: 'reject', code: 'T01', triggeredBy: 'test.c', message: 'no connection to account. account=carol' })
    expect(line.apps.a!.routingTable.get('test.c')).to.not.equal(undefined)
  })

  it('a connector that goes away is withdrawn everywhere: A answers F02 for C\'s child within two broadcast intervals', async () => {
    await converge()
    const stopped = Date.now()
    await line.apps.c!.shutdown()
    await waitFor('test.c withdrawn at A', () => line.apps.a!.routingTable.get('test.c') === undefined, 2 * ROUTING_FAST.routeBroadcastInterval + 200)
    const elapsed = Date.now() - stopped
    console.log(`      withdrawal of test.c reached test.a in ${elapsed} ms`)
    expect(line.apps.b!.routingTable.get('test.c')).to.equal(undefined)
    const reply = await line.children.a!.pay({ amount: 10, destination: 'test.c.carol', ...h.condition() })
    expect(reply).to.deep.include({ type: 'reject', code: 'F02', triggeredBy: 'test.a', message: 'no route found. source=alice destination=test.c.carol' })
  })

  it('B restarts with the same configuration and ports: routes come back and A\'s child pays C\'s child again', async () => {
    await converge()
    await pay(line.children.a!, line.children.c!, 500n)
    const oldTableId = routingStatus(line.apps.b!).routingTableId
    const restarted = Date.now()
    await line.restart('b')
    await waitFor('routes after B restarted', () => line.converged(), 5000)
    console.log(`      routes back ${Date.now() - restarted} ms after B's restart began`)
    // A and C follow B's new routing table.
    const newTableId = routingStatus(line.apps.b!).routingTableId
    expect(newTableId).to.not.equal(oldTableId)
    expect(routingStatus(line.apps.a!).peers.b!.receive!.routingTableId).to.equal(newTableId)
    expect(routingStatus(line.apps.c!).peers.b!.receive!.routingTableId).to.equal(newTableId)
    await pay(line.children.a!, line.children.c!, 501n)
    await pay(line.children.c!, line.children.a!, 502n)
  })
})
