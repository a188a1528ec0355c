import { expect } from 'chai'
import {
  MoneyNotSentError, MoneyOutcomeUnknownError, SettlementAdminError, isMoneyNotSent, isOperatorError, isSettlementAdminError, lateOutcomeOf
} from '../src/index.ts'

describe('settlement signals', () => {
  it('isMoneyNotSent: MoneyNotSentError and any error with settlement "not-sent" (a plugin need not import the class)', () => {
    expect(isMoneyNotSent(new MoneyNotSentError('BTP connection is not open'))).to.equal(true)
    expect(isMoneyNotSent(Object.assign(new Error('refused'), { settlement: 'not-sent' }))).to.equal(true)
    expect(new MoneyNotSentError('x').name).to.equal('MoneyNotSentError')
  })

  it('isMoneyNotSent is false for everything else: the outcome is then unknown', () => {
    expect(isMoneyNotSent(new Error('1 timed out'))).to.equal(false)
    expect(isMoneyNotSent(new MoneyOutcomeUnknownError('1 timed out'))).to.equal(false)
    expect(isMoneyNotSent(Object.assign(new Error('x'), { settlement: 'not_sent' }))).to.equal(false)
    expect(isMoneyNotSent(undefined)).to.equal(false)
    expect(isMoneyNotSent('not-sent')).to.equal(false)
  })

  it('lateOutcomeOf: the outcome promise a MoneyOutcomeUnknownError carries, else undefined', async () => {
    const outcome = Promise.resolve('paid' as const)
    const err = new MoneyOutcomeUnknownError('1 timed out', { outcome, cause: new Error('inner') })
    expect(lateOutcomeOf(err)).to.equal(outcome)
    expect((err.cause as Error).message).to.equal('inner')
    expect(lateOutcomeOf(new MoneyOutcomeUnknownError('1 timed out'))).to.equal(undefined)
    expect(lateOutcomeOf(new Error('x'))).to.equal(undefined)
    expect(lateOutcomeOf(Object.assign(new MoneyNotSentError('x'), { outcome }))).to.equal(undefined)
  })

  it('SettlementAdminError is an operator error with its code', () => {
    const err = new SettlementAdminError('ERR_SETTLEMENT_NOT_FOUND', 'no unsettled settlement for account bob')
    expect(isOperatorError(err)).to.equal(true)
    expect(isSettlementAdminError(err)).to.equal(true)
    expect([err.code, err.name]).to.deep.equal(['ERR_SETTLEMENT_NOT_FOUND', 'SettlementAdminError'])
    expect(isSettlementAdminError(new Error('x'))).to.equal(false)
  })
})
