import { TYPES_RANGE } from '@conn/types'
import { expect } from 'chai'
import manifest, { CcpRouting } from '../src/index.ts'
import { fakeRouting } from './helpers.ts'

describe('index', () => {
  it('default-exports a routing manifest: kind routing, name ccp, the installed types range', () => {
    expect(manifest).to.deep.include({ kind: 'routing', name: 'ccp', types: TYPES_RANGE })
    expect(manifest.create).to.be.a('function')
  })

  it('create() makes a CcpRouting with start, stop and getStatus', async () => {
    const routing = await manifest.create({}, fakeRouting().api)
    expect(routing).to.be.instanceOf(CcpRouting)
    expect(routing.start).to.be.a('function')
    expect(routing.stop).to.be.a('function')
    expect((routing as CcpRouting).getStatus().currentEpoch).to.equal(0)
  })

  it('create() refuses a controlRetryInterval that is not a positive integer, naming the option', () => {
    expect(() => manifest.create({ controlRetryInterval: '5s' }, fakeRouting().api))
      .to.throw(TypeError, 'controlRetryInterval: expected a positive integer (ms), got "5s"')
    expect(() => manifest.create({ controlRetryInterval: 0 }, fakeRouting().api)).to.throw(TypeError)
    expect(manifest.create({ controlRetryInterval: 100 }, fakeRouting().api)).to.be.instanceOf(CcpRouting)
  })
})
