import { expect } from 'chai'
import { deferred, rejectionOf } from '../src/index.ts'

describe('async', () => {
  it('deferred() resolves and rejects its promise from outside', async () => {
    const ok = deferred<number>()
    ok.resolve(7)
    expect(await ok.promise).to.equal(7)
    const failed = deferred()
    const error = new Error('no')
    failed.reject(error)
    expect(await rejectionOf(failed.promise)).to.equal(error)
  })

  it('rejectionOf() throws when the promise resolves', async () => {
    const err = await rejectionOf<Error>(rejectionOf(Promise.resolve(1)))
    expect(err.message).to.equal('expected a rejection, but the promise resolved')
  })
})
