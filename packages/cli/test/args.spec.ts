import { expect } from 'chai'
import { parseArgs } from '../src/args.ts'

describe('args', () => {
  it('reads --config, --port, --log-level, --log-format, --watch and --help --all', () => {
    expect(parseArgs(['--config', 'conn.json', '--port', '9000', '--log-level', 'debug', '--log-format', 'json']))
      .to.deep.equal({ help: false, all: false, version: false, watch: false, config: 'conn.json', port: 9000, logLevel: 'debug', logFormat: 'json', workers: undefined })
    expect(parseArgs(['-h']).help).to.equal(true)
    expect(parseArgs(['-c', 'conn.json', '-w']).watch).to.equal(true)
    expect(parseArgs(['--help', '--all'])).to.include({ help: true, all: true })
  })

  it('rejects unknown flags, a bad port, a bad log level or format with the flag named', () => {
    expect(() => parseArgs(['--nope'])).to.throw(/nope/)
    expect(() => parseArgs(['--port', '70000'])).to.throw('--port: expected an integer 0..65535, got "70000"')
    expect(() => parseArgs(['--log-level', 'loud'])).to.throw(/--log-level: expected one of/)
    expect(() => parseArgs(['--log-format', 'xml'])).to.throw('--log-format: expected json or pretty, got "xml"')
    expect(() => parseArgs(['--watch'])).to.throw('--watch: watches the --config file; give one')
  })
})

describe('args: --workers', () => {
  it('reads a worker count 1..256 and names the flag when it is not one', () => {
    expect(parseArgs(['--workers', '4']).workers).to.equal(4)
    expect(parseArgs([]).workers).to.equal(undefined)
    expect(() => parseArgs(['--workers', '0'])).to.throw('--workers: expected an integer 1..256, got "0"')
    expect(() => parseArgs(['--workers', '2.5'])).to.throw('--workers: expected an integer 1..256, got "2.5"')
  })
})
