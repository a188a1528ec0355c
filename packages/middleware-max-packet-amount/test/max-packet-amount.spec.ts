import { expect } from 'chai'
import sinon from 'sinon'
import { AmountTooLargeError, type Account, type NextData, TYPES_RANGE } from '@conn/types'
import { fakeAccount, fakeApi, fulfill, middlewareConformance, packetContext, rejectionOf } from '@conn/testkit'
import manifest, { MaxPacketAmount } from '../src/index.ts'

const FULFILL = fulfill(Buffer.alloc(32, 7))
const MAX_UINT64 = 2n ** 64n - 1n

describe('max-packet-amount', () => {
  let middleware: MaxPacketAmount
  let next: sinon.SinonStub<Parameters<NextData>, ReturnType<NextData>>

  beforeEach(() => {
    middleware = new MaxPacketAmount(fakeApi())
    next = sinon.stub<Parameters<NextData>, ReturnType<NextData>>().resolves(FULFILL)
  })

  function account (id: string, maxPacketAmount?: string): Account {
    const acc = fakeAccount({ id, config: maxPacketAmount === undefined ? {} : { maxPacketAmount } })
    middleware.addAccount(acc)
    return acc
  }

  it('is a middleware manifest named maxPacketAmount for the installed types range whose create() returns a MaxPacketAmount', async () => {
    expect(manifest).to.include({ kind: 'middleware', name: 'maxPacketAmount', types: TYPES_RANGE })
    expect(await manifest.create({}, fakeApi())).to.be.instanceOf(MaxPacketAmount)
  })

  it('rejects one unit over maxPacketAmount with F08 "packet size too large. maxAmount=1000 actualAmount=1001" without calling next', async () => {
    const alice = account('alice', '1000')
    const err = await rejectionOf<AmountTooLargeError>(middleware.incomingData(packetContext({ account: alice, amount: 1001n }), next))
    expect(err).to.be.instanceOf(AmountTooLargeError)
    expect(err.ilpErrorCode).to.equal('F08')
    expect(err.message).to.equal('packet size too large. maxAmount=1000 actualAmount=1001')
    expect(next.called).to.equal(false)
  })

  it('puts the received then the maximum amount in the reject data as two big-endian UInt64s (16 bytes)', async () => {
    const alice = account('alice', '1000')
    const err = await rejectionOf<AmountTooLargeError>(middleware.incomingData(packetContext({ account: alice, amount: 123456n }), next))
    expect(err.data.length).to.equal(16)
    expect(err.data.readBigUInt64BE(0)).to.equal(123456n)
    expect(err.data.readBigUInt64BE(8)).to.equal(1000n)
    expect(err.data.toString('hex')).to.equal('000000000001e240' + '00000000000003e8')
  })

  it('encodes amounts up to the UInt64 maximum exactly (max 2^64-2, amount 2^64-1)', async () => {
    const alice = account('alice', String(MAX_UINT64 - 1n))
    const err = await rejectionOf<AmountTooLargeError>(middleware.incomingData(packetContext({ account: alice, amount: MAX_UINT64 }), next))
    expect(err.message).to.equal(`packet size too large. maxAmount=${MAX_UINT64 - 1n} actualAmount=${MAX_UINT64}`)
    expect(err.data.readBigUInt64BE(0)).to.equal(MAX_UINT64)
    expect(err.data.readBigUInt64BE(8)).to.equal(MAX_UINT64 - 1n)
  })

  it('forwards a packet of exactly maxPacketAmount and returns next\'s reply unchanged', async () => {
    const alice = account('alice', '1000')
    expect(await middleware.incomingData(packetContext({ account: alice, amount: 1000n }), next)).to.equal(FULFILL)
    expect(await middleware.incomingData(packetContext({ account: alice, amount: 0n }), next)).to.equal(FULFILL)
    expect(next.callCount).to.equal(2)
  })

  it('forwards any amount, up to 2^64-1, from an account without maxPacketAmount', async () => {
    const alice = account('alice')
    expect(await middleware.incomingData(packetContext({ account: alice, amount: MAX_UINT64 }), next)).to.equal(FULFILL)
    expect(middleware.maximumOf('alice')).to.equal(undefined)
  })

  it('keeps a maximum per account: 2000 passes from bob (max 5000) and is F08 from alice (max 1000)', async () => {
    const alice = account('alice', '1000')
    const bob = account('bob', '5000')
    expect(await middleware.incomingData(packetContext({ account: bob, amount: 2000n }), next)).to.equal(FULFILL)
    const err = await rejectionOf<AmountTooLargeError>(middleware.incomingData(packetContext({ account: alice, amount: 2000n }), next))
    expect(err.message).to.equal('packet size too large. maxAmount=1000 actualAmount=2000')
  })

  it('drops the maximum on removeAccount; added again, the account gets its new maximum', async () => {
    account('alice', '1000')
    expect(middleware.maximumOf('alice')).to.equal(1000n)
    middleware.removeAccount(fakeAccount({ id: 'alice' }))
    expect(middleware.maximumOf('alice')).to.equal(undefined)
    const again = account('alice', '5000')
    expect(middleware.maximumOf('alice')).to.equal(5000n)
    expect(await middleware.incomingData(packetContext({ account: again, amount: 5000n }), next)).to.equal(FULFILL)
  })

  it('reads the configuration of an account it was never told about on its first packet', async () => {
    const stranger = fakeAccount({ id: 'stranger', config: { maxPacketAmount: '10' } })
    const err = await rejectionOf<AmountTooLargeError>(middleware.incomingData(packetContext({ account: stranger, amount: 11n }), next))
    expect(err.ilpErrorCode).to.equal('F08')
    expect(middleware.maximumOf('stranger')).to.equal(10n)
  })
  middlewareConformance(manifest, { handlers: ['incomingData'] })
})
