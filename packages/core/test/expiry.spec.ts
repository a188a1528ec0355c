import { expect } from 'chai'
import { InsufficientTimeoutError } from '@conn/types'
import { outgoingExpiry } from '../src/expiry.ts'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0, 0)
const DEFAULTS = { minMessageWindow: 1000, maxHoldTime: 30000 }
const iso = (time: number): string => new Date(time).toISOString()

function r02 (fn: () => unknown): InsufficientTimeoutError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(InsufficientTimeoutError)
    expect((err as InsufficientTimeoutError).ilpErrorCode).to.equal('R02')
    return err as InsufficientTimeoutError
  }
  expect.fail('expected an R02 error')
}

describe('expiry', () => {
  it('shortens the expiry by minMessageWindow', () => {
    expect(outgoingExpiry(NOW + 10000, NOW, DEFAULTS)).to.equal(NOW + 9000)
  })

  it('uses the configured minMessageWindow', () => {
    expect(outgoingExpiry(NOW + 10000, NOW, { minMessageWindow: 2500, maxHoldTime: 30000 })).to.equal(NOW + 7500)
  })

  it('caps the expiry at now + maxHoldTime', () => {
    expect(outgoingExpiry(NOW + 60000, NOW, DEFAULTS)).to.equal(NOW + 30000)
    expect(outgoingExpiry(NOW + 60000, NOW, { minMessageWindow: 1000, maxHoldTime: 5000 })).to.equal(NOW + 5000)
  })

  it('is exactly now + maxHoldTime when the shortened expiry equals the cap', () => {
    expect(outgoingExpiry(NOW + 31000, NOW, DEFAULTS)).to.equal(NOW + 30000)
  })

  it('forwards a packet with exactly 2 x minMessageWindow left, leaving exactly minMessageWindow downstream', () => {
    expect(outgoingExpiry(NOW + 2000, NOW, DEFAULTS)).to.equal(NOW + 1000)
  })

  it('rejects with R02 "expires too soon" one millisecond below 2 x minMessageWindow', () => {
    const err = r02(() => outgoingExpiry(NOW + 1999, NOW, DEFAULTS))
    expect(err.message).to.equal('source transfer expires too soon to complete payment.' +
      ` actualSourceExpiry=${iso(NOW + 1999)} requiredSourceExpiry=${iso(NOW + 2000)} currentTime=${iso(NOW)}`)
  })

  it('rejects with R02 "expires too soon" when exactly minMessageWindow is left', () => {
    const err = r02(() => outgoingExpiry(NOW + 1000, NOW, DEFAULTS))
    expect(err.message).to.equal('source transfer expires too soon to complete payment.' +
      ' actualSourceExpiry=2026-01-15T12:00:01.000Z requiredSourceExpiry=2026-01-15T12:00:02.000Z currentTime=2026-01-15T12:00:00.000Z')
  })

  it('rejects with R02 "expires too soon" when it expires exactly now (not yet expired)', () => {
    const err = r02(() => outgoingExpiry(NOW, NOW, DEFAULTS))
    expect(err.message).to.equal('source transfer expires too soon to complete payment.' +
      ` actualSourceExpiry=${iso(NOW)} requiredSourceExpiry=${iso(NOW + 2000)} currentTime=${iso(NOW)}`)
  })

  it('names now + 2 x the configured window as the required expiry', () => {
    const err = r02(() => outgoingExpiry(NOW + 4000, NOW, { minMessageWindow: 2500, maxHoldTime: 30000 }))
    expect(err.message).to.equal('source transfer expires too soon to complete payment.' +
      ` actualSourceExpiry=${iso(NOW + 4000)} requiredSourceExpiry=${iso(NOW + 5000)} currentTime=${iso(NOW)}`)
  })

  it('rejects with R02 "expires too soon" when maxHoldTime leaves less than minMessageWindow', () => {
    const err = r02(() => outgoingExpiry(NOW + 60000, NOW, { minMessageWindow: 1000, maxHoldTime: 999 }))
    expect(err.message).to.match(/^source transfer expires too soon to complete payment\. /)
  })

  it('rejects with R02 "already expired" when the source expiry has passed', () => {
    const err = r02(() => outgoingExpiry(NOW - 1, NOW, DEFAULTS))
    expect(err.message).to.equal('source transfer has already expired.' +
      ' sourceExpiry=2026-01-15T11:59:59.999Z currentTime=2026-01-15T12:00:00.000Z')
  })

  it('leaves triggeredBy unset and data empty for the error handler to fill in', () => {
    const err = r02(() => outgoingExpiry(NOW - 5000, NOW, DEFAULTS))
    expect(err.triggeredBy).to.equal(undefined)
    expect(err.data.length).to.equal(0)
  })
})
