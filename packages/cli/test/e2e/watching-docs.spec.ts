/**
 * docs/watching.md and docs/grafana-dashboard.json against what conn really exports: the metrics table is the
 * /metrics of a running conn (the real process, real ilp-plugin-btp clients: packets fulfilled, rejected and
 * rate-limited, money both ways), name for name, type for type and label for label; every metric and label the dashboard's queries use
 * exists there; the tracing channels are TRACE_CHANNELS.
 */
import { expect } from 'chai'
import { readFile } from 'node:fs/promises'
import { freePort } from '@conn/testkit'
import { TRACE_CHANNELS } from '@conn/types'
import { AdminClient, parsePrometheus } from '../helpers/admin.ts'
import { MoneyBtpPlugin } from '../helpers/balance.ts'
import { OWN_ADDRESS, answer, paymentData, startStoreNetwork, stopEverything, type StoreNetwork } from '../helpers/store.ts'

const DOCS = new URL('../../../../docs/', import.meta.url)

interface Exported { type: string, labels: Set<string> | undefined }

/** Metric name -> type (its `# TYPE` line) and the label names of its samples (undefined: no sample yet). */
function exportedMetrics (text: string): Map<string, Exported> {
  const metrics = new Map<string, Exported>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) metrics.set(name!, { type: type!, labels: undefined })
  for (const sample of parsePrometheus(text)) {
    const metric = metrics.get(sample.name)
    if (metric === undefined) throw new Error(`sample of ${sample.name} without a # TYPE line`)
    metric.labels ??= new Set()
    for (const label of Object.keys(sample.labels)) metric.labels.add(label)
  }
  return metrics
}

/** The rows of the table between `<!-- NAME:start -->` and `<!-- NAME:end -->`, as cells without backticks. */
function tableRows (markdown: string, name: string): string[][] {
  const start = markdown.indexOf(`<!-- ${name}:start -->`)
  const end = markdown.indexOf(`<!-- ${name}:end -->`)
  expect(start, `${name} table markers`).to.be.greaterThan(-1)
  return markdown.slice(start, end).split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.slice(1, -1).split(' | ').map((cell) => cell.trim()))
}

const names = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)

describe('docs: Watching conn', function () {
  this.timeout(30000)
  let net: StoreNetwork
  let exported: Map<string, Exported>
  let watching: string

  before(async () => {
    const [adminPort, alicePort, bobPort] = [await freePort(), await freePort(), await freePort()]
    const listener = (port: number, secret: string): Record<string, unknown> => ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
    net = await startStoreNetwork({
      dir: '',
      store: 'memory',
      alicePort,
      bobPort,
      env: {
        CONNECTOR_ADMIN_API: 'true',
        CONNECTOR_ADMIN_API_PORT: String(adminPort),
        // every metric gets a sample, so its labels show: alice runs out of her 3 tokens, conn settles with bob
        CONNECTOR_ACCOUNTS: JSON.stringify({
          alice: {
            relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: { ...listener(alicePort, 'alice-secret'), transfers: true },
            balance: { minimum: '-1000000', maximum: '1000000' }, rateLimit: { capacity: 3, refillCount: 1, refillPeriod: 600000 }
          },
          bob: {
            relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: listener(bobPort, 'bob-secret'),
            balance: { minimum: '-1000000', maximum: '1000000', settleThreshold: '-1000', settleTo: '0' }
          }
        })
      }
    })
    net.bob.handler = (prepare) => answer(prepare.data, prepare.amount === 13n, `${OWN_ADDRESS}.bob`)
    // ilp-plugin-btp's own sendMoney sends nothing; the test helper's sends a BTP TRANSFER on the same socket
    const aliceSendsMoney = async (amount: string): Promise<void> => { await MoneyBtpPlugin.prototype.sendMoney.call(net.alice.plugin, amount) }
    const pay = async (amount: bigint, index: number): Promise<string> =>
      (await net.alice.pay({ amount, destination: `${OWN_ADDRESS}.bob`, ...paymentData(index) })).type
    expect(await pay(5000n, 0)).to.equal('fulfill') // bob's balance -5000: conn settles with him (bob's plugin moves no money: sendMoney succeeds)
    expect(await pay(13n, 1)).to.equal('reject')
    await aliceSendsMoney('100')
    const limited = await net.alice.pay({ amount: 1n, destination: `${OWN_ADDRESS}.bob`, ...paymentData(2) })
    expect(limited).to.include({ type: 'reject', code: 'T05' })
    await aliceSendsMoney('100').then(() => { throw new Error('money past the rate limit was taken') }, () => {})
    const admin = AdminClient.on(adminPort)
    // the settlement's outcome is counted once sendMoney has returned
    for (let tries = 0; ; tries++) {
      const res = await admin.get('/metrics')
      expect(res.status).to.equal(200)
      exported = exportedMetrics(res.text)
      if (exported.get('ilp_connector_settlements')?.labels !== undefined || tries === 50) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    watching = await readFile(new URL('watching.md', DOCS), 'utf8')
  })
  after(async () => { await stopEverything([net.alice, net.bob], [net.conn]) })

  it('the metrics table lists exactly the metrics of /metrics, with their types and labels', () => {
    const rows = tableRows(watching, 'metrics')
    const documented = new Map(rows.map((row) => [names(row[0]!)[0]!, { type: row[1]!, labels: names(row[2]!) }]))
    expect([...documented.keys()].sort()).to.deep.equal([...exported.keys()].sort())
    for (const [name, metric] of exported) {
      const doc = documented.get(name)!
      expect(doc.type, name).to.equal(metric.type)
      if (metric.labels !== undefined) expect(doc.labels, name).to.have.members([...metric.labels])
    }
    // every metric had a sample, so every label list was checked
    expect([...exported].filter(([, metric]) => metric.labels === undefined).map(([name]) => name)).to.deep.equal([])
  })

  it('the tracing channels are TRACE_CHANNELS', () => {
    expect(tableRows(watching, 'channels').map((row) => names(row[0]!)[0])).to.have.members(Object.values(TRACE_CHANNELS))
  })

  it('every metric and label the Grafana dashboard queries is exported', async () => {
    const dashboard = JSON.parse(await readFile(new URL('grafana-dashboard.json', DOCS), 'utf8')) as {
      panels: Array<{ title: string, targets: Array<{ expr: string }> }>
      templating: { list: Array<{ definition?: string }> }
    }
    const queries = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: panel.title, expr: target.expr }))),
      ...dashboard.templating.list.map((variable) => ({ where: 'variables', expr: variable.definition ?? '' }))
    ]
    expect(queries.length).to.be.greaterThan(9)
    const used = new Set<string>()
    for (const { where, expr } of queries) {
      const metricNames = [...expr.matchAll(/\b((?:ilp_connector|conn)_[a-z_]+)\b/g)].map((match) => match[1]!)
      expect(metricNames, `${where}: ${expr}`).not.to.be.empty
      for (const name of metricNames) {
        const metric = exported.get(name)
        expect(metric, `${where}: ${name} is not in /metrics`).not.to.equal(undefined)
        used.add(name)
        // label names in its selector {…}, and in `by (…)` clauses
        const selector = new RegExp(`${name}\\{([^}]*)\\}`).exec(expr)?.[1] ?? ''
        const labels = [...selector.matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g), ...[...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((by) => [...by[1]!.matchAll(/([a-z_]+)/g)])]
          .map((match) => match[1]!)
        const known = metric!.labels ?? new Set(names(tableRows(watching, 'metrics').find((row) => names(row[0]!)[0] === name)![2]!))
        for (const label of labels) expect([...known], `${where}: ${name} has no label ${label}`).to.include(label)
      }
    }
    // the dashboard shows packets, value, balances and settlements
    for (const name of ['ilp_connector_incoming_ilp_packets', 'ilp_connector_outgoing_ilp_packet_value', 'ilp_connector_balance', 'ilp_connector_settlements']) {
      expect([...used]).to.include(name)
    }
  })
})
