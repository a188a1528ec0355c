import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SEMI_SPACE_MB, semiSpaceSizeGiven } from '../src/young-generation.ts'

const MODULE = fileURLToPath(new URL('../src/young-generation.ts', import.meta.url))

/**
 * Runs a fresh node that keeps many short-lived objects alive across scavenges (as packets in flight are)
 * for `ms`, with or without the cap, and reports the largest new space it saw, MB.
 */
function largestNewSpaceMb (capped: boolean, ms = 1500, nodeOptions = ''): { largest: number, capped: boolean } {
  const script = `
    const v8 = await import('node:v8')
    const { capYoungGeneration } = await import(${JSON.stringify(MODULE)})
    const cap = ${String(capped)} ? capYoungGeneration() : undefined
    const ring = new Array(50000)
    let largest = 0
    const end = Date.now() + ${ms}
    let i = 0
    while (Date.now() < end) {
      for (let j = 0; j < 5000; j++) ring[i++ % ring.length] = { i, payload: [i, i + 1, String(i)] }
      const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
      largest = Math.max(largest, size)
      await new Promise((resolve) => setImmediate(resolve)) // let the observer run
    }
    cap?.stop()
    console.log(JSON.stringify({ largest: largest / 2 ** 20, capped: cap !== undefined }))`
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions }
  })
  return JSON.parse(output) as { largest: number, capped: boolean }
}

describe('capYoungGeneration', function () {
  this.timeout(30000)

  it(`keeps new space at two ${SEMI_SPACE_MB} MB semi-spaces under a load that grows it past that without the cap`, () => {
    const free = largestNewSpaceMb(false)
    const capped = largestNewSpaceMb(true)
    expect(free.largest, 'without the cap new space grows beyond the cap').to.be.above(2 * SEMI_SPACE_MB)
    expect(capped.capped).to.equal(true)
    expect(capped.largest).to.be.at.most(2 * SEMI_SPACE_MB)
  })

  it('does nothing when the operator gave a semi-space size in NODE_OPTIONS', () => {
    const result = largestNewSpaceMb(true, 1500, '--max-semi-space-size=16')
    expect(result.capped).to.equal(false)
    expect(result.largest).to.be.above(2 * SEMI_SPACE_MB)
  })

  it('recognizes every spelling of the semi-space options, on the command line and in NODE_OPTIONS', () => {
    expect(semiSpaceSizeGiven(['--max-semi-space-size=8'], '')).to.equal(true)
    expect(semiSpaceSizeGiven(['--max_semi_space_size', '8'], '')).to.equal(true)
    expect(semiSpaceSizeGiven([], '--inspect --min-semi-space-size=2')).to.equal(true)
    expect(semiSpaceSizeGiven([], '--semi-space-growth-factor=3')).to.equal(true)
    expect(semiSpaceSizeGiven(['--max-old-space-size=512'], '--enable-source-maps')).to.equal(false)
    expect(semiSpaceSizeGiven([], '')).to.equal(false)
  })
})
