import { MapStore, pluginConformance, type PluginPair } from '@conn/testkit'
import { BtpPlugin, MiniAccountsPlugin, type BtpPluginOptions } from '../src/index.ts'
import { freePort } from './helpers.ts'

const SECRET = 'conformance-secret'
const MINI_ADDRESS = 'test.mini'

/** A BtpPlugin server and client on 127.0.0.1; `role` says which one is under test, the other is its counterparty. */
function btpPair (role: 'server' | 'client', options: Partial<BtpPluginOptions> = {}): () => Promise<PluginPair> {
  return async () => {
    const port = await freePort()
    const server = new BtpPlugin({ listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, ...options })
    const client = new BtpPlugin({ server: `btp+ws://:${SECRET}@127.0.0.1:${port}`, reconnectIntervals: [10], ...options })
    return role === 'server' ? { plugin: server, peer: client } : { plugin: client, peer: server }
  }
}

describe('conformance', () => {
  describe('BtpPlugin', () => {
    // without `transfers` sendMoney moves nothing, as ilp-plugin-btp 1.5 (README: Money)
    pluginConformance(btpPair('server'), { title: 'conformance: plugin BtpPlugin, server under test', money: 'none' })
    pluginConformance(btpPair('client'), { title: 'conformance: plugin BtpPlugin, client under test', money: 'none' })
    pluginConformance(btpPair('server', { transfers: true }), { title: 'conformance: plugin BtpPlugin with transfers, server under test', money: 'transfers' })
    pluginConformance(btpPair('client', { transfers: true }), { title: 'conformance: plugin BtpPlugin with transfers, client under test', money: 'transfers' })
  })

  describe('MiniAccountsPlugin', () => {
    // one BtpPlugin client, alice, at test.mini.alice; the address comes from debugHostIldcpInfo, so connect()
    // needs no data handler (the suite registers its own once connected). It moves no money (README: Money).
    pluginConformance(async () => {
      const port = await freePort()
      const plugin = new MiniAccountsPlugin({
        wsOpts: { host: '127.0.0.1', port }, debugHostIldcpInfo: { clientAddress: MINI_ADDRESS, assetScale: 9, assetCode: 'XRP' }
      }, { store: new MapStore() })
      const peer = new BtpPlugin({ server: `btp+ws://alice:alice-token@127.0.0.1:${port}`, reconnectIntervals: [10] })
      // the server listens first: connect() resolves once listening, the client's once authenticated
      return { plugin, peer, connect: async () => { await plugin.connect(); await peer.connect() } }
    }, { title: 'conformance: plugin MiniAccountsPlugin', destination: MINI_ADDRESS + '.alice', money: 'none' })
  })
})
