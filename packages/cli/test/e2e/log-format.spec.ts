/**
 * What the `conn` process logs, as a person and a log collector see it: readable lines on a terminal (a real
 * pseudo-terminal from `script`) or with --log-format pretty, JSON lines into a pipe; and the embedded default
 * (what `pnpm start` runs) starting without warnings about itself.
 */
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { freePort } from '@conn/testkit'
import { BIN, logLines, startConn, type ConnProcess } from '../helpers/process.ts'

/** util-linux `script` runs a command on a pseudo-terminal; stdout is then a TTY for it. */

describe('conn logs', function () {
  this.timeout(20000)
  let conn: ConnProcess | undefined

  afterEach(async () => {
    if (conn !== undefined && conn.child.exitCode === null && conn.child.signalCode === null) {
      conn.child.kill('SIGKILL')
      await conn.exited
    }
    conn = undefined
  })

  it('into a pipe: JSON lines, one record per line', async () => {
    conn = startConn(['--port', String(await freePort())])
    await conn.waitFor('connector ready')
    const lines = conn.stdout().trim().split('\n')
    expect(lines.length).to.be.greaterThan(2)
    for (const line of lines) expect(() => JSON.parse(line), line).not.to.throw()
    expect(logLines(conn.stdout()).map((record) => record.msg)).to.include('connector ready')
  })

  it('--log-format pretty: time, level, [component], message and the other fields, not JSON', async () => {
    conn = startConn(['--port', String(await freePort()), '--log-format', 'pretty'])
    await conn.waitFor('connector ready')
    const lines = conn.stdout().trim().split('\n')
    for (const line of lines) expect(() => JSON.parse(line), line).to.throw()
    expect(lines).to.satisfy((all: string[]) => all.some((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: connector ready \{"address":"test\.conn",/.test(line)))
    expect(lines).to.satisfy((all: string[]) => all.some((line) => /^\[[\d:.]+\] INFO: \[plugin\] listening for BTP clients \{"account":"local",/.test(line)))
    expect(conn.stdout()).not.to.include('\u001b[') // no colour codes into a pipe
  })

  it('LOG_FORMAT=pretty does the same; --log-format json wins over it', async () => {
    conn = startConn(['--port', String(await freePort())], { LOG_FORMAT: 'pretty' })
    await conn.waitFor('connector ready')
    expect(conn.stdout()).to.match(/^\[[\d:.]+\] INFO: connector ready/m)
    conn.child.kill('SIGKILL')
    await conn.exited
    conn = startConn(['--port', String(await freePort()), '--log-format', 'json'], { LOG_FORMAT: 'pretty' })
    await conn.waitFor('connector ready')
    expect(logLines(conn.stdout()).map((record) => record.msg)).to.include('connector ready')
  })

  it('on a terminal: readable lines in colour by default', async () => {
    // `script` (bsdutils, essential on Debian) gives conn a pseudo-terminal
    const port = await freePort()
    const child = spawn('script', ['-qfec', `exec "${process.execPath}" "${BIN}" --port ${port}`, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm' }
    })
    let out = ''
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); if (out.includes('connector ready')) resolve() })
      child.once('exit', () => reject(new Error('exited before "connector ready":\n' + out)))
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      await ready
    } finally {
      child.kill('SIGTERM') // script closes the terminal; conn goes with it
      await exited
    }
    const plain = out.replace(/\u001b\[[0-9;]*m/g, '')
    expect(out).to.include('\u001b[32mINFO\u001b[39m') // green level
    expect(plain).to.match(/^\[[\d:.]+\] INFO: connector ready \{"address":"test\.conn"/m)
    expect(plain).not.to.match(/^\{"level"/m)
  })

  it('the embedded default (pnpm start) warns about nothing, not its own account\'s unlimited funds', async () => {
    conn = startConn(['--port', String(await freePort())])
    await conn.waitFor('connector ready')
    const records = logLines(conn.stdout())
    expect(records.filter((record) => (record.level as number) >= 40).map((record) => record.msg)).to.deep.equal([])
    expect(conn.stdout() + conn.stderr()).not.to.include('UNLIMITED')
  })

  it('still warns about an account the operator configured without balance limits', async () => {
    const port = await freePort()
    conn = startConn([], {
      CONNECTOR_ILP_ADDRESS: 'test.conn',
      CONNECTOR_ACCOUNTS: JSON.stringify({
        alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9, options: { listener: { port, secret: 's' }, wsOpts: { host: '127.0.0.1', port } } }
      })
    })
    await conn.waitFor('UNLIMITED')
    const warning = logLines(conn.stdout()).find((record) => String(record.msg).includes('UNLIMITED funds'))
    expect(warning).to.include({ level: 40, account: 'alice' })
  })
})
