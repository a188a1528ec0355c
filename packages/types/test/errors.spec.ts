import { expect } from 'chai'
import { AmountTooLargeError, IlpError, InsufficientTimeoutError, UnreachableError, isIlpError } from '../src/index.ts'

describe('ILP errors', () => {
  it('carry their code, message and empty data by default', () => {
    const err = new UnreachableError('no route found. source=a destination=test.x')
    expect(err).to.be.instanceOf(IlpError)
    expect(isIlpError(err)).to.equal(true)
    expect(err.ilpErrorCode).to.equal('F02')
    expect(err.message).to.equal('no route found. source=a destination=test.x')
    expect(err.data.length).to.equal(0)
    expect(err.name).to.equal('UnreachableError')
    expect(new InsufficientTimeoutError('x').ilpErrorCode).to.equal('R02')
  })

  it('F08 carries the received and maximum amounts as two big-endian UInt64s', () => {
    const err = new AmountTooLargeError('packet size too large. maxAmount=100 actualAmount=101',
      { receivedAmount: 101n, maximumAmount: 100n })
    expect(err.ilpErrorCode).to.equal('F08')
    expect(err.data.toString('hex')).to.equal('0000000000000065' + '0000000000000064')
    expect(err.ilpErrorData).to.equal(err.data)
  })
})
