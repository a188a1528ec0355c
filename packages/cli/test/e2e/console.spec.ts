/**
 * The cli ships the web console: the real `conn` process with CONNECTOR_ADMIN_API serves /console on the admin
 * API's port (@conn/console resolved by name from the cli's dependencies). The console's own tests, in a real
 * browser, are in packages/console.
 */
import { expect } from 'chai'
import { freePort } from '../helpers/harness.ts'
import { adminOnlyEnv, startConn, type ConnProcess } from '../helpers/process.ts'

describe('e2e: console in the cli', function () {
  this.timeout(20000)
  let conn: ConnProcess | undefined
  afterEach(async () => {
    if (conn !== undefined && conn.child.exitCode === null) {
      conn.child.kill('SIGTERM')
      await conn.exited
    }
    conn = undefined
  })

  it('serves the console page and its state on the admin API port, and refuses a ping without the token', async () => {
    const port = await freePort()
    conn = startConn([], adminOnlyEnv(port, { CONNECTOR_ADMIN_API_TOKEN: 'test-console-token' }))
    await conn.waitFor('connector ready')
    const page = await fetch(`http://127.0.0.1:${port}/console`)
    expect(page.status).to.equal(200)
    expect(await page.text()).to.include('<title>conn console</title>')
    const state = await (await fetch(`http://127.0.0.1:${port}/console/state`)).json()
    expect(state).to.include({ address: 'test.x', state: 'started', tokenConfigured: true })
    const ping = await fetch(`http://127.0.0.1:${port}/console/ping`, { method: 'POST', body: '{"destination":"test.x"}' })
    expect(ping.status).to.equal(401)
    const echo = await fetch(`http://127.0.0.1:${port}/console/ping`, {
      method: 'POST', body: '{"destination":"test.x"}', headers: { Authorization: 'Bearer test-console-token' }
    })
    expect(await echo.json()).to.include({ destination: 'test.x', result: 'fulfill' })
  })
})
