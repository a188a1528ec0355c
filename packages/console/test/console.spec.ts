/**
 * The console over HTTP (no browser): a running conn with real BTP clients, the console loaded by package name
 * like the cli does, its live feed read as Server-Sent Events, the ping tool and what it refuses.
 */
import { channel } from 'node:diagnostics_channel'
import { expect } from 'chai'
import { TRACE_CHANNELS } from '@conn/types'
import { MAX_STREAMS } from '../src/events.ts'
import { sleep, startNetwork, type TestNetwork } from './network.ts'

let net: TestNetwork | undefined

/** Reads Server-Sent Events from a stream until `count` events arrived. */
async function readEvents (url: string, count: number): Promise<{ events: Array<{ event: string, data: any }>, close: () => void }> {
  const controller = new AbortController()
  const res = await fetch(url, { signal: controller.signal })
  expect(res.status).to.equal(200)
  expect(res.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8')
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: Array<{ event: string, data: any }> = []
  let buffer = ''
  while (events.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) })
    }
  }
  return { events, close: () => controller.abort() }
}

async function post (path: string, body: unknown, token?: string): Promise<{ status: number, text: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (token !== undefined) headers.Authorization = 'Bearer ' + token
  const res = await fetch(net!.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, text: await res.text() }
}

describe('console over HTTP', function () {
  this.timeout(20000)
  afterEach(async () => {
    await net?.close()
    net = undefined
  })

  it('is served under /console with its assets, locked down to its own origin', async () => {
    net = await startNetwork()
    const page = await fetch(net.url + '/console')
    expect(page.status).to.equal(200)
    expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).to.include("default-src 'none'").and.include("connect-src 'self'")
    const html = await page.text()
    expect(html).to.include('<script src="/console/console.js" defer></script>')
    expect(html).to.not.match(/https?:\/\//)
    for (const [path, type] of [['/console/console.js', 'text/javascript; charset=utf-8'], ['/console/console.css', 'text/css; charset=utf-8']]) {
      const res = await fetch(net.url + path)
      expect([res.status, res.headers.get('content-type')]).to.deep.equal([200, type])
      expect(await res.text()).to.not.match(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
    }
    expect((await fetch(net.url + '/console/nope')).status).to.equal(404)
  })

  it('is left out when the package is not installed: the admin API runs as before', async () => {
    // Resolved by name from this package's folder, which does not have @conn/console in its node_modules.
    net = await startNetwork({ byName: true })
    expect((await fetch(net.url + '/console')).status).to.equal(401)
    const status = await fetch(net.url + '/status', { headers: { Authorization: 'Bearer ' + net.token } })
    expect(status.status).to.equal(200)
  })

  it('GET /console/state shows accounts, routes and rates without the token and without any plugin secret', async () => {
    net = await startNetwork()
    const res = await fetch(net.url + '/console/state')
    expect(res.status).to.equal(200)
    const text = await res.text()
    expect(text).to.not.include('secret-')
    const state = JSON.parse(text)
    expect(state).to.include({ address: 'test.conn', state: 'started', tokenConfigured: true })
    expect(state.accounts.map((a: any) => [a.id, a.relation, a.connected, a.balance.balance])).to.deep.equal([
      ['alice', 'child', true, '0'], ['bob', 'child', true, '0'], ['carol', 'child', true, '0']])
    expect(state.accounts[2].settlement).to.deep.equal({ settleThreshold: '-500', settleTo: '0' })
    expect(state.routes).to.deep.include({ prefix: 'test.conn', nextHop: '', path: [], kind: 'self' })
    expect(state.routes).to.deep.include({ prefix: 'test.conn.bob', nextHop: 'bob', path: [], kind: 'local' })
    expect(state.rates).to.deep.equal({ alice: { bob: 1, carol: 1 }, bob: { alice: 1, carol: 1 }, carol: { alice: 1, bob: 1 } })
  })

  it('marks a static route as static', async () => {
    net = await startNetwork({ config: { routes: [{ targetPrefix: 'test.partner', peerId: 'bob' }] } })
    const state = await (await fetch(net.url + '/console/state')).json()
    expect(state.routes).to.deep.include({ prefix: 'test.partner', nextHop: 'bob', path: [], kind: 'static' })
  })

  it('pushes state and traffic to every open stream from one timer, and stops tracing when the last stream closes', async () => {
    net = await startNetwork({ interval: 100 })
    const answered = channel(TRACE_CHANNELS.answered)
    expect(answered.hasSubscribers).to.equal(false)
    const first = readEvents(net.url + '/console/events', 8)
    const second = readEvents(net.url + '/console/events', 8)
    await sleep(150)
    expect(answered.hasSubscribers).to.equal(true)
    for (let i = 0; i < 5; i++) expect(await net.pay('alice', 'test.conn.bob', 100n)).to.equal('fulfill')
    expect(await net.pay('alice', 'test.nowhere', 1n)).to.equal('F02')
    const [a, b] = await Promise.all([first, second])
    for (const stream of [a, b]) {
      expect(stream.events.filter((e) => e.event === 'state')).to.have.length.at.least(3)
      const traffic = stream.events.filter((e) => e.event === 'traffic').map((e) => e.data)
      expect(traffic.some((point) => point.accounts.alice.incoming > 0 && point.accounts.bob.outgoing > 0)).to.equal(true)
      expect(traffic.some((point) => point.accounts.alice.rejects.F02 > 0)).to.equal(true)
    }
    // The two streams saw the same ticks (one reading of the connector per interval, not one per stream).
    const times = (s: typeof a): number[] => s.events.filter((e) => e.event === 'traffic').map((e) => e.data.time)
    const shared = times(a).filter((t) => times(b).includes(t))
    expect(shared.length).to.be.at.least(2)
    a.close()
    b.close()
    const deadline = Date.now() + 2000
    while (answered.hasSubscribers && Date.now() < deadline) await sleep(10)
    expect(answered.hasSubscribers).to.equal(false)
  })

  it('answers 503 beyond 32 open streams, and takes new ones again once some close', async () => {
    net = await startNetwork({ interval: 1000 })
    const controllers: AbortController[] = []
    for (let i = 0; i < MAX_STREAMS; i++) {
      const controller = new AbortController()
      controllers.push(controller)
      expect((await fetch(net.url + '/console/events', { signal: controller.signal })).status).to.equal(200)
    }
    const refused = await fetch(net.url + '/console/events')
    expect([refused.status, await refused.text()]).to.deep.equal([503, 'Error: too many console streams open (32)'])
    controllers.pop()!.abort()
    let status = 503
    const deadline = Date.now() + 2000
    while (status === 503 && Date.now() < deadline) {
      await sleep(20)
      const controller = new AbortController()
      controllers.push(controller)
      status = (await fetch(net.url + '/console/events', { signal: controller.signal })).status
    }
    expect(status).to.equal(200)
    for (const controller of controllers) controller.abort()
  })

  it('pings with the token: an echo from our own address, F02 from an unreachable one, 400 for a bad address', async () => {
    net = await startNetwork()
    const echo = await post('/console/ping', { destination: 'test.conn' }, net.token)
    expect(echo.status).to.equal(200)
    expect(JSON.parse(echo.text)).to.include({ destination: 'test.conn', result: 'fulfill' })
    const nowhere = JSON.parse((await post('/console/ping', { destination: 'test.nowhere' }, net.token)).text)
    expect(nowhere).to.include({ result: 'F02', triggeredBy: 'test.conn' })
    expect((await post('/console/ping', { destination: 'not an address' }, net.token)).status).to.equal(400)
    const notJson = await fetch(net.url + '/console/ping', { method: 'POST', body: '{nope', headers: { Authorization: 'Bearer ' + net.token } })
    expect(notJson.status).to.equal(400)
    expect(await notJson.text()).to.match(/^Error: invalid JSON body: /)
    const large = await fetch(net.url + '/console/ping', { method: 'POST', body: 'x'.repeat(5000), headers: { Authorization: 'Bearer ' + net.token } })
    expect(large.status).to.equal(413)
    // The ping's account exists on the connector but not in what the console shows.
    expect(net.app.getAccount('console-ping')).to.not.equal(undefined)
    const state = await (await fetch(net.url + '/console/state')).json()
    expect(state.accounts.map((a: any) => a.id)).to.deep.equal(['alice', 'bob', 'carol'])
    // A ping moves no money.
    const balances = await (await fetch(net.url + '/balance', { headers: { Authorization: 'Bearer ' + net.token } })).json()
    expect(Object.values(balances.accounts).map((b: any) => b.balance)).to.deep.equal(['0', '0', '0', '0'])
  })

  it('refuses a ping without the token, with a wrong one, and with any when no token is configured (401, no packet sent)', async () => {
    net = await startNetwork()
    expect((await post('/console/ping', { destination: 'test.conn' })).status).to.equal(401)
    expect((await post('/console/ping', { destination: 'test.conn' }, 'wrong')).status).to.equal(401)
    await net.close()
    net = await startNetwork({ config: { adminApiToken: '' } })
    expect((await post('/console/ping', { destination: 'test.conn' }, 'anything')).status).to.equal(401)
    expect(net.app.getAccount('console-ping')).to.equal(undefined)
    const access = await (await fetch(net.url + '/console/access')).json()
    expect(access).to.deep.equal({ admin: false, tokenConfigured: false })
  })
})
