import { expect } from 'chai'
import { fakeAccount } from '@conn/testkit'
import { routeExchangeOf } from '../src/peers.ts'

describe('peers', () => {
  it('parents and peers send and receive routes by default, children neither', () => {
    expect(routeExchangeOf(fakeAccount({ relation: 'parent' }))).to.deep.equal({ send: true, receive: true })
    expect(routeExchangeOf(fakeAccount({ relation: 'peer' }))).to.deep.equal({ send: true, receive: true })
    expect(routeExchangeOf(fakeAccount({ relation: 'child' }))).to.deep.equal({ send: false, receive: false })
  })

  it('explicit sendRoutes / receiveRoutes win over the relation', () => {
    expect(routeExchangeOf(fakeAccount({ relation: 'child', config: { sendRoutes: true } }))).to.deep.equal({ send: true, receive: false })
    expect(routeExchangeOf(fakeAccount({ relation: 'peer', config: { receiveRoutes: false } }))).to.deep.equal({ send: true, receive: false })
    expect(routeExchangeOf(fakeAccount({ relation: 'parent', config: { sendRoutes: false, receiveRoutes: false } }))).to.deep.equal({ send: false, receive: false })
  })
})
