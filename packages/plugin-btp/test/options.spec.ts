import { expect } from 'chai'
import sinon from 'sinon'
import { isPluginOptionsError, type PluginOptionsError } from '@conn/types'
import { BtpPlugin, MiniAccountsPlugin, checkBtpOptions, checkMiniAccountsOptions } from '../src/index.ts'

function refused (fn: () => unknown): PluginOptionsError {
  try {
    fn()
  } catch (err) {
    if (isPluginOptionsError(err)) return err
    throw err
  }
  throw new Error('expected a PluginOptionsError')
}

describe('options', () => {
  describe('ilp-plugin-btp options (BtpPlugin)', () => {
    it('accepts every ilp-plugin-btp option with a valid value', () => {
      expect(checkBtpOptions({
        server: 'btp+wss://:token@example.com:443/path',
        reconnectInterval: 100,
        reconnectIntervals: [0, 100],
        reconnectClearTryTimeout: 1000,
        responseTimeout: 5000,
        btpAuthFlags: { foo: 'bar' }
      })).to.deep.equal([])
      expect(checkBtpOptions({ listener: { port: 7770, secret: 's', wsOpts: { host: '127.0.0.1', port: 7770, maxPayload: 1024 } } })).to.deep.equal([])
      expect(checkBtpOptions({ server: 'btp+ws://127.0.0.1:1', btpAccount: 'alice', btpToken: 't' })).to.deep.equal([])
    })

    it('lists every refused option at once, each by its path', () => {
      const err = refused(() => checkBtpOptions({
        listener: { port: '7770', secret: '', wsOpts: { port: -1, host: 7 } },
        responseTimeout: 'soon',
        reconnectIntervals: [],
        transfers: 'yes',
        btpAuthFlags: 'x',
        maxUnauthenticated: 0
      }))
      expect(err.issues.map((i) => i.option)).to.have.members([
        'listener.port', 'listener.secret', 'listener.wsOpts.port', 'listener.wsOpts.host', 'responseTimeout',
        'reconnectIntervals', 'transfers', 'btpAuthFlags', 'maxUnauthenticated'
      ])
      expect(err.issues.find((i) => i.option === 'listener.secret')!.message).to.equal('an empty secret lets any client in; conn\'s transport refuses it')
      expect(err.issues.find((i) => i.option === 'listener.port')!.message).to.equal('expected a port number 0..65535, got "7770"')
    })

    it('needs a port for a listener unless ws is given a server', () => {
      expect(refused(() => checkBtpOptions({ listener: { secret: 's' } })).issues)
        .to.deep.equal([{ option: 'listener.port', message: 'required (or listener.wsOpts.port, or listener.wsOpts.server)' }])
      expect(checkBtpOptions({ listener: { secret: 's', wsOpts: { port: 1 } } })).to.deep.equal([])
      expect(checkBtpOptions({ listener: { secret: 's', wsOpts: { noServer: true } } })).to.deep.equal([])
    })

    it('returns the keys it does not know (at every level) instead of refusing them', () => {
      expect(checkBtpOptions({ server: 'btp+ws://:t@127.0.0.1:1', reconectInterval: 5, secret: 'x' }))
        .to.deep.equal(['reconectInterval', 'secret'])
      expect(checkBtpOptions({ listener: { port: 1, secret: 's', scret: 'x', wsOpts: { hots: 'x' } } }))
        .to.deep.equal(['listener.scret', 'listener.wsOpts.hots'])
    })

    it('warns about unknown options through the plugin logger, once, naming them', () => {
      const log = { warn: sinon.spy(), info: sinon.spy(), debug: sinon.spy(), error: sinon.spy() }
      void new BtpPlugin({ server: 'btp+ws://:t@127.0.0.1:1', reconectInterval: 5 } as never, { log: log as never })
      expect(log.warn.callCount).to.equal(1)
      expect(log.warn.firstCall.args).to.deep.equal([{ options: ['reconectInterval'] }, 'unknown plugin options ignored: reconectInterval'])
    })
  })

  describe('ilp-plugin-mini-accounts options (MiniAccountsPlugin)', () => {
    it('accepts every ilp-plugin-mini-accounts option with a valid value', () => {
      expect(checkMiniAccountsOptions({
        wsOpts: { host: '127.0.0.1', port: 7768 },
        currencyScale: 6,
        debugHostIldcpInfo: { clientAddress: 'test.x', assetScale: 9, assetCode: 'XRP' },
        allowedOrigins: ['^https://example\\.com$'],
        generateAccount: false
      }, true)).to.deep.equal([])
      expect(checkMiniAccountsOptions({ port: 7768 }, false)).to.deep.equal([])
    })

    it('lists every refused option at once, with mini-accounts\' messages where it has one', () => {
      const err = refused(() => new MiniAccountsPlugin({
        port: 1, wsOpts: { port: 2 }, allowedOrigins: ['(' as string], generateAccount: false, currencyScale: 'nine'
      } as never))
      expect(err.issues).to.deep.include({ option: 'port', message: 'Specify at most one of: `ops.wsOpts.port`, `opts.port`.' })
      expect(err.issues).to.deep.include({ option: 'generateAccount', message: '_store is required when generateAccount is false' })
      expect(err.issues.map((i) => i.option)).to.have.members(['port', 'allowedOrigins[0]', 'generateAccount', 'currencyScale'])
    })
  })
})
