import { expect } from 'chai'
import { BalanceRangeError, checkedBalance, isBalanceRangeError } from '../src/index.ts'

describe('balances', () => {
  it('checkedBalance returns balance + delta within the limits, reaching a limit exactly included', () => {
    expect(checkedBalance(0n, 100n, -50n, 100n)).to.equal(100n)
    expect(checkedBalance(0n, -50n, -50n, 100n)).to.equal(-50n)
    expect(checkedBalance(5n, 2n ** 64n)).to.equal(2n ** 64n + 5n)
  })

  it('checkedBalance throws BalanceRangeError { balance, proposed, limit } past the limit the change moves towards', () => {
    expect(() => checkedBalance(90n, 11n, -100n, 100n)).to.throw(BalanceRangeError).that.includes({ balance: 90n, proposed: 101n, limit: 'maximum' })
    expect(() => checkedBalance(-90n, -11n, -100n, 100n)).to.throw(BalanceRangeError).that.includes({ balance: -90n, proposed: -101n, limit: 'minimum' })
  })

  it('checkedBalance allows a change away from a limit the balance is already beyond', () => {
    expect(checkedBalance(-500n, 100n, 0n, 1000n)).to.equal(-400n)
    expect(checkedBalance(500n, -100n, 0n, 100n)).to.equal(400n)
  })

  it('isBalanceRangeError recognizes one by shape (another copy of the class) and refuses look-alikes', () => {
    const copy = Object.assign(new Error('x'), { name: 'BalanceRangeError', balance: 1n, proposed: 2n, limit: 'maximum' })
    expect(isBalanceRangeError(copy)).to.equal(true)
    expect(isBalanceRangeError({ ...copy, limit: 'other' })).to.equal(false)
    expect(isBalanceRangeError(new Error('x'))).to.equal(false)
    expect(isBalanceRangeError(null)).to.equal(false)
  })
})
