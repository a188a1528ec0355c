import { expect } from 'chai'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as IlpPacket from 'ilp-packet'
import { BtpPlugin } from '@conn/plugin-btp'

const EXAMPLE = fileURLToPath(new URL('../examples/console.js', import.meta.url))
// the middlewares are resolved from the working directory, as in a project that installed @conn/cli
const CLI_DIR = fileURLToPath(new URL('../../cli/', import.meta.url))

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const ARTIFACTS = fileURLToPath(new URL('artifacts/', import.meta.url))

describe('examples/console.js', function () {
  this.timeout(90_000) // a loaded CI machine took more than 15 s to start the example
  let example: ChildProcess | undefined
  const clients: Array<{ disconnect: () => Promise<void> }> = []
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.disconnect()
    example?.kill('SIGTERM')
  })

  it('runs conn from CONNECTOR_* with spans and metrics on the console: a payment prints its ilp.packet span', async () => {
    const [alicePort, bobPort] = [await freePort(), await freePort()]
    const account = (port: number): Record<string, unknown> => ({
      relation: 'child', plugin: '@conn/plugin-btp', assetCode: 'USD', assetScale: 9,
      options: { listener: { port, secret: 's', wsOpts: { host: '127.0.0.1', port } } }
    })
    let output = ''
    example = spawn(process.execPath, [EXAMPLE], {
      cwd: CLI_DIR,
      env: {
        ...process.env,
        CONNECTOR_ILP_ADDRESS: 'test.conn',
        CONNECTOR_SPREAD: '0',
        CONNECTOR_BACKEND: 'one-to-one',
        CONNECTOR_ACCOUNTS: JSON.stringify({ alice: account(alicePort), bob: account(bobPort) }),
        OTEL_METRIC_EXPORT_INTERVAL: '300'
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    example.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    example.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const waitFor = async (text: string): Promise<void> => {
      const deadline = Date.now() + 40_000
      while (!output.includes(text)) {
        if (Date.now() > deadline) {
          // the whole output as an artifact: an error message this long is cut short in CI's log
          mkdirSync(ARTIFACTS, { recursive: true })
          writeFileSync(join(ARTIFACTS, 'example-output.txt'), output)
          throw new Error(`no "${text}" in the example's output (whole output in test/artifacts/example-output.txt):\n${output.slice(-4000)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    await waitFor('conn is running with OpenTelemetry')

    const fulfillment = randomBytes(32)
    const alice = new BtpPlugin({ server: `btp+ws://:s@127.0.0.1:${alicePort}` })
    const bob = new BtpPlugin({ server: `btp+ws://:s@127.0.0.1:${bobPort}` })
    clients.push(alice, bob)
    bob.registerDataHandler(async () => IlpPacket.serializeIlpFulfill({ fulfillment, data: Buffer.alloc(0) }))
    await Promise.all([alice.connect(), bob.connect()])
    const reply = await alice.sendData(IlpPacket.serializeIlpPrepare({
      amount: '4242', destination: 'test.conn.bob', executionCondition: createHash('sha256').update(fulfillment).digest(),
      expiresAt: new Date(Date.now() + 10_000), data: Buffer.alloc(0)
    }))
    expect(reply[0]).to.equal(IlpPacket.Type.TYPE_ILP_FULFILL)
    // the span processor may export a packet's spans in any order (it waits for the resource first)
    for (const text of ["name: 'ilp.packet'", "'ilp.amount': '4242'", "'ilp.result': 'fulfill'", "name: 'incoming balance'"]) await waitFor(text)
    await waitFor('ilp.packets')
  })
})
