import { expect } from 'chai'
import { FakePlugin, fakePluginPair, pluginConformance, type PluginConformanceOptions, type PluginPair } from '../src/index.ts'
import { collect, failures } from './helpers.ts'

type FakeClass = new () => FakePlugin

/** A pair of two plugins of a FakePlugin class, each the other's counterparty, not connected. */
function pairOf (Plugin: FakeClass, Peer: FakeClass = FakePlugin): () => PluginPair {
  return () => {
    const plugin = new Plugin()
    const peer = new Peer()
    plugin.connected = false
    peer.connected = false
    plugin.link(peer)
    return { plugin, peer }
  }
}

const TITLES = {
  connect: 'connect() resolves, isConnected() turns true with one connect event; connect() again resolves without another',
  out: 'sendData of a Prepare reaches the counterparty\'s data handler as the exact bytes and resolves with its reply unchanged (Fulfill, Reject, 32 KiB)',
  in: 'the plugin\'s data handler gets the exact bytes the counterparty sends, and its reply reaches the counterparty unchanged',
  concurrent: '20 Prepares in flight both ways at once, answered in reverse order, each resolve with their own reply',
  handlers: 'registerDataHandler throws while one is registered; after deregisterDataHandler the old one gets nothing, a Prepare is refused, and a new one can be registered',
  money: 'sendMoney(amount) resolves once the counterparty\'s money handler got the amount, both ways; a second registerMoneyHandler throws; without a handler money is refused',
  noMoney: 'sendMoney(amount) resolves and moves nothing (the counterparty\'s money handler is not called); a second registerMoneyHandler throws',
  disconnect: 'disconnect() resolves, emits one disconnect event and isConnected() turns false; then sendData and sendMoney reject (within the time limit, never hangs); disconnect() again resolves without another event'
}

/** The failed tests (title: message) of the suite run by hand on a pair of FakePlugin subclasses. */
async function failuresOf (Plugin: FakeClass, options: PluginConformanceOptions = {}, Peer?: FakeClass): Promise<Record<string, string>> {
  return await failures(collect(() => { pluginConformance(pairOf(Plugin, Peer), { timeout: 100, ...options }) }))
}

/** Flips the last byte of a copy. */
function mangle (data: Buffer): Buffer {
  const copy = Buffer.from(data)
  copy[copy.length - 1] = copy[copy.length - 1]! ^ 1
  return copy
}

describe('pluginConformance', () => {
  describe('on a pair of FakePlugins (fakePluginPair)', () => {
    pluginConformance(() => {
      const [plugin, peer] = fakePluginPair()
      return { plugin, peer }
    })
  })

  describe('on a pair of FakePlugins that move no money, as documented', () => {
    class NoMoney extends FakePlugin { async sendMoney (): Promise<void> {} }
    pluginConformance(pairOf(NoMoney, NoMoney), { money: 'none', title: 'conformance: plugin (money none)' })
  })

  describe('catches broken plugins', () => {
    it('registers its tests in order; all pass on a FakePlugin pair', async () => {
      const tests = collect(() => { pluginConformance(pairOf(FakePlugin)) })
      expect([...tests.keys()]).to.deep.equal(Object.values(TITLES).filter((title) => title !== TITLES.noMoney))
      expect(await failures(tests)).to.deep.equal({})
    })

    it('fails the connect test for a plugin that never emits connect, emits it twice, or never reports connected', async () => {
      class Silent extends FakePlugin { async connect (): Promise<void> { this.connected = true } }
      class Twice extends FakePlugin { async connect (): Promise<void> { this.connected = true; this.emit('connect') } }
      class Denying extends FakePlugin { isConnected (): boolean { return false } }
      expect(await failuresOf(Silent)).to.deep.equal({ [TITLES.connect]: 'events after connect(): none' })
      expect(await failuresOf(Twice)).to.deep.equal({ [TITLES.connect]: 'events after a second connect(): connect, connect' })
      expect(await failuresOf(Denying)).to.deep.equal({ [TITLES.connect]: 'isConnected() is false after connect() resolved' })
    })

    it('fails for a plugin whose connect() never resolves, instead of hanging', async () => {
      class Stuck extends FakePlugin { async connect (): Promise<void> { await new Promise(() => {}) } }
      const failed = await failuresOf(Stuck)
      expect(Object.keys(failed)).to.have.length(7)
      expect(Object.values(failed).every((message) => message === 'connecting the pair did not settle within 100 ms')).to.equal(true)
    })

    it('fails the data tests for a plugin that mangles the Prepare it sends, or the reply it resolves with', async () => {
      class MangleOut extends FakePlugin { async sendData (data: Buffer): Promise<Buffer> { return await super.sendData(mangle(data)) } }
      class MangleReply extends FakePlugin { async sendData (data: Buffer): Promise<Buffer> { return mangle(await super.sendData(data)) } }
      const out = await failuresOf(MangleOut)
      expect(out[TITLES.out]).to.match(/^plugin to peer: the data handler got [0-9a-f]+\.\.\. \(\d+ bytes\), not the Prepare sent, /)
      expect(out).to.not.have.property(TITLES.in)
      const reply = await failuresOf(MangleReply)
      expect(reply[TITLES.out]).to.match(/^plugin to peer: sendData resolved with .*, not the reply the handler gave, /)
      // as the counterparty, the same plugin spoils what the plugin under test receives and answers
      expect((await failuresOf(FakePlugin, {}, MangleOut))[TITLES.in]).to.match(/^peer to plugin: the data handler got /)
    })

    it('fails the data test for a plugin that cuts Prepares above 16 KiB', async () => {
      class Cutting extends FakePlugin { async sendData (data: Buffer): Promise<Buffer> { return await super.sendData(data.subarray(0, 16384)) } }
      const failed = await failuresOf(Cutting)
      expect(Object.keys(failed)).to.deep.equal([TITLES.out])
      expect(failed[TITLES.out]).to.match(/^plugin to peer: the data handler got [0-9a-f]{48}\.\.\. \(16384 bytes\), not the Prepare sent, [0-9a-f]{48}\.\.\. \(32\d{3} bytes\)$/)
    })

    it('fails the concurrency test for a plugin that hands out replies in the order they arrive, not to their requests', async () => {
      /** Resolves the oldest waiting sendData with whichever reply comes back first. */
      class Queueing extends FakePlugin {
        readonly waiting: Array<(reply: Buffer) => void> = []
        async sendData (data: Buffer): Promise<Buffer> {
          const reply = new Promise<Buffer>((resolve) => { this.waiting.push(resolve) })
          void super.sendData(data).then((answer) => { this.waiting.shift()!(answer) })
          return await reply
        }
      }
      const failed = await failuresOf(Queueing)
      // (after disconnect() its sendData also hangs: the rejection never reaches a waiting call)
      expect(Object.keys(failed)).to.deep.equal([TITLES.concurrent, TITLES.disconnect])
      expect(failed[TITLES.concurrent]).to.match(/^plugin to peer, Prepare 0: got .*, not its own reply /)
    })

    it('fails the handler test for a plugin that replaces a registered data handler, or keeps one after deregisterDataHandler', async () => {
      class Replacing extends FakePlugin { registerDataHandler (handler: FakePlugin['dataHandler'] & {}): void { this.dataHandler = handler } }
      class Clinging extends FakePlugin { deregisterDataHandler (): void {} }
      expect(await failuresOf(Replacing)).to.deep.equal({ [TITLES.handlers]: 'registerDataHandler did not throw while a handler was registered' })
      expect(await failuresOf(Clinging)).to.deep.equal({ [TITLES.handlers]: 'the deregistered data handler was still called' })
    })

    it('fails the money test for a plugin that does not deliver money it claims to send, or hangs on it', async () => {
      class Pocketing extends FakePlugin { async sendMoney (): Promise<void> {} }
      class Stalling extends FakePlugin { async sendMoney (): Promise<void> { await new Promise(() => {}) } }
      expect(await failuresOf(Pocketing)).to.deep.equal({
        [TITLES.money]: 'the counterparty\'s money handler got nothing',
        [TITLES.disconnect]: 'sendMoney after disconnect() resolved'
      })
      expect(await failuresOf(Stalling)).to.deep.include({ [TITLES.money]: 'sendMoney (plugin to peer) did not settle within 100 ms' })
    })

    it('fails the no-money test for a plugin documented to move none that does', async () => {
      const failed = await failuresOf(FakePlugin, { money: 'none' })
      expect(failed).to.deep.equal({ [TITLES.noMoney]: 'the counterparty\'s money handler got 100' })
    })

    it('fails the disconnect test for a plugin that emits no disconnect, stays connected, or whose sendData then hangs or resolves', async () => {
      class Quiet extends FakePlugin { async disconnect (): Promise<void> { this.connected = false } }
      class Sticky extends FakePlugin {
        ever = false
        async connect (): Promise<void> { this.ever = true; await super.connect() }
        isConnected (): boolean { return this.ever }
      }
      class Hanging extends FakePlugin {
        async sendData (data: Buffer): Promise<Buffer> { return this.connected ? await super.sendData(data) : await new Promise<Buffer>(() => {}) }
      }
      class Zombie extends FakePlugin {
        async sendData (data: Buffer): Promise<Buffer> {
          const connected = this.connected
          this.connected = true
          try { return await super.sendData(data) } finally { this.connected = connected }
        }
      }
      expect(await failuresOf(Quiet)).to.deep.equal({ [TITLES.disconnect]: 'events after disconnect(): none' })
      expect(await failuresOf(Sticky)).to.deep.equal({ [TITLES.disconnect]: 'isConnected() is true after disconnect()' })
      expect(await failuresOf(Hanging)).to.deep.equal({ [TITLES.disconnect]: 'sendData after disconnect() did not settle within 100 ms' })
      expect((await failuresOf(Zombie))[TITLES.disconnect]).to.match(/^sendData after disconnect\(\) resolved with /)
    })

    it('closes the pair after every test, also after a failure', async () => {
      const closed: string[] = []
      const tests = collect(() => {
        pluginConformance(() => {
          const [plugin, peer] = fakePluginPair()
          return { plugin, peer, close: async () => { closed.push('closed'); await Promise.all([plugin.disconnect(), peer.disconnect()]) } }
        }, { timeout: 100 })
      })
      await failures(tests)
      expect(closed).to.have.length(tests.size)
    })
  })
})
