import { expect } from 'chai'
import sinon from 'sinon'
import { KIND_ILP, PendingRequest, PendingRequests } from '../src/pending.ts'
import { BtpPlugin } from '../src/btp-plugin.ts'

function entry (table: PendingRequests, owner: unknown, deadline: number, settled: string[]): PendingRequest {
  const id = table.nextId()
  const request = new PendingRequest(id, owner, KIND_ILP, deadline,
    () => { settled.push(`${id} resolved`) }, (err) => { settled.push(`${id} ${err.message}`) })
  table.add(request)
  return request
}

describe('pending', () => {
  it('hands out request ids from a counter, skipping ids still pending and wrapping at 2^32', () => {
    const table = new PendingRequests()
    expect([table.nextId(), table.nextId(), table.nextId()]).to.deep.equal([1, 2, 3])
    const wrapping = new PendingRequests()
    ;(wrapping as unknown as { lastId: number }).lastId = 0xfffffffe
    wrapping.add(new PendingRequest(0, 'x', KIND_ILP, 0, () => {}, () => {}))
    expect([wrapping.nextId(), wrapping.nextId()]).to.deep.equal([0xffffffff, 1])
  })

  it('take() gives a request only to its owner, and only once', () => {
    const table = new PendingRequests()
    const settled: string[] = []
    const request = entry(table, 'alice', 100, settled)
    expect(table.take(request.id, 'mallory')).to.equal(undefined)
    expect(table.size).to.equal(1)
    expect(table.take(request.id, 'alice')).to.equal(request)
    expect(table.take(request.id, 'alice')).to.equal(undefined)
    expect(table.size).to.equal(0)
  })

  it('expire() removes requests past their deadline; ordered mode stops at the first still running', () => {
    const table = new PendingRequests()
    const seen: number[] = []
    entry(table, 'a', 10, [])
    entry(table, 'a', 20, [])
    entry(table, 'a', 5, []) // out of order: ordered mode does not reach it
    table.expire(15, true, (r) => { seen.push(r.id) })
    expect(seen).to.deep.equal([1])
    table.expire(15, false, (r) => { seen.push(r.id) })
    expect(seen).to.deep.equal([1, 3])
    expect(table.size).to.equal(1)
  })

  it('failAll() rejects the requests of one owner, or all', () => {
    const table = new PendingRequests()
    const settled: string[] = []
    entry(table, 'a', 10, settled)
    entry(table, 'b', 10, settled)
    entry(table, 'a', 10, settled)
    table.failAll('a', (r) => new Error(`gone ${r.id}`))
    table.failAll(undefined, () => new Error('all gone'))
    expect(settled).to.deep.equal(['1 gone 1', '3 gone 3', '2 all gone'])
  })

  it('a BtpPlugin request times out with "<id> timed out" from the one sweep interval (fake timers)', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setInterval', 'clearInterval', 'Date'] })
    try {
      const plugin = new BtpPlugin({ listener: { port: 1, secret: 's' }, responseTimeout: 1000, pingInterval: 0 })
      const internals = plugin as unknown as { stopTimers: () => void, request: (...args: unknown[]) => Promise<Buffer>, sweepTimer: unknown }
      expect(internals.sweepTimer).to.equal(undefined) // no timer while nothing is pending
      const link = { owner: 'peer', send: () => {} }
      const result = internals.request(link, 41, KIND_ILP, Buffer.alloc(0)).then(() => 'resolved', (err: Error) => err.message)
      clock.tick(900)
      await Promise.resolve()
      clock.tick(200)
      expect(await result).to.equal('41 timed out')
      clock.tick(100)
      expect(internals.sweepTimer).to.equal(undefined) // disarmed once the table is empty
    } finally {
      clock.restore()
    }
  })
})
