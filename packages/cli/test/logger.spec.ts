import { expect } from 'chai'
import { chooseLogFormat } from '../src/logger.ts'

describe('logger', () => {
  it('is readable on a terminal and JSON anywhere else, unless --log-format or LOG_FORMAT says otherwise', () => {
    expect(chooseLogFormat(undefined, undefined, true)).to.equal('pretty')
    expect(chooseLogFormat(undefined, undefined, false)).to.equal('json')
    expect(chooseLogFormat(undefined, '', false)).to.equal('json')
    expect(chooseLogFormat('json', undefined, true)).to.equal('json')
    expect(chooseLogFormat(undefined, 'pretty', false)).to.equal('pretty')
    expect(chooseLogFormat('json', 'pretty', false)).to.equal('json')
  })

  it('names LOG_FORMAT when it holds something else', () => {
    expect(() => chooseLogFormat(undefined, 'xml', true)).to.throw('LOG_FORMAT: expected json or pretty, got "xml"')
  })
})
