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

describe('OperatorError', () => {
  it('carries a stable code and is recognised by shape, also when another copy of the class made it', async () => {
    const { OperatorError, isOperatorError } = await import('../src/index.ts')
    const err = new OperatorError('ERR_STORE_LOCKED', 'store "leveldown": /data is locked by another process')
    expect(err.code).to.equal('ERR_STORE_LOCKED')
    expect(err.name).to.equal('OperatorError')
    expect(isOperatorError(err)).to.equal(true)
    const foreign = Object.assign(new Error('from another copy'), { operatorError: true, code: 'ERR_X' })
    expect(isOperatorError(foreign)).to.equal(true)
    expect(isOperatorError(new Error('a bug'))).to.equal(false)
    expect(isOperatorError(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).to.equal(false)
  })
})

describe('PluginOptionsError', () => {
  it('lists every refused option in its message and is recognised by shape', async () => {
    const { PluginOptionsError, isPluginOptionsError, isOperatorError } = await import('../src/index.ts')
    const err = new PluginOptionsError([
      { option: 'listener.secret', message: 'expected a non-empty string' },
      { option: 'responseTimeout', message: 'expected a number of milliseconds >= 0, got "x"' }
    ])
    expect(err.code).to.equal('ERR_PLUGIN_OPTIONS')
    expect(err.message).to.equal('listener.secret: expected a non-empty string\nresponseTimeout: expected a number of milliseconds >= 0, got "x"')
    expect(isOperatorError(err)).to.equal(true)
    expect(isPluginOptionsError(err)).to.equal(true)
    const foreign = Object.assign(new Error('x'), { operatorError: true, code: 'ERR_PLUGIN_OPTIONS', issues: [] })
    expect(isPluginOptionsError(foreign)).to.equal(true)
    expect(isPluginOptionsError(Object.assign(new Error('x'), { operatorError: true, code: 'ERR_CONFIG' }))).to.equal(false)
  })
})
