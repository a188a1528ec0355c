/**
 * Admin first: the admin API, /metrics and the health probes answer while the connector is still starting,
 * here with a peer that cannot be reached (its port refuses connections), as the reference starts its admin
 * API before the backend and the plugins. In process (createApp with the cli's packages) so "within a second
 * of start" is measured from listen(), not from node's own start-up.
 */
import { expect } from 'chai'
import { AdminClient } from '../helpers/admin.ts'
import { Harness, freePort, sleep } from '../helpers/harness.ts'

describe('e2e: admin API first, and the health probes', function () {
  this.timeout(15000)
  let h: Harness
  beforeEach(() => { h = new Harness() })
  afterEach(async () => { await h.close() })

  it('answers within a second of start while a peer is unreachable; ready turns 200 once start-up has finished', async () => {
    const [adminPort, deadPort, alicePort] = [await freePort(), await freePort(), await freePort()]
    const app = h.connector({
      ilpAddress: 'test.conn',
      adminApi: true,
      adminApiPort: adminPort,
      initialConnectTimeout: 2500,
      accounts: {
        peer: { relation: 'peer', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { server: `btp+ws://:s@127.0.0.1:${deadPort}` } },
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { listener: { port: alicePort, secret: 'a', wsOpts: { host: '127.0.0.1', port: alicePort } } } }
      }
    })
    const admin = AdminClient.on(adminPort)
    const started = Date.now()
    let finished = false
    const listening = app.listen().then(() => { finished = true })
    let live
    while (true) {
      live = await admin.get('/health/live').catch(() => undefined)
      if (live !== undefined || Date.now() - started > 5000) break
      await sleep(10)
    }
    const answeredAfter = Date.now() - started
    expect(live?.status).to.equal(200)
    expect(answeredAfter, 'ms from listen() to the first answer').to.be.below(1000)
    expect(finished, 'start-up still waiting for the peer').to.equal(false)

    const ready = await admin.get('/health/ready')
    expect([ready.status, ready.json()]).to.deep.equal([503, { ready: false, state: 'starting', notConnected: ['peer', 'alice'] }])
    const metrics = await admin.get('/metrics')
    expect(metrics.status).to.equal(200)
    expect(metrics.text).to.include('ilp_connector_')
    expect((await admin.get('/accounts')).json().accounts.peer.connected).to.equal(false)

    const alice = h.client('alice', `btp+ws://:a@127.0.0.1:${alicePort}`)
    await alice.connect()
    await listening
    const after = await admin.get('/health/ready')
    expect([after.status, after.json()]).to.deep.equal([200, { ready: true, state: 'started', notConnected: ['peer'] }])
  })
})
