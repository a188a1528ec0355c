import { expect } from 'chai'
import sinon from 'sinon'
import { InsufficientLiquidityError, MoneyNotSentError, type SettlementClaim, type Account, type LabelValues, type PacketContext, TYPES_RANGE } from '@conn/types'
import type { BalanceConfig, BalanceOptions } from '../src/index.ts'
import {
  MapBalances, RecordingLogger, RecordingMetrics, deferred, fakeAccount, fakeApi, fakePlugin, fulfill, middlewareConformance,
  packetContext, reject, rejectionOf, MapStore, type FakeApi, type FakeApiOptions, type FakePlugin
} from '@conn/testkit'
import manifest, { BalanceMiddleware } from '../src/index.ts'

/** A FakePlugin whose sendMoney is a sinon stub (restored after each test). */
type StubbedPlugin = FakePlugin & { sendMoney: sinon.SinonStub<[string], Promise<void>> }

interface Setup {
  api: FakeApi
  middleware: BalanceMiddleware
  balances: MapBalances
  metrics: RecordingMetrics
  logger: RecordingLogger
  plugins: Map<string, StubbedPlugin>
  /** Adds an account (balance config or none) to the api and to the middleware. */
  add: (id: string, balance?: BalanceConfig, options?: { connected?: boolean }) => Promise<Account>
}

function setup (shared: { balances?: MapBalances, store?: MapStore, sendMoney?: FakeApiOptions['sendMoney'], options?: BalanceOptions } = {}): Setup {
  const balances = shared.balances ?? new MapBalances()
  const metrics = new RecordingMetrics()
  const logger = new RecordingLogger()
  const plugins = new Map<string, StubbedPlugin>()
  // api.sendMoney runs the outgoing money pipeline as the connector does: this middleware, then the plugin.
  const api: FakeApi = fakeApi({
    logger,
    balances,
    metrics,
    ...(shared.store === undefined ? {} : { store: shared.store }),
    sendMoney: shared.sendMoney ?? (async (id, amount) => {
      const account = api.accounts.get(id)!
      await middleware.outgoingMoney({ account, amount }, async (ctx) => {
        await plugins.get(id)!.sendMoney(String(ctx.amount))
      })
    })
  })
  const middleware = new BalanceMiddleware(api, shared.options)
  const add = async (id: string, balance?: BalanceConfig, options: { connected?: boolean } = {}): Promise<Account> => {
    const plugin = fakePlugin({ connected: options.connected ?? true }) as StubbedPlugin
    sinon.stub(plugin, 'sendMoney').resolves()
    const account = fakeAccount({ id, plugin, config: balance === undefined ? {} : { balance } })
    api.accounts.set(id, account)
    plugins.set(id, plugin)
    await middleware.addAccount(account)
    return account
  }
  return { api, middleware, balances, metrics, logger, plugins, add }
}

const FULFILL = fulfill(Buffer.alloc(32, 7))
const REJECT_F99 = reject({ code: 'F99', triggeredBy: 'test.bob', message: 'no' })

function ctxFor (account: Account, amount: bigint): PacketContext {
  return packetContext({ account, amount, destination: 'test.conn.bob' })
}

const fulfilling = (): sinon.SinonStub<[PacketContext], Promise<Buffer>> => sinon.stub<[PacketContext], Promise<Buffer>>().resolves(FULFILL)
const rejecting = (reply = REJECT_F99): sinon.SinonStub<[PacketContext], Promise<Buffer>> => sinon.stub<[PacketContext], Promise<Buffer>>().resolves(reply)

const LABELS = (id: string): LabelValues => ({ account: id, asset: 'USD', scale: 9 })

afterEach(() => { sinon.restore() })

/**
 * Balances of a store shared by several connectors: the settlement decision is one atomic step on the shared
 * store (as @conn/store-redis does it in a script).
 */
class ClaimingBalances extends MapBalances {
  claims = 0
  constructor (readonly store: MapStore) { super() }
  async claimSettlement (accountId: string, threshold: bigint, settleTo: bigint, claim: SettlementClaim): Promise<bigint | undefined> {
    // Check and write in one synchronous step, as the store's script does.
    const balance = this.book.getSettleable(accountId)
    if (this.store.map.has(claim.key) || balance >= threshold || settleTo - balance <= 0n) return undefined
    this.claims++
    this.store.map.set(claim.key, claim.before + String(settleTo - balance) + claim.after)
    return settleTo - balance
  }
}

describe('balance', () => {
  describe('manifest', () => {
    it('is a middleware manifest named balance for the installed types range whose create() returns a BalanceMiddleware', async () => {
      expect(manifest).to.include({ kind: 'middleware', name: 'balance', types: TYPES_RANGE })
      expect(await manifest.create({}, fakeApi())).to.be.instanceOf(BalanceMiddleware)
    })
  })

  describe('accounts', () => {
    it('warns once that an account without balance config can spend UNLIMITED funds, and passes its packets through', async () => {
      const s = setup()
      const alice = await s.add('alice')
      await s.middleware.removeAccount(alice)
      await s.middleware.addAccount(alice)
      const warnings = s.logger.at('warn').filter((record) => String(record.msg).includes('UNLIMITED funds'))
      expect(warnings).to.have.length(1)
      expect(warnings[0]!.obj).to.deep.equal({ account: 'alice' })
      expect(warnings[0]!.msg).to.equal('(!!!) balance middleware NOT enabled for account, this account can spend UNLIMITED funds. accountId=alice')

      const next = fulfilling()
      expect(await s.middleware.incomingData(ctxFor(alice, 10n ** 18n), next)).to.equal(FULFILL)
      expect(await s.middleware.outgoingData(ctxFor(alice, 10n ** 18n), next)).to.equal(FULFILL)
      expect(next.callCount).to.equal(2)
      expect(s.balances.map.size).to.equal(0)
      expect(await s.middleware.getBalances()).to.deep.equal({})
    })

    it('sets the balance gauge to the stored balance when the account is added', async () => {
      const s = setup()
      s.balances.map.set('alice', 250n)
      await s.add('alice', { maximum: '1000' })
      expect(s.metrics.value('ilp_connector_balance', LABELS('alice'))).to.equal(250)
    })

    it('stops tracking a removed account: its packets pass through without balance changes', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '100' })
      await s.middleware.removeAccount(alice)
      expect(await s.middleware.incomingData(ctxFor(alice, 500n), fulfilling())).to.equal(FULFILL)
      expect(await s.balances.get('alice')).to.equal(0n)
      expect(await s.middleware.getBalances()).to.deep.equal({})
    })
  })

  describe('when the Fulfill goes back', () => {
    it('on either side only once its commit is stored; a Reject does not wait for its release', async () => {
      const s = setup()
      const [alice, bob] = [await s.add('alice', { maximum: '10000' }), await s.add('bob', { minimum: '-10000', maximum: '0' })]
      const stored = deferred<bigint>()
      const commit = sinon.stub(s.balances, 'commit').returns(stored.promise)
      const released = deferred<bigint>()
      sinon.stub(s.balances, 'release').returns(released.promise)
      const answered: string[] = []
      const outgoing = s.middleware.outgoingData(ctxFor(bob, 100n), fulfilling()).then((reply) => { answered.push('bob'); return reply })
      const incoming = s.middleware.incomingData(ctxFor(alice, 100n), fulfilling()).then((reply) => { answered.push('alice'); return reply })
      expect(await s.middleware.incomingData(ctxFor(alice, 50n), rejecting())).to.equal(REJECT_F99)
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      expect([answered, commit.callCount]).to.deep.equal([[], 2])
      stored.resolve(100n)
      expect([await outgoing, await incoming]).to.deep.equal([FULFILL, FULFILL])
      released.resolve(0n)
    })

    it('through both sides of one packet: the next hop\'s side leaves its commit to the sender\'s, which waits for both, issued in one tick', async () => {
      const s = setup()
      const [alice, bob] = [await s.add('alice', { maximum: '10000' }), await s.add('bob', { minimum: '-10000', maximum: '0' })]
      const stored = [deferred<bigint>(), deferred<bigint>()]
      const commits: Array<{ account: string, tick: number }> = []
      let tick = 0
      const ticking = setInterval(() => { tick++ }, 0)
      sinon.stub(s.balances, 'commit').callsFake(async (account) => {
        commits.push({ account, tick })
        return await stored[commits.length - 1]!.promise
      })
      const answered: string[] = []
      const incomingCtx = ctxFor(alice, 100n)
      const toBob = packetContext({ account: bob, amount: 100n, incoming: incomingCtx })
      const incoming = s.middleware.incomingData(incomingCtx, async () => {
        const reply = await s.middleware.outgoingData(toBob, fulfilling())
        answered.push('bob side')
        return reply
      }).then((reply) => { answered.push('alice side'); return reply })
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      clearInterval(ticking)
      expect(commits.map((c) => c.account)).to.deep.equal(['bob', 'alice'])
      expect(commits[0]!.tick).to.equal(commits[1]!.tick)
      expect(answered).to.deep.equal(['bob side']) // the sender's side holds the Fulfill until both are stored
      stored[1]!.resolve(100n)
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
      expect(answered).to.deep.equal(['bob side']) // bob's commit is not stored yet
      stored[0]!.resolve(-100n)
      expect(await incoming).to.equal(FULFILL)
      expect(answered).to.deep.equal(['bob side', 'alice side'])
    })

    it('on the next hop\'s side waits for its own commit when the sender\'s account has no balance here', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '-10000', maximum: '0' })
      const stored = deferred<bigint>()
      sinon.stub(s.balances, 'commit').returns(stored.promise)
      const untracked = packetContext({ account: fakeAccount({ id: 'stranger' }), amount: 100n })
      let answered = false
      const outgoing = s.middleware.outgoingData(packetContext({ account: bob, amount: 100n, incoming: untracked }), fulfilling())
        .then((reply) => { answered = true; return reply })
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
      expect(answered).to.equal(false)
      stored.resolve(-100n)
      expect(await outgoing).to.equal(FULFILL)
    })
  })

  describe('reservations', () => {
    it('tell the store whether the account settles, the same on reserve and commit (a shared store keeps those debits apart)', async () => {
      const s = setup()
      const [alice, bob] = [await s.add('alice', { maximum: '1000' }), await s.add('bob', { minimum: '-1000', maximum: '0', settleThreshold: '-500' })]
      const reserve = sinon.spy(s.balances, 'reserve')
      const commit = sinon.spy(s.balances, 'commit')
      await s.middleware.incomingData(ctxFor(alice, 10n), fulfilling())
      await s.middleware.outgoingData(ctxFor(bob, 10n), fulfilling())
      await s.middleware.answeredBooked()
      expect(reserve.args.map((args) => [args[0], args[4]?.settles])).to.deep.equal([['alice', false], ['bob', true]])
      expect(commit.args.map((args) => args[2])).to.deep.equal(reserve.args.map((args) => args[4]))
    })
  })

  describe('incomingData', () => {
    it('credits the amount before forwarding and keeps it on Fulfill', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      let during: bigint | undefined
      const reply = await s.middleware.incomingData(ctxFor(alice, 600n), async () => {
        during = await s.balances.get('alice')
        return FULFILL
      })
      expect(reply).to.equal(FULFILL)
      expect(during).to.equal(600n)
      expect(await s.balances.get('alice')).to.equal(600n)
    })

    it('names each reservation (an id unique to the process and packet, the packet\'s expiry) and commits or releases it by that name', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      const reserve = sinon.spy(s.balances, 'reserve')
      const commit = sinon.spy(s.balances, 'commit')
      const release = sinon.spy(s.balances, 'release')
      const first = ctxFor(alice, 10n)
      await s.middleware.incomingData(first, fulfilling())
      await s.middleware.incomingData(ctxFor(alice, 20n), rejecting())
      const [a, b] = reserve.getCalls().map((call) => call.args[4]!)
      expect(a!.expiresAt).to.equal(first.prepare.expiresAt)
      expect(a!.id).to.match(/^[\w-]{16}:\w+$/)
      expect(a!.id).to.not.equal(b!.id)
      expect(commit.firstCall.args[2]).to.equal(a)
      expect(release.firstCall.args[2]).to.equal(b)
      expect(await s.balances.get('alice')).to.equal(10n)
    })

    it('tries a commit the store failed again until it takes it, once (the packet was fulfilled: its money moved)', async () => {
      const clock = sinon.useFakeTimers()
      try {
        const s = setup()
        const alice = await s.add('alice', { maximum: '1000' })
        const commit = sinon.stub(s.balances, 'commit')
        commit.onCall(0).rejects(new Error('store lost'))
        commit.onCall(1).rejects(new Error('store lost'))
        commit.callThrough()
        const reply = await s.middleware.incomingData(ctxFor(alice, 600n), fulfilling())
        expect(reply).to.equal(FULFILL)
        expect(s.balances.map.get('alice') ?? 0n).to.equal(0n)
        await clock.tickAsync(100)
        expect(commit.callCount).to.equal(2)
        await clock.tickAsync(200)
        expect(commit.callCount).to.equal(3)
        expect(s.balances.map.get('alice')).to.equal(600n)
        expect(await s.balances.get('alice')).to.equal(600n)
        await clock.tickAsync(10000)
        expect(commit.callCount).to.equal(3)
        expect(s.logger.at('error').map((r) => r.msg)).to.deep.equal(['committing a fulfilled packet to the balance failed; trying again until the store takes it'])
      } finally {
        clock.restore()
      }
    })

    it('rejects with T04 "exceeded maximum balance." (empty data) over the maximum, without forwarding or changing the balance', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      await s.middleware.incomingData(ctxFor(alice, 600n), fulfilling())
      const next = fulfilling()
      const err = await rejectionOf(s.middleware.incomingData(ctxFor(alice, 600n), next))
      expect(err).to.be.instanceOf(InsufficientLiquidityError)
      expect(err.ilpErrorCode).to.equal('T04')
      expect(err.message).to.equal('exceeded maximum balance.')
      expect(err.data.length).to.equal(0)
      expect(next.called).to.equal(false)
      expect(await s.balances.get('alice')).to.equal(600n)
    })

    it('accepts exactly up to the maximum (balance = maximum) and anything with maximum "Infinity"', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      const bob = await s.add('bob', { maximum: 'Infinity' })
      expect(await s.middleware.incomingData(ctxFor(alice, 1000n), fulfilling())).to.equal(FULFILL)
      expect(await s.middleware.incomingData(ctxFor(bob, 2n ** 64n - 1n), fulfilling())).to.equal(FULFILL)
      expect(await s.balances.get('alice')).to.equal(1000n)
      expect(await s.balances.get('bob')).to.equal(2n ** 64n - 1n)
    })

    it('refunds the amount when the next hop rejects, and returns the Reject unchanged', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      const reply = await s.middleware.incomingData(ctxFor(alice, 300n), rejecting())
      expect(reply).to.equal(REJECT_F99)
      expect(await s.balances.get('alice')).to.equal(0n)
    })

    it('refunds the amount and rethrows when the pipeline throws', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      const thrown = new Error('boom')
      const err = await rejectionOf(s.middleware.incomingData(ctxFor(alice, 300n), async () => { throw thrown }))
      expect(err).to.equal(thrown)
      expect(await s.balances.get('alice')).to.equal(0n)
    })

    it('refunds without a minimum check (the refund only undoes the credit)', async () => {
      const s = setup()
      s.balances.map.set('alice', -50n)
      const alice = await s.add('alice', { minimum: '0', maximum: '1000' })
      await s.middleware.incomingData(ctxFor(alice, 30n), rejecting())
      expect(await s.balances.get('alice')).to.equal(-50n)
    })

    it('lets a zero-amount Prepare through untouched, even at the maximum', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '0' })
      const next = fulfilling()
      expect(await s.middleware.incomingData(ctxFor(alice, 0n), next)).to.equal(FULFILL)
      expect(next.calledOnce).to.equal(true)
      expect(s.balances.map.has('alice')).to.equal(false)
    })
  })

  describe('outgoingData', () => {
    it('reserves the amount before forwarding and keeps it on Fulfill', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '-500', maximum: 'Infinity' })
      let during: bigint | undefined
      const reply = await s.middleware.outgoingData(ctxFor(bob, 400n), async () => {
        during = await s.balances.get('bob')
        return FULFILL
      })
      expect(reply).to.equal(FULFILL)
      expect(during).to.equal(-400n)
      expect(await s.balances.get('bob')).to.equal(-400n)
    })

    it('rejects with T04 "insufficient funds. oldBalance=-400 proposedBalance=-600" below the minimum, before forwarding', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '-500', maximum: 'Infinity' })
      await s.middleware.outgoingData(ctxFor(bob, 400n), fulfilling())
      const next = fulfilling()
      const err = await rejectionOf(s.middleware.outgoingData(ctxFor(bob, 200n), next))
      expect(err).to.be.instanceOf(InsufficientLiquidityError)
      expect(err.ilpErrorCode).to.equal('T04')
      expect(err.message).to.equal('insufficient funds. oldBalance=-400 proposedBalance=-600')
      expect(next.called).to.equal(false)
      expect(await s.balances.get('bob')).to.equal(-400n)
    })

    it('has no lower limit by default (minimum -Infinity)', async () => {
      const s = setup()
      const bob = await s.add('bob', { maximum: '0' })
      expect(await s.middleware.outgoingData(ctxFor(bob, 10n ** 20n), fulfilling())).to.equal(FULFILL)
      expect(await s.balances.get('bob')).to.equal(-(10n ** 20n))
    })

    it('refuses every outgoing packet with minimum "Infinity"', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: 'Infinity', maximum: 'Infinity' })
      const err = await rejectionOf(s.middleware.outgoingData(ctxFor(bob, 1n), fulfilling()))
      expect(err.message).to.equal('insufficient funds. oldBalance=0 proposedBalance=-1')
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('gives the reservation back when the next hop rejects, and returns the Reject unchanged', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '-500', maximum: 'Infinity' })
      expect(await s.middleware.outgoingData(ctxFor(bob, 400n), rejecting())).to.equal(REJECT_F99)
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('gives the reservation back and rethrows when sending throws', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '-500', maximum: '100' })
      s.balances.map.set('bob', 100n)
      const thrown = new Error('failed to send packet')
      const err = await rejectionOf(s.middleware.outgoingData(ctxFor(bob, 400n), async () => { throw thrown }))
      expect(err).to.equal(thrown)
      // The give-back has no maximum check: it only undoes the reservation.
      expect(await s.balances.get('bob')).to.equal(100n)
    })

    it('lets a zero-amount Prepare through untouched, even at the minimum', async () => {
      const s = setup()
      const bob = await s.add('bob', { minimum: '0', maximum: 'Infinity' })
      const next = fulfilling()
      expect(await s.middleware.outgoingData(ctxFor(bob, 0n), next)).to.equal(FULFILL)
      expect(next.calledOnce).to.equal(true)
      expect(s.balances.map.has('bob')).to.equal(false)
    })
  })

  describe('money', () => {
    it('subtracts incoming money from the balance, with no minimum check, then calls next', async () => {
      const s = setup()
      const alice = await s.add('alice', { minimum: '0', maximum: '1000' })
      const next = sinon.stub().resolves()
      await s.middleware.incomingMoney({ account: alice, amount: 300n }, next)
      expect(next.calledOnce).to.equal(true)
      expect(await s.balances.get('alice')).to.equal(-300n)
      expect(s.metrics.value('ilp_connector_balance', LABELS('alice'))).to.equal(-300)
    })

    it('credits outgoing money only once the plugin has sent it (unchanged while it is in flight)', async () => {
      const s = setup()
      const bob = await s.add('bob', { maximum: '0' })
      let during: bigint | undefined
      await s.middleware.outgoingMoney({ account: bob, amount: 700n }, async () => { during = await s.balances.get('bob') })
      expect(during).to.equal(0n)
      expect(await s.balances.get('bob')).to.equal(700n)
      expect(s.metrics.value('ilp_connector_balance', LABELS('bob'))).to.equal(700)
    })

    it('leaves the balance and rethrows when the plugin says nothing was sent (MoneyNotSentError)', async () => {
      const s = setup()
      const bob = await s.add('bob', { maximum: 'Infinity' })
      s.balances.map.set('bob', -1500n)
      const thrown = new MoneyNotSentError('no connection')
      const err = await rejectionOf(s.middleware.outgoingMoney({ account: bob, amount: 1500n }, async () => { throw thrown }))
      expect(err).to.equal(thrown)
      expect(await s.balances.get('bob')).to.equal(-1500n)
      expect(s.middleware.getUnsettled()).to.deep.equal([])
    })

    it('leaves the balance, rethrows and keeps the money as unsettled when the plugin fails otherwise', async () => {
      const s = setup()
      const bob = await s.add('bob', { maximum: 'Infinity' })
      s.balances.map.set('bob', -1500n)
      const thrown = new Error('1 timed out')
      const err = await rejectionOf(s.middleware.outgoingMoney({ account: bob, amount: 1500n }, async () => { throw thrown }))
      expect(err).to.equal(thrown)
      expect(await s.balances.get('bob')).to.equal(-1500n)
      expect(s.middleware.getUnsettled().map((u) => [u.accountId, u.amount, u.reason])).to.deep.equal([['bob', '1500', '1 timed out']])
    })

    it('passes money of untracked accounts through', async () => {
      const s = setup()
      const carl = await s.add('carl')
      const next = sinon.stub().resolves()
      await s.middleware.incomingMoney({ account: carl, amount: 5n }, next)
      await s.middleware.outgoingMoney({ account: carl, amount: 5n }, next)
      expect(next.callCount).to.equal(2)
      expect(s.balances.map.size).to.equal(0)
    })
  })

  describe('settlement', () => {
    const SETTLING = { minimum: '-10000', maximum: 'Infinity', settleThreshold: '-1000', settleTo: '0' }

    it('sends settleTo - balance through the plugin after an outgoing Fulfill below the threshold, ending at settleTo', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      expect(await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())).to.equal(FULFILL)
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.args).to.deep.equal([['1500']])
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('settles up to a non-zero settleTo (balance -1500, settleTo -200: sends 1300)', async () => {
      const s = setup()
      const bob = await s.add('bob', { ...SETTLING, settleTo: '-200' })
      await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.args).to.deep.equal([['1300']])
      expect(await s.balances.get('bob')).to.equal(-200n)
    })

    it('does not settle at the threshold or above it', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      await s.middleware.outgoingData(ctxFor(bob, 999n), fulfilling())
      await s.middleware.outgoingData(ctxFor(bob, 1n), fulfilling())
      await s.middleware.settled('bob')
      expect(await s.balances.get('bob')).to.equal(-1000n)
      expect(s.plugins.get('bob')!.sendMoney.called).to.equal(false)
    })

    it('never settles without settleThreshold', async () => {
      const s = setup()
      const bob = await s.add('bob', { maximum: 'Infinity' })
      await s.middleware.outgoingData(ctxFor(bob, 10n ** 9n), fulfilling())
      await s.middleware.adjustBalance('bob', -(10n ** 9n))
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.called).to.equal(false)
    })

    it('does not settle after a rejected outgoing packet', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      await s.middleware.outgoingData(ctxFor(bob, 1500n), rejecting())
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.called).to.equal(false)
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('settles after an incoming Fulfill when the balance is below the threshold (prefunded account)', async () => {
      const s = setup()
      s.balances.map.set('alice', -5000n)
      const alice = await s.add('alice', { maximum: '0', settleThreshold: '-1000' }, { connected: false })
      await s.middleware.incomingData(ctxFor(alice, 100n), fulfilling())
      await s.middleware.settled('alice')
      expect(s.plugins.get('alice')!.sendMoney.args).to.deep.equal([['4900']])
      expect(await s.balances.get('alice')).to.equal(0n)
    })

    it('runs one settlement at a time: a trigger while one is pending does not send twice, and is re-checked after', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      const plugin = s.plugins.get('bob')!
      const first = deferred()
      plugin.sendMoney.onFirstCall().returns(first.promise)

      await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())
      await waitUntil(() => plugin.sendMoney.callCount === 1)
      // While 1500 is on its way (not credited until the plugin says it was sent), two more packets fulfill: 600 then 600.
      await s.middleware.outgoingData(ctxFor(bob, 600n), fulfilling())
      await s.middleware.outgoingData(ctxFor(bob, 600n), fulfilling())
      expect(plugin.sendMoney.callCount).to.equal(1)
      expect(await s.balances.get('bob')).to.equal(-2700n)

      first.resolve()
      await s.middleware.settled('bob')
      expect(plugin.sendMoney.args).to.deep.equal([['1500'], ['1200']])
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('with a store that decides settlements (claimSettlement), two connectors on it never both settle one amount', async () => {
      const store = new MapStore()
      const balances = new ClaimingBalances(store)
      const [one, two] = [setup({ balances, store }), setup({ balances, store })]
      const [bobOne, bobTwo] = [await one.add('bob', SETTLING), await two.add('bob', SETTLING)]
      const sent = deferred()
      one.plugins.get('bob')!.sendMoney.onFirstCall().returns(sent.promise)
      two.plugins.get('bob')!.sendMoney.onFirstCall().returns(sent.promise)
      // Both fulfill a packet that takes the shared balance below the threshold, at the same time.
      await Promise.all([one.middleware.outgoingData(ctxFor(bobOne, 800n), fulfilling()), two.middleware.outgoingData(ctxFor(bobTwo, 800n), fulfilling())])
      await waitUntil(() => one.plugins.get('bob')!.sendMoney.callCount + two.plugins.get('bob')!.sendMoney.callCount === 1)
      await one.middleware.outgoingData(ctxFor(bobOne, 100n), fulfilling())
      await two.middleware.outgoingData(ctxFor(bobTwo, 100n), fulfilling())
      const record = JSON.parse((await store.get('settlement:bob'))!) as { amount: string, state: string }
      expect([record.amount, record.state]).to.deep.equal(['1600', 'sending'])
      sent.resolve()
      await Promise.all([one.middleware.settled('bob'), two.middleware.settled('bob')])
      const calls = [...one.plugins.get('bob')!.sendMoney.args, ...two.plugins.get('bob')!.sendMoney.args]
      // 1,600 once; the 200 that came while it was sent is above the threshold (-1000): no second settlement.
      expect(calls).to.deep.equal([['1600']])
      expect(await balances.get('bob')).to.equal(-200n)
      expect(await store.get('settlement:bob')).to.equal(undefined)
    })

    it('with claimSettlement, a claim the pay step never took (sendMoney refused before it) is given back, and retried', async () => {
      const store = new MapStore()
      const balances = new ClaimingBalances(store)
      let refuse = true
      const s: Setup = setup({
        balances,
        store,
        options: { settleRetryDelay: 20 },
        sendMoney: async (id, amount) => {
          if (refuse) throw new MoneyNotSentError('account not connected')
          const account = s.api.accounts.get(id)!
          await s.middleware.outgoingMoney({ account, amount }, async (ctx) => { await s.plugins.get(id)!.sendMoney(String(ctx.amount)) })
        }
      })
      const bob = await s.add('bob', SETTLING)
      await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())
      await s.middleware.settled('bob')
      expect(await store.get('settlement:bob')).to.equal(undefined)
      expect(balances.claims).to.equal(1)
      refuse = false
      await s.middleware.outgoingData(ctxFor(bob, 10n), fulfilling())
      for (let i = 0; i < 100 && s.plugins.get('bob')!.sendMoney.callCount === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.args).to.deep.equal([['1510']])
      expect(await balances.get('bob')).to.equal(0n)
    })

    it('after a pending settlement, re-checks and sends nothing when the balance is no longer below the threshold', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      const plugin = s.plugins.get('bob')!
      const first = deferred()
      plugin.sendMoney.onFirstCall().returns(first.promise)
      await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())
      await waitUntil(() => plugin.sendMoney.callCount === 1)
      await s.middleware.outgoingData(ctxFor(bob, 100n), fulfilling())
      first.resolve()
      await s.middleware.settled('bob')
      expect(plugin.sendMoney.callCount).to.equal(1)
      expect(await s.balances.get('bob')).to.equal(-100n)
    })

    it('leaves the balance when the settlement is not sent, logs a warning naming account and amount, and still fulfills the packet', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      s.plugins.get('bob')!.sendMoney.rejects(new MoneyNotSentError('no connection'))
      expect(await s.middleware.outgoingData(ctxFor(bob, 1500n), fulfilling())).to.equal(FULFILL)
      await s.middleware.settled('bob')
      expect(await s.balances.get('bob')).to.equal(-1500n)
      const warning = s.logger.at('warn').find((record) => String(record.msg).startsWith('settlement of 1500 to bob was not sent'))
      expect(warning?.obj).to.deep.include({ account: 'bob', amount: '1500', attempt: 1, retryIn: 1000 })
      expect(warning?.obj.err.message).to.equal('no connection')
      s.middleware.stop()
    })

    it('settles at start-up when the stored balance is below the threshold and the plugin is connected', async () => {
      const s = setup()
      s.balances.map.set('bob', -2000n)
      await s.add('bob', SETTLING)
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.args).to.deep.equal([['2000']])
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('waits for the plugin to connect before the start-up settlement', async () => {
      const s = setup()
      s.balances.map.set('bob', -2000n)
      await s.add('bob', SETTLING, { connected: false })
      await s.middleware.settled('bob')
      const plugin = s.plugins.get('bob')!
      expect(plugin.sendMoney.called).to.equal(false)
      await plugin.connect()
      await s.middleware.settled('bob')
      expect(plugin.sendMoney.args).to.deep.equal([['2000']])
    })

    it('stops listening for connect events when the account is removed', async () => {
      const s = setup()
      s.balances.map.set('bob', -2000n)
      const bob = await s.add('bob', SETTLING, { connected: false })
      await s.middleware.removeAccount(bob)
      const plugin = s.plugins.get('bob')!
      expect(plugin.listenerCount('connect')).to.equal(0)
      plugin.emit('connect')
      await s.middleware.settled('bob')
      expect(plugin.sendMoney.called).to.equal(false)
    })

    it('settles after an admin decrease below the threshold', async () => {
      const s = setup()
      await s.add('bob', SETTLING)
      expect(await s.middleware.adjustBalance('bob', -3000n)).to.equal(-3000n)
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.args).to.deep.equal([['3000']])
      expect(await s.balances.get('bob')).to.equal(0n)
    })

    it('does not settle after incoming money (as the reference)', async () => {
      const s = setup()
      const bob = await s.add('bob', SETTLING)
      await s.middleware.incomingMoney({ account: bob, amount: 5000n }, async () => {})
      await s.middleware.settled('bob')
      expect(s.plugins.get('bob')!.sendMoney.called).to.equal(false)
      expect(await s.balances.get('bob')).to.equal(-5000n)
    })
  })

  describe('admin', () => {
    it('getBalances lists tracked accounts with balance, minimum and maximum as strings', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      await s.add('bob', { minimum: '-500', maximum: 'Infinity' })
      await s.add('carl')
      await s.middleware.incomingData(ctxFor(alice, 600n), fulfilling())
      expect(await s.middleware.getBalances()).to.deep.equal({
        alice: { balance: '600', minimum: '-Infinity', maximum: '1000' },
        bob: { balance: '0', minimum: '-500', maximum: 'Infinity' }
      })
    })

    it('adjustBalance adds within the maximum and subtracts within the minimum, resolving the new balance', async () => {
      const s = setup()
      await s.add('alice', { minimum: '-100', maximum: '1000' })
      expect(await s.middleware.adjustBalance('alice', 1000n)).to.equal(1000n)
      expect(await s.middleware.adjustBalance('alice', -1100n)).to.equal(-100n)
      expect(s.metrics.value('ilp_connector_balance', LABELS('alice'))).to.equal(-100)
    })

    it('adjustBalance refuses to cross a limit with the T04 errors of packets and changes nothing', async () => {
      const s = setup()
      await s.add('alice', { minimum: '-100', maximum: '1000' })
      const over = await rejectionOf(s.middleware.adjustBalance('alice', 1001n))
      expect(over.ilpErrorCode).to.equal('T04')
      expect(over.message).to.equal('exceeded maximum balance.')
      const under = await rejectionOf(s.middleware.adjustBalance('alice', -101n))
      expect(under.message).to.equal('insufficient funds. oldBalance=0 proposedBalance=-101')
      expect(await s.balances.get('alice')).to.equal(0n)
    })

    it('adjustBalance rejects "unknown account id. accountId=<id>" for unknown and untracked accounts', async () => {
      const s = setup()
      await s.add('carl')
      expect((await rejectionOf(s.middleware.adjustBalance('nobody', 1n))).message).to.equal('unknown account id. accountId=nobody')
      expect((await rejectionOf(s.middleware.adjustBalance('carl', 1n))).message).to.equal('unknown account id. accountId=carl')
    })
  })

  describe('metrics', () => {
    it('declares the reference names and labels', () => {
      const s = setup()
      expect(s.metrics.options.get('ilp_connector_balance')?.labelNames).to.deep.equal(['account', 'asset', 'scale'])
      expect(s.metrics.options.get('ilp_connector_incoming_ilp_packet_value')?.labelNames).to.deep.equal(['account', 'asset', 'scale', 'result', 'code'])
      expect(s.metrics.options.get('ilp_connector_outgoing_ilp_packet_value')?.labelNames).to.deep.equal(['account', 'asset', 'scale', 'result', 'code'])
    })

    it('sets ilp_connector_balance on every change', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '1000' })
      const seen: Array<number | undefined> = []
      await s.middleware.incomingData(ctxFor(alice, 300n), async () => {
        seen.push(s.metrics.value('ilp_connector_balance', LABELS('alice')))
        return REJECT_F99
      })
      seen.push(s.metrics.value('ilp_connector_balance', LABELS('alice')))
      expect(seen).to.deep.equal([300, 0])
    })

    it('adds packet amounts to the value counters by result and reject code', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: 'Infinity' })
      const bob = await s.add('bob', { maximum: 'Infinity' })
      const t04 = reject({ code: 'T04', triggeredBy: 'test.x', message: 'exceeded maximum balance.' })
      const weird = reject({ code: 'ZZZ', triggeredBy: 'test.x', message: '' })
      await s.middleware.incomingData(ctxFor(alice, 100n), fulfilling())
      await s.middleware.incomingData(ctxFor(alice, 10n), fulfilling())
      await s.middleware.incomingData(ctxFor(alice, 20n), rejecting(t04))
      await s.middleware.incomingData(ctxFor(alice, 30n), rejecting(t04))
      await rejectionOf(s.middleware.incomingData(ctxFor(alice, 40n), async () => { throw new Error('x') }))
      await s.middleware.outgoingData(ctxFor(bob, 5n), fulfilling())
      await s.middleware.outgoingData(ctxFor(bob, 7n), rejecting())
      await s.middleware.outgoingData(ctxFor(bob, 9n), rejecting(weird))
      await rejectionOf(s.middleware.outgoingData(ctxFor(bob, 11n), async () => { throw new Error('x') }))

      const value = (name: string, id: string, result: string, code: string): number | undefined =>
        s.metrics.value(name, { ...LABELS(id), result, code })
      const IN = 'ilp_connector_incoming_ilp_packet_value'
      const OUT = 'ilp_connector_outgoing_ilp_packet_value'
      expect(value(IN, 'alice', 'fulfilled', '')).to.equal(110)
      expect(value(IN, 'alice', 'rejected', 'T04')).to.equal(50)
      expect(value(IN, 'alice', 'failed', '')).to.equal(40)
      expect(value(OUT, 'bob', 'fulfilled', '')).to.equal(5)
      expect(value(OUT, 'bob', 'rejected', 'F99')).to.equal(7)
      expect(value(OUT, 'bob', 'rejected', '')).to.equal(9)
      expect(value(OUT, 'bob', 'failed', '')).to.equal(11)
      expect(value(OUT, 'alice', 'fulfilled', '')).to.equal(undefined)
    })

    it('does not count a packet refused at a limit', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '10' })
      await rejectionOf(s.middleware.incomingData(ctxFor(alice, 11n), fulfilling()))
      expect(s.metrics.series('ilp_connector_incoming_ilp_packet_value')).to.deep.equal([])
    })
  })

  describe('errors from the store', () => {
    it('rethrows a store failure on the credit without forwarding', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '10' })
      sinon.stub(s.balances, 'reserve').rejects(new Error('store down'))
      const next = fulfilling()
      expect((await rejectionOf(s.middleware.incomingData(ctxFor(alice, 1n), next))).message).to.equal('store down')
      expect(next.called).to.equal(false)
    })

    it('logs an error and still returns the Reject when releasing the reservation fails', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '10' })
      sinon.stub(s.balances, 'release').rejects(new Error('store down'))
      expect(await s.middleware.incomingData(ctxFor(alice, 5n), rejecting())).to.equal(REJECT_F99)
      expect(s.logger.at('error')).to.have.length(1)
      expect(s.logger.at('error')[0]!.obj).to.deep.include({ account: 'alice', delta: '5' })
    })

    it('logs an error and still returns the Fulfill when committing it fails', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '10' })
      sinon.stub(s.balances, 'commit').rejects(new Error('store down'))
      const reply = await s.middleware.incomingData(ctxFor(alice, 5n), fulfilling())
      expect(reply[0]).to.equal(13)
      expect(s.logger.at('error')).to.have.length(1)
      expect(s.logger.at('error')[0]!.obj).to.deep.include({ account: 'alice', delta: '5' })
    })

    it('keeps a packet in flight as a reservation: it counts against the limit, and a crash (lost reservations) leaves only committed packets', async () => {
      const s = setup()
      const alice = await s.add('alice', { maximum: '10' })
      let answer: (reply: Buffer) => void = () => {}
      const pending = s.middleware.incomingData(ctxFor(alice, 8n), async () => await new Promise<Buffer>((resolve) => { answer = resolve }))
      await waitUntil(() => s.balances.book.pending.get('alice') === 8n)
      expect(await s.balances.get('alice')).to.equal(8n)
      expect(s.balances.map.get('alice') ?? 0n).to.equal(0n) // nothing committed yet
      await rejectionOf(s.middleware.incomingData(ctxFor(alice, 3n), fulfilling())) // 8 + 3 > 10
      answer((await fulfilling()(ctxFor(alice, 8n))))
      await pending
      expect(s.balances.map.get('alice')).to.equal(8n)
      expect(s.balances.book.pending.has('alice')).to.equal(false)
    })
  })

  middlewareConformance(manifest, { handlers: ['incomingData', 'outgoingData', 'incomingMoney', 'outgoingMoney'] })
})

/** Lets pending promise callbacks run until `condition` holds (settlement chains are a few ticks deep). */
async function waitUntil (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve))
  if (!condition()) throw new Error('condition never held')
}
