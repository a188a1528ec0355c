import { expect } from 'chai'
import type { Account, ConnectorHandle, Route } from '@conn/types'
import { takeSnapshot } from '../src/snapshot.ts'

function account (id: string, relation: string, connected = true): Account {
  return {
    id, relation, assetCode: 'USD', assetScale: 6,
    config: { relation, assetCode: 'USD', assetScale: 6, plugin: 'ilp-plugin-btp', options: { secret: 'do-not-show' } },
    plugin: { isConnected: () => connected }
  } as unknown as Account
}

/** Just what takeSnapshot reads. */
function handle (accounts: Account[], routes: Array<[string, Route]>, staticRoutes: Array<{ targetPrefix: string, peerId: string }> = []): ConnectorHandle {
  return {
    config: { routes: staticRoutes, adminApiToken: '' },
    state: 'started',
    getOwnAddress: () => 'g.us',
    getAccounts: () => accounts,
    getService: () => undefined,
    routingTable: { entries: () => routes },
    getRate: async (src: string, dst: string) => {
      if (dst === 'parent') throw new Error('no rate')
      return src === 'peer' ? { numerator: 1n, denominator: 4n } : 2
    }
  } as unknown as ConnectorHandle
}

describe('snapshot', () => {
  it('names where each route comes from: self, local (no path), static (the routes option), ccp (with the path it came by)', async () => {
    const snapshot = await takeSnapshot(handle([account('peer', 'peer'), account('parent', 'parent')], [
      ['g.us', { nextHop: '', path: [] }],
      ['g', { nextHop: 'parent', path: [] }],
      ['g.partner', { nextHop: 'peer', path: [] }],
      ['g.far.away', { nextHop: 'peer', path: ['g.peer', 'g.far'] }]
    ], [{ targetPrefix: 'g.partner', peerId: 'peer' }]), new Set())
    expect(snapshot.routes).to.deep.equal([
      { prefix: 'g.us', nextHop: '', path: [], kind: 'self' },
      { prefix: 'g', nextHop: 'parent', path: [], kind: 'local' },
      { prefix: 'g.partner', nextHop: 'peer', path: [], kind: 'static' },
      { prefix: 'g.far.away', nextHop: 'peer', path: ['g.peer', 'g.far'], kind: 'ccp' }
    ])
  })

  it('shows accounts without their options, rates as numbers with failing pairs left out, and leaves hidden accounts and their routes out', async () => {
    const snapshot = await takeSnapshot(handle([account('peer', 'peer'), account('parent', 'parent', false), account('console-ping', 'child')], [
      ['g.us.console-ping', { nextHop: 'console-ping', path: [] }]
    ]), new Set(['console-ping']))
    expect(JSON.stringify(snapshot)).to.not.include('do-not-show')
    expect(snapshot.accounts).to.deep.equal([
      { id: 'peer', relation: 'peer', assetCode: 'USD', assetScale: 6, plugin: 'ilp-plugin-btp', connected: true },
      { id: 'parent', relation: 'parent', assetCode: 'USD', assetScale: 6, plugin: 'ilp-plugin-btp', connected: false }
    ])
    expect(snapshot.routes).to.deep.equal([])
    expect(snapshot.rates).to.deep.equal({ peer: {}, parent: { peer: 2 } })
    expect(snapshot).to.include({ address: 'g.us', state: 'started', tokenConfigured: false })
  })
})
