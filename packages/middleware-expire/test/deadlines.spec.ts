import { expect } from 'chai'
import sinon from 'sinon'
import { Deadlines } from '../src/deadlines.ts'

describe('Deadlines', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 1_000_000 }) })
  afterEach(() => { clock.restore() })

  it('expires entries at their own deadline, in deadline order, with a single timer', async () => {
    const deadlines = new Deadlines()
    const fired: number[] = []
    const ats = [500, 100, 900, 300, 300, 700, 50]
    for (const at of ats) deadlines.add(1_000_000 + at, () => fired.push(at))
    expect(clock.countTimers()).to.equal(1)
    await clock.tickAsync(299)
    expect(fired).to.deep.equal([50, 100])
    await clock.tickAsync(1)
    expect(fired).to.deep.equal([50, 100, 300, 300])
    await clock.tickAsync(1000)
    expect(fired).to.deep.equal([50, 100, 300, 300, 500, 700, 900])
    expect(clock.countTimers()).to.equal(0)
  })

  it('never fires a removed entry, whatever its place in the heap, and keeps the others in order', async () => {
    const deadlines = new Deadlines()
    const fired: number[] = []
    const entries = Array.from({ length: 200 }, (_, i) => {
      const at = (i * 7919) % 1000 + 1 // a scrambled order of deadlines 1..1000
      return { at, entry: deadlines.add(1_000_000 + at, () => fired.push(at)) }
    })
    const removed = new Set<number>()
    for (let i = 0; i < entries.length; i += 3) {
      deadlines.remove(entries[i]!.entry)
      removed.add(entries[i]!.at)
    }
    deadlines.remove(entries[0]!.entry) // removing twice is harmless
    await clock.tickAsync(2000)
    const expected = entries.map((e) => e.at).filter((at) => !removed.has(at)).sort((a, b) => a - b)
    expect(fired).to.deep.equal(expected)
    expect(deadlines.size).to.equal(0)
  })

  it('clears its timer once the last entry is removed', () => {
    const deadlines = new Deadlines()
    const a = deadlines.add(1_000_500, () => {})
    const b = deadlines.add(1_000_100, () => {})
    deadlines.remove(b)
    expect(clock.countTimers()).to.equal(1)
    deadlines.remove(a)
    expect(clock.countTimers()).to.equal(0)
  })
})
