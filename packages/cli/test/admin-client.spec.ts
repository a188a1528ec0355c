import { expect } from 'chai'
import { adminUrlOf } from '../src/admin-client.ts'

describe('admin-client', () => {
  it('finds the admin API from adminApiHost and adminApiPort, 127.0.0.1:7780 by default, a wildcard host on loopback', () => {
    expect(adminUrlOf(undefined, undefined)).to.equal('http://127.0.0.1:7780')
    expect(adminUrlOf('', 9000)).to.equal('http://127.0.0.1:9000')
    expect(adminUrlOf('10.0.0.5', 7781)).to.equal('http://10.0.0.5:7781')
    expect(adminUrlOf('0.0.0.0', 7780)).to.equal('http://127.0.0.1:7780')
    expect(adminUrlOf('::', 7780)).to.equal('http://[::1]:7780')
    expect(adminUrlOf('::1', 7780)).to.equal('http://[::1]:7780')
  })
})
