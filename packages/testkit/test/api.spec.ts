import { expect } from 'chai'
import {
  FakePlugin, MapBalances, MapStore, RecordingLogger, RecordingMetrics, fakeAccount, fakeApi, fakePlugin, fakePluginPair, rejectionOf
} from '../src/index.ts'

describe('api', () => {
  describe('fakeAccount', () => {
    it('is alice, a USD child at scale 9 with a FakePlugin and only the required config by default', () => {
      const account = fakeAccount()
      expect(account).to.deep.include({ id: 'alice', relation: 'child', assetCode: 'USD', assetScale: 9 })
      expect(account.config).to.deep.equal({ relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 })
      expect(account.plugin).to.be.instanceOf(FakePlugin)
    })

    it('takes id, relation, asset, config options and plugin; the config repeats relation and asset', () => {
      const plugin = fakePlugin()
      const account = fakeAccount({ id: 'bob', relation: 'peer', assetCode: 'EUR', assetScale: 2, config: { maxPacketAmount: '10' }, plugin })
      expect(account).to.deep.include({ id: 'bob', relation: 'peer', assetCode: 'EUR', assetScale: 2 })
      expect(account.config).to.deep.equal({ relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'EUR', assetScale: 2, maxPacketAmount: '10' })
      expect(account.plugin).to.equal(plugin)
    })
  })

  describe('FakePlugin', () => {
    it('records money sent, emits connect and disconnect once per change of state', async () => {
      const plugin = fakePlugin({ connected: false })
      const events: string[] = []
      plugin.on('connect', () => events.push('connect'))
      plugin.on('disconnect', () => events.push('disconnect'))
      expect(plugin.isConnected()).to.equal(false)
      await plugin.connect()
      await plugin.connect()
      await plugin.sendMoney('15')
      await plugin.disconnect()
      expect(events).to.deep.equal(['connect', 'disconnect'])
      expect(plugin.moneySent).to.deep.equal(['15'])
      expect(plugin.isConnected()).to.equal(false)
    })

    it('answers sendData with the configured handler, and throws without one', async () => {
      const answering = fakePlugin({ sendData: async (data) => Buffer.concat([data, Buffer.from('!')]) })
      expect((await answering.sendData(Buffer.from('hi'))).toString()).to.equal('hi!')
      expect(answering.dataSent.map(String)).to.deep.equal(['hi'])
      const silent = fakePlugin()
      const err = await silent.sendData(Buffer.from('x')).catch((e: Error) => e)
      expect((err as Error).message).to.equal('FakePlugin: no sendData answer configured')
    })

    it('keeps the registered handlers until deregistered', () => {
      const plugin = fakePlugin()
      const handler = async (): Promise<Buffer> => Buffer.alloc(0)
      plugin.registerDataHandler(handler)
      plugin.registerMoneyHandler(async () => {})
      expect(plugin.dataHandler).to.equal(handler)
      plugin.deregisterDataHandler()
      plugin.deregisterMoneyHandler()
      expect([plugin.dataHandler, plugin.moneyHandler]).to.deep.equal([undefined, undefined])
    })

    it('throws on a second handler until the first is deregistered, as LPI2 says', () => {
      const plugin = fakePlugin()
      plugin.registerDataHandler(async () => Buffer.alloc(0))
      plugin.registerMoneyHandler(async () => {})
      expect(() => { plugin.registerDataHandler(async () => Buffer.alloc(1)) }).to.throw('FakePlugin: a data handler is already registered')
      expect(() => { plugin.registerMoneyHandler(async () => {}) }).to.throw('FakePlugin: a money handler is already registered')
      plugin.deregisterDataHandler()
      plugin.registerDataHandler(async () => Buffer.alloc(1))
    })

    it('rejects sendData and sendMoney while disconnected, recording them still', async () => {
      const plugin = fakePlugin({ connected: false, sendData: async () => Buffer.alloc(0) })
      expect((await rejectionOf(plugin.sendData(Buffer.from('x')))).message).to.equal('FakePlugin: not connected')
      expect((await rejectionOf(plugin.sendMoney('5'))).message).to.equal('FakePlugin: not connected')
      expect([plugin.dataSent.map(String), plugin.moneySent]).to.deep.equal([['x'], ['5']])
    })

    it('fakePluginPair(): what one sends reaches the other\'s handlers, once both are connected', async () => {
      const [a, b] = fakePluginPair()
      expect([a.isConnected(), b.isConnected(), a.counterparty, b.counterparty]).to.deep.equal([false, false, b, a])
      await a.connect()
      expect((await rejectionOf(a.sendData(Buffer.from('x')))).message).to.equal('FakePlugin: the counterparty is not connected')
      await b.connect()
      expect((await rejectionOf(a.sendData(Buffer.from('x')))).message).to.equal('FakePlugin: the counterparty has no data handler')
      expect((await rejectionOf(b.sendMoney('1'))).message).to.equal('FakePlugin: the counterparty has no money handler')
      const amounts: string[] = []
      b.registerDataHandler(async (data) => Buffer.concat([data, Buffer.from('!')]))
      a.registerMoneyHandler(async (amount) => { amounts.push(amount) })
      expect(String(await a.sendData(Buffer.from('hi')))).to.equal('hi!')
      await b.sendMoney('7')
      expect(amounts).to.deep.equal(['7'])
    })
  })

  describe('fakeApi', () => {
    it('is made of the fakes, with address test.conn and no accounts', () => {
      const api = fakeApi()
      expect(api.logger).to.be.instanceOf(RecordingLogger)
      expect(api.store).to.be.instanceOf(MapStore)
      expect(api.metrics).to.be.instanceOf(RecordingMetrics)
      expect(api.balances).to.be.instanceOf(MapBalances)
      expect(api.getOwnAddress()).to.equal('test.conn')
      expect([...api.getAccounts()]).to.deep.equal([])
    })

    it('knows the accounts it is given and those added to api.accounts later', () => {
      const alice = fakeAccount()
      const api = fakeApi({ accounts: [alice], ownAddress: 'g.conn' })
      const bob = fakeAccount({ id: 'bob' })
      api.accounts.set('bob', bob)
      expect(api.getAccount('alice')).to.equal(alice)
      expect([...api.getAccounts()]).to.deep.equal([alice, bob])
      expect(api.getAccount('carl')).to.equal(undefined)
      expect(api.getOwnAddress()).to.equal('g.conn')
    })

    it('records what sendMoney was asked to send', async () => {
      const api = fakeApi()
      await api.sendMoney('bob', 1500n)
      expect(api.moneySent).to.deep.equal([{ accountId: 'bob', amount: 1500n }])
    })

    it('uses the parts it is given instead of its own', async () => {
      const logger = new RecordingLogger()
      const sent: bigint[] = []
      const api = fakeApi({ logger, getOwnAddress: () => 'test.learned', sendMoney: async (_id, amount) => { sent.push(amount) } })
      await api.sendMoney('bob', 5n)
      api.logger.warn('hello')
      expect(api.getOwnAddress()).to.equal('test.learned')
      expect(sent).to.deep.equal([5n])
      expect(api.moneySent).to.deep.equal([])
      expect(logger.at('warn')).to.have.length(1)
    })
  })
})
