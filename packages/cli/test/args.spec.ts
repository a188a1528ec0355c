import { expect } from 'chai'
import { parseArgs } from '../src/args.ts'

describe('args', () => {
  it('reads --config, --port and --log-level', () => {
    expect(parseArgs(['--config', 'conn.json', '--port', '9000', '--log-level', 'debug']))
      .to.deep.equal({ help: false, all: false, version: false, config: 'conn.json', port: 9000, logLevel: 'debug', watch: false })
    expect(parseArgs(['-h']).help).to.equal(true)
    expect(parseArgs(['--help', '--all'])).to.include({ help: true, all: true })
  })

  it('rejects unknown flags, a bad port and a bad log level with the flag named', () => {
    expect(() => parseArgs(['--nope'])).to.throw(/nope/)
    expect(() => parseArgs(['--port', '70000'])).to.throw('--port: expected an integer 0..65535, got "70000"')
    expect(() => parseArgs(['--log-level', 'loud'])).to.throw(/--log-level: expected one of/)
  })
})
