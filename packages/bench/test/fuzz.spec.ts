/**
 * The fuzzer against the real `conn` bin: a small run (300 cases, every kind) must end without a failure, and the
 * checks between batches must catch a conn that died or a balance that moved (so a clean run means something).
 */
import { expect } from 'chai'
import { KINDS, makeCase } from '../src/fuzz-cases.ts'
import { runFuzz } from '../src/fuzz.ts'

describe('fuzz', function () {
  this.timeout(60000)

  it('draws the same cases from the same seed, and every kind within 300 cases', () => {
    const a = Array.from({ length: 300 }, (_, i) => makeCase(20261204, i))
    const b = Array.from({ length: 300 }, (_, i) => makeCase(20261204, i))
    expect(a.map((c) => `${c.kind}/${c.variant}`)).to.deep.equal(b.map((c) => `${c.kind}/${c.variant}`))
    expect(new Set(a.map((c) => c.kind))).to.have.lengthOf(KINDS.length)
    expect(a.map((c) => c.variant)).to.not.deep.equal(Array.from({ length: 300 }, (_, i) => makeCase(7, i).variant))
  })

  it('runs 300 cases: no hang, no forbidden answer; conn alive, canary fulfilled and balances unchanged after every batch', async () => {
    const report = await runFuzz({ cases: 300, seed: 20261204, batchSize: 100 })
    expect(report.failures, JSON.stringify(report.failures.slice(0, 5), null, 2)).to.deep.equal([])
    expect(report.cases).to.equal(300)
    for (const kind of KINDS) expect(report.kinds[kind], kind).to.be.greaterThan(0)
    expect(report.batches.map((b) => [b.alive, b.canary, b.balancesOk])).to.deep.equal(Array(4).fill([true, 'fulfilled', true]))
    expect(report.canaries).to.deep.include({ paid: 4, fulfilled: 4 })
    expect(report.balances.end).to.deep.include({ alice: '4000', bob: '-4000', carol: '0', dave: '0' })
    expect(report.answers).to.not.have.any.keys('HANG', 'UNEXPECTED', 'ERROR')
    expect(report.connExit).to.equal(0)
  })

  it('fails when a bystander\'s balance moved between batches', async () => {
    const report = await runFuzz({
      cases: 40,
      seed: 1,
      batchSize: 20,
      beforeCheck: async (batch, { admin }) => {
        if (batch === 1) expect((await admin('POST', '/balance', { accountId: 'carol', amountDiff: '5' })).status).to.equal(204)
      }
    })
    expect(report.failures.map((f) => f.message)).to.include.members(['balance of carol is 5, expected 0'])
    expect(report.batches.map((b) => b.balancesOk)).to.deep.equal([true, false, false])
  })

  it('fails and stops when conn dies', async () => {
    const report = await runFuzz({
      cases: 40,
      seed: 1,
      batchSize: 20,
      beforeCheck: async (batch, { conn }) => {
        if (batch === 1) {
          conn.kill('SIGKILL')
          await new Promise((resolve) => conn.once('exit', resolve))
        }
      }
    })
    expect(report.failures.some((f) => f.message.startsWith('conn is not alive'))).to.equal(true)
    expect(report.batches.map((b) => b.alive)).to.deep.equal([true, false])
    expect(report.cases).to.equal(20)
  })
})
