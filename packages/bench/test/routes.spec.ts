import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { measureRoutes, type RoutesTarget } from '../src/routes.ts'

// The measurement forks the compiled processes (dist/): compile them first when a source is newer.
const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
function stale (): boolean {
  const mtime = (path: string): number => { try { return statSync(path).mtimeMs } catch { return 0 } }
  return readdirSync(PACKAGE + 'src').some((file) => mtime(`${PACKAGE}src/${file}`) > mtime(`${PACKAGE}dist/${file.replace(/\.ts$/, '.js')}`))
}
before(function () {
  this.timeout(60000)
  if (stale()) execFileSync('pnpm', ['exec', 'tsc', '-p', 'tsconfig.json'], { cwd: PACKAGE, stdio: 'inherit' })
})

describe('routing benchmark', () => {
  for (const target of ['conn', 'reference'] as RoutesTarget[]) {
    it(`${target}: takes 2,000 routes from the CCP speaker and fulfills packets to each of them`, async function () {
      this.timeout(90000) // the reference takes 2,000 routes in about 1 s alone, over 30 s on a loaded machine
      const m = await measureRoutes(target, { routes: 2000, beforeMs: 300, afterMs: 1000, rate: 500, sweep: 2000 })
      expect(m.errors).to.deep.equal([])
      expect(m.updateRejects).to.deep.equal({})
      expect(m.learnt).to.equal(2000)
      expect(m.updates).to.equal(5)
      // every route taken: a packet to each one fulfilled by the speaker
      expect(m.sweep).to.deep.equal({ checked: 2000, missing: 0, firstMissing: [], results: { F: 2000 } })
      // packets to learnt routes during and after the updates: fulfilled, none rejected
      expect(m.during.rejected).to.deep.equal({})
      expect(m.after.rejected).to.deep.equal({})
      expect(m.before.rejected).to.deep.equal({})
      // a connector still busy with the last update answers the after phase late (under load, the reference
      // sometimes after it ended): the sweep above is the check that every route forwards
      expect(m.before.fulfilled + m.during.fulfilled + m.after.fulfilled).to.be.greaterThan(0)
      expect(m.peakRssMb).to.be.greaterThan(0)
      expect(m.cpuSeconds).to.be.greaterThan(0)
    })
  }
})
