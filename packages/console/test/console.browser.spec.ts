/**
 * The console in a real browser: Debian's Chromium (headless, driven by playwright-core) against a running conn
 * whose accounts are real BTP links, with real BTP clients paying each other. Chromium must be installed at
 * /usr/bin/chromium (`apt-get install -y chromium`; .ci/run does it): without it these tests fail, they do not skip.
 * Screenshots go to test/artifacts/.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { btpAccount, startNetwork, type NetworkOptions, type TestNetwork } from './network.ts'

/** Debian's Chromium; CONN_CHROMIUM points elsewhere (e.g. to check that a missing browser fails the suite). */
export const CHROMIUM = process.env.CONN_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url))

let browser: Browser
let net: TestNetwork
let page: Page
let foreign: string[] = []
let pageErrors: Error[] = []
/** What a test started besides its conn (BTP clients), stopped after it. */
let cleanups: Array<() => Promise<void>> = []

async function balanceOf (account: string): Promise<string> {
  return await page.locator(`#accounts tr[data-account="${account}"] .balance .amount`).innerText()
}

async function waitForBalance (account: string, expected: string): Promise<void> {
  await page.locator(`#accounts tr[data-account="${account}"] .balance .amount`).filter({ hasText: new RegExp(`^${expected}$`) })
    .waitFor({ timeout: 5000 })
}

/** An HTTP request from the page itself (same origin), with or without a bearer token. */
async function request (method: string, path: string, body?: unknown, token?: string): Promise<number> {
  return await page.evaluate(async ([method, path, body, token]) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (token !== undefined) headers.Authorization = 'Bearer ' + token
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    return res.status
  }, [method, path, body, token] as const)
}

/** Starts a conn (alice, bob, carol; a static route to bob) and opens the console on it (one page for the suite). */
async function open (options: NetworkOptions = {}): Promise<void> {
  net = await startNetwork({ interval: 250, config: { routes: [{ targetPrefix: 'test.partner', peerId: 'bob' }] }, ...options })
  foreign = []
  await page.goto(net.url + '/console', { waitUntil: 'domcontentloaded' })
}

async function unlock (): Promise<void> {
  await page.fill('#token', net.token)
  await page.click('#unlock')
  await page.locator('#access', { hasText: /^admin$/ }).waitFor({ timeout: 5000 })
}

describe('console in Chromium', function () {
  this.timeout(30000)

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    // No skip when Chromium is missing: launch throws and the suite fails.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    })
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } })
    // The page must work offline: any request that leaves the admin API's origin fails the test.
    page.on('request', (req) => { if (!req.url().startsWith(net.url) && !req.url().startsWith('about:')) foreign.push(req.url()) })
    page.on('pageerror', (err) => { pageErrors.push(err) })
  })
  after(async () => { await browser?.close() })

  afterEach(async () => {
    await page?.goto('about:blank') // closes the page's event stream before its conn goes
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {})
    await net?.close()
    expect(foreign, 'requests beyond the admin API').to.deep.equal([])
    expect(pageErrors, 'errors in the page').to.deep.equal([])
    pageErrors = []
  })

  it('shows the accounts with relation, asset and connection, and their balances moving as alice pays bob', async () => {
    await open()
    await page.locator('#accounts tr[data-account="carol"]').waitFor({ timeout: 5000 })
    const row = (id: string): string => `#accounts tr[data-account="${id}"]`
    expect(await page.locator(row('alice') + ' .relation').innerText()).to.equal('child')
    expect(await page.locator(row('alice') + ' .asset').innerText()).to.equal('XYZ / 9')
    expect(await page.locator(row('alice') + ' .connection').innerText()).to.equal('connected')
    expect(await page.locator(row('bob') + ' .balance .limits').innerText()).to.equal('(-1000000 … 1000000)')
    expect(await page.locator(row('carol') + ' .settlement').innerText()).to.include('settles below -500 to 0')
    expect(await balanceOf('alice')).to.equal('0')
    expect(await page.locator('#address').innerText()).to.equal('test.conn')

    for (let i = 0; i < 3; i++) expect(await net.pay('alice', 'test.conn.bob', 5000n)).to.equal('fulfill')
    await waitForBalance('alice', '15000')
    await waitForBalance('bob', '-15000')
    expect(await net.pay('bob', 'test.conn.alice', 2000n)).to.equal('fulfill')
    await waitForBalance('alice', '13000')
    await waitForBalance('bob', '-13000')

    // The routing table and its graph, the rates.
    expect(await page.locator('#routes tr[data-prefix="test.conn.alice"] td').allInnerTexts()).to.deep.equal(['test.conn.alice', 'alice', 'local', ''])
    expect(await page.locator('#routes tr[data-prefix="test.conn"] td').nth(2).innerText()).to.equal('self')
    expect(await page.locator('#route-graph circle.account').count()).to.equal(3)
    expect(await page.locator('#rates tbody tr').count()).to.equal(3)
    await page.screenshot({ path: ARTIFACTS + 'accounts.png', fullPage: true })
  })

  it('draws packets/s and rejects by code per account from points pushed over SSE', async () => {
    await open()
    await page.locator('#accounts tr[data-account="alice"]').waitFor({ timeout: 5000 })
    const points = async (): Promise<number> => Number(await page.locator('#packets-chart').getAttribute('data-points'))
    const before = await points()
    // Traffic for most of a second: fulfilled packets alice -> bob and some to nowhere (F02).
    const until = Date.now() + 800
    while (Date.now() < until) {
      await Promise.all([net.pay('alice', 'test.conn.bob', 10n), net.pay('alice', 'test.conn.bob', 10n), net.pay('carol', 'test.nowhere', 1n)])
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await page.locator('#packets-legend [data-series="alice"]').waitFor({ timeout: 5000 })
    await page.locator('#rejects-legend [data-series="carol F02"]').waitFor({ timeout: 5000 })
    expect(await points()).to.be.greaterThan(before + 2)
    expect(await page.locator('#packets-chart polyline').count()).to.be.at.least(1)
    // Over the last interval with traffic, alice's rate was above zero at some point.
    const series = await page.evaluate(() => [...document.querySelectorAll('#packets-chart polyline')].map((p) => p.getAttribute('points')))
    expect(series.join(' ')).to.match(/\d/)
    await page.screenshot({ path: ARTIFACTS + 'traffic.png', fullPage: true })
  })

  it('pings with the ILP echo protocol: an echo from our own address, F02 from nowhere', async () => {
    await open()
    await page.locator('#accounts tr[data-account="alice"]').waitFor({ timeout: 5000 })
    expect(await page.locator('#ping').isDisabled()).to.equal(true)
    await unlock()
    await page.fill('#ping-destination', 'test.conn')
    await page.click('#ping')
    await page.locator('#ping-result', { hasText: /^echo from test\.conn in [0-9.]+ ms$/ }).waitFor({ timeout: 5000 })
    await page.fill('#ping-destination', 'test.nowhere')
    await page.click('#ping')
    await page.locator('#ping-result', { hasText: /^F02 from test\.conn: / }).waitFor({ timeout: 5000 })
    // The ping's own account stays out of the console's lists.
    expect(await page.locator('#accounts tbody tr').count()).to.equal(3)
    await page.screenshot({ path: ARTIFACTS + 'ping.png', fullPage: true })
  })

  it('shows routes learnt by CCP with their path, and pings another connector through them', async () => {
    await open({ upstream: true })
    await page.locator('#routes tr[data-prefix="test.up"]').waitFor({ timeout: 5000 })
    expect(await page.locator('#routes tr[data-prefix="test.up"] td').allInnerTexts()).to.deep.equal(['test.up', 'up', 'ccp', 'test.up'])
    expect(await page.locator('#route-graph line.ccp').count()).to.be.at.least(1)
    expect(await page.locator('#accounts tr[data-account="up"] .relation').innerText()).to.equal('peer')
    // The upstream connector runs in this process too; its accounts' traffic is not ours.
    await page.locator('#packets-legend [data-series="up"]').waitFor({ timeout: 5000 })
    expect(await page.locator('#packets-legend [data-series="down"]').count()).to.equal(0)
    await unlock()
    await page.fill('#ping-destination', 'test.up')
    await page.click('#ping')
    await page.locator('#ping-result', { hasText: /^echo from test\.up in [0-9.]+ ms$/ }).waitFor({ timeout: 5000 })
    await page.screenshot({ path: ARTIFACTS + 'ccp.png', fullPage: true })
  })

  it('without the token is read-only: every request that would change something gets 401 and nothing changes', async () => {
    await open()
    await page.locator('#accounts tr[data-account="carol"]').waitFor({ timeout: 5000 })
    expect(await page.locator('#access').innerText()).to.equal('read-only')
    expect(await page.locator('#accounts .actions').first().isVisible()).to.equal(false)
    expect(await page.locator('#add-account').isVisible()).to.equal(false)

    for (const token of [undefined, 'wrong-token']) {
      expect(await request('POST', '/balance', { accountId: 'alice', amountDiff: '500' }, token)).to.equal(401)
      expect(await request('DELETE', '/accounts/carol', undefined, token)).to.equal(401)
      expect(await request('POST', '/addAccount', { id: 'mallory', options: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XYZ', assetScale: 9 } }, token)).to.equal(401)
      expect(await request('POST', '/console/ping', { destination: 'test.conn' }, token)).to.equal(401)
      expect(await request('POST', '/console/state', {}, token)).to.equal(401)
      expect(await request('POST', '/accounts/alice', { anything: true }, token)).to.equal(401)
      expect(await request('POST', '/settlements/carol', { outcome: 'paid' }, token)).to.equal(401)
      expect(await request('DELETE', '/alerts/1', undefined, token)).to.equal(401)
    }
    expect(await request('GET', '/console/state')).to.equal(200)
    expect(await request('GET', '/accounts')).to.equal(401)

    const balances = await fetch(net.url + '/balance', { headers: { Authorization: 'Bearer ' + net.token } }).then(async (res) => await res.json())
    expect(balances).to.deep.equal({
      accounts: {
        alice: { balance: '0', minimum: '-1000000', maximum: '1000000' },
        bob: { balance: '0', minimum: '-1000000', maximum: '1000000' },
        carol: { balance: '0', minimum: '-1000', maximum: '1000' }
      }
    })
    expect([...net.app.getAccounts()].map((a) => a.id).sort()).to.deep.equal(['alice', 'bob', 'carol'])
    await page.screenshot({ path: ARTIFACTS + 'read-only.png', fullPage: true })
  })

  it('with the token adjusts a balance, adds and removes accounts from the page; shows alerts, static and CCP routes', async () => {
    await open({ upstream: true })
    await page.locator('#accounts tr[data-account="carol"]').waitFor({ timeout: 5000 })
    await unlock()
    expect(await page.locator('#add-account').isVisible()).to.equal(true)
    await page.fill('#accounts tr[data-account="alice"] .amount-diff', '-700')
    await page.click('#accounts tr[data-account="alice"] .adjust')
    await waitForBalance('alice', '-700')
    await page.click('#accounts tr[data-account="carol"] .remove')
    await page.click('#accounts tr[data-account="carol"] .remove')
    await page.locator('#accounts tr[data-account="carol"]').waitFor({ state: 'detached', timeout: 5000 })
    expect(net.app.getAccount('carol')).to.equal(undefined)
    // Add an account the way an operator configures one: a BTP listener by package name; its client dials in.
    const dave = await btpAccount()
    cleanups.push(async () => { await dave.client.disconnect() })
    await page.fill('#add-id', 'dave')
    await page.fill('#add-options', JSON.stringify(dave.config))
    const dialing = dave.client.connect()
    await page.click('#add-account button')
    await page.locator('#action-result', { hasText: /^account dave added, connected$/ }).waitFor({ timeout: 5000 })
    await dialing
    await page.locator('#accounts tr[data-account="dave"] .connection', { hasText: 'connected' }).waitFor({ timeout: 5000 })
    await dave.client.disconnect()
    await page.locator('#accounts tr[data-account="dave"] .connection', { hasText: 'disconnected' }).waitFor({ timeout: 5000 })
    await page.click('#accounts tr[data-account="dave"] .remove')
    await page.click('#accounts tr[data-account="dave"] .remove')
    await page.locator('#accounts tr[data-account="dave"]').waitFor({ state: 'detached', timeout: 5000 })
    expect(await net.pay('alice', 'test.conn.bob.full', 1n)).to.equal('T04')
    await page.locator('#alerts li[data-alert]', { hasText: 'exceeded maximum balance.' }).waitFor({ timeout: 5000 })
    expect(await page.locator('#alerts li[data-alert] strong').innerText()).to.equal('bob')
    expect(await page.locator('#routes tr[data-prefix="test.partner"] td').nth(2).innerText()).to.equal('static')
    // Traffic while the picture for the README is taken: alice pays bob, bob tries an address nobody has.
    let paying = true
    const load = (async () => {
      while (paying) {
        await Promise.all([net.pay('alice', 'test.conn.bob', 3000n), net.pay('alice', 'test.conn.bob', 2000n), net.pay('bob', 'test.conn.nobody', 1n)])
        await new Promise((resolve) => setTimeout(resolve, 40))
      }
    })()
    await page.locator('#routes tr[data-prefix="test.up"]').waitFor({ timeout: 5000 })
    await page.fill('#ping-destination', 'test.up')
    await page.click('#ping')
    await page.locator('#ping-result', { hasText: /^echo from test\.up/ }).waitFor({ timeout: 5000 })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await page.screenshot({ path: ARTIFACTS + 'console.png', fullPage: true })
    paying = false
    await load
  })
})
