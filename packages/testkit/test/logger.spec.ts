import { expect } from 'chai'
import { RecordingLogger } from '../src/index.ts'

describe('logger', () => {
  it('records every level as { level, obj, msg }, with obj {} when the call starts with the message', () => {
    const logger = new RecordingLogger()
    logger.trace({ a: 1 }, 'one')
    logger.debug({ b: 2 })
    logger.info('three')
    logger.warn({ c: 3 }, 'four')
    logger.error({ err: new Error('x') }, 'five')
    logger.fatal('six')
    expect(logger.records.map(({ level, obj, msg }) => ({ level, obj, msg }))).to.deep.equal([
      { level: 'trace', obj: { a: 1 }, msg: 'one' },
      { level: 'debug', obj: { b: 2 }, msg: undefined },
      { level: 'info', obj: {}, msg: 'three' },
      { level: 'warn', obj: { c: 3 }, msg: 'four' },
      { level: 'error', obj: { err: new Error('x') }, msg: 'five' },
      { level: 'fatal', obj: {}, msg: 'six' }
    ])
  })

  it('at(level) returns the records of that level only, oldest first', () => {
    const logger = new RecordingLogger()
    logger.warn({ n: 1 }, 'a')
    logger.debug({ n: 2 }, 'b')
    logger.warn({ n: 3 }, 'c')
    expect(logger.at('warn').map((r) => r.obj.n)).to.deep.equal([1, 3])
    expect(logger.at('info')).to.deep.equal([])
  })

  it('child() writes into the same records, with its bindings merged over the parent\'s', () => {
    const root = new RecordingLogger()
    const child = root.child({ component: 'balance' })
    const grandchild = child.child({ account: 'alice' })
    grandchild.warn({ amount: '5' }, 'settling')
    root.info('root')
    expect(root.records).to.have.length(2)
    expect(child.records).to.equal(root.records)
    expect(root.records[0]).to.deep.equal({ level: 'warn', obj: { amount: '5' }, msg: 'settling', bindings: { component: 'balance', account: 'alice' } })
    expect(root.records[1]!.bindings).to.deep.equal({})
  })

  it('isLevelEnabled reports every level by default, and from the configured level up', () => {
    expect(['trace', 'debug', 'fatal'].map((l) => new RecordingLogger().isLevelEnabled(l))).to.deep.equal([true, true, true])
    const info = new RecordingLogger({ level: 'info' })
    expect(['trace', 'debug', 'info', 'warn', 'fatal', 'nonsense'].map((l) => info.isLevelEnabled(l)))
      .to.deep.equal([false, false, true, true, true, false])
    expect(new RecordingLogger({ level: 'silent' }).isLevelEnabled('fatal')).to.equal(false)
  })

  it('shares the level with children: set on a child, the parent reports it too', () => {
    const root = new RecordingLogger()
    const child = root.child({ component: 'x' })
    child.level = 'warn'
    expect(root.level).to.equal('warn')
    expect(root.isLevelEnabled('debug')).to.equal(false)
    expect(child.isLevelEnabled('warn')).to.equal(true)
  })

  it('still records a call at a level that is off, so a test can see unguarded logging', () => {
    const logger = new RecordingLogger({ level: 'info' })
    logger.debug({ account: 'alice' }, 'per packet')
    expect(logger.at('debug')).to.have.length(1)
  })

  it('clear() forgets every record, the children\'s too', () => {
    const logger = new RecordingLogger()
    logger.child({ a: 1 }).info('x')
    logger.clear()
    expect(logger.records).to.deep.equal([])
  })
})
