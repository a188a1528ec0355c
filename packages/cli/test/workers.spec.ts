import { expect } from 'chai'
import { validateConfig } from '@conn/core'
import { workerConfig, workerIssues } from '../src/workers.ts'

const ACCOUNTS = { a: { relation: 'child', plugin: 'x', assetCode: 'USD', assetScale: 9 } }
const cluster = { secret: '0123456789abcdef', listen: { host: '10.0.0.5', port: 7000 }, advertise: 'node1.internal:7000' }
const config = (extra: Record<string, unknown>) => validateConfig({ ilpAddress: 'test.w', accounts: ACCOUNTS, ...extra } as any, { programmatic: false })

describe('workers: a worker\'s configuration', () => {
  it('gives the admin API to the first worker only', () => {
    const base = config({ adminApi: true, store: 'redis', storeConfig: { cluster } })
    expect(workerConfig(base, 0).adminApi).to.equal(true)
    expect(workerConfig(base, 1).adminApi).to.equal(false)
    expect(base.adminApi).to.equal(true)
  })

  it('moves a fixed internal-link port and the advertised port up by the worker\'s index; port 0 stays 0', () => {
    const base = config({ store: 'redis', storeConfig: { url: 'redis://x', cluster } })
    expect(workerConfig(base, 0).storeConfig).to.deep.equal({ url: 'redis://x', cluster })
    expect(workerConfig(base, 2).storeConfig).to.deep.equal({
      url: 'redis://x',
      cluster: { secret: cluster.secret, listen: { host: '10.0.0.5', port: 7002 }, advertise: 'node1.internal:7002' }
    })
    const free = config({ store: 'redis', storeConfig: { cluster: { secret: cluster.secret, listen: { port: 0 } } } })
    expect(workerConfig(free, 3).storeConfig).to.deep.equal({ cluster: { secret: cluster.secret, listen: { port: 0 } } })
  })

  it('refuses the memory and level stores and redis without its cluster, naming the option; accepts redis with a cluster', () => {
    expect(workerIssues(config({}), 2).map((i) => i.path)).to.deep.equal(['store'])
    expect(workerIssues(config({ storePath: '/tmp/x' }), 2)[0]!.message).to.include('level store is a directory only one process can open')
    expect(workerIssues(config({ store: 'redis' }), 2).map((i) => i.path)).to.deep.equal(['storeConfig.cluster'])
    expect(workerIssues(config({ store: 'redis', storeConfig: { cluster } }), 2)).to.deep.equal([])
  })
})
