/**
 * The cluster's internal link on 127.0.0.1: only a holder of the cluster secret gets a Prepare through, either
 * way; replies come back to the request they answer; a member lost mid-flight fails its requests with T01 at
 * once, one that never answers is failed after the packet's expiry, and nothing is answered twice.
 */
import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type AddressInfo } from 'node:net'
import { RecordingLogger } from '@conn/testkit'
import { isIlpError } from '@conn/types'
import { AUTH_TIMEOUT, LinkClient, LinkServer, type Deliver } from '../src/cluster-link.ts'
import { clusterSettings } from '../src/cluster-options.ts'
import { RedisStoreError } from '../src/errors.ts'

const SECRET = 'a-cluster-secret-of-32-characters'

async function until (what: string, condition: () => boolean, timeout = 2000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function codeOf (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    if (isIlpError(err)) return err.ilpErrorCode
    throw err
  }
  throw new Error('expected a rejection')
}

describe('cluster link', () => {
  const servers: LinkServer[] = []
  const clients: LinkClient[] = []
  let logger: RecordingLogger

  beforeEach(() => { logger = new RecordingLogger() })
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    await Promise.all(servers.splice(0).map(async (server) => { await server.close(100) }))
  })

  async function server (deliver: Deliver, secret = SECRET): Promise<number> {
    const s = new LinkServer({ secret, deliver, logger })
    servers.push(s)
    return await s.listen('127.0.0.1', 0)
  }

  function client (port: number, secret = SECRET): LinkClient {
    const c = new LinkClient({ secret, memberId: 'member-a', host: '127.0.0.1', port, logger })
    clients.push(c)
    return c
  }

  it('passes a Prepare for the named account and brings its reply back, concurrent requests each to their own', async () => {
    const seen: Array<[string, string]> = []
    const port = await server(async (accountId, packet) => {
      seen.push([accountId, packet.toString()])
      await new Promise((resolve) => setTimeout(resolve, packet.length)) // answers out of order
      return Buffer.from('reply to ' + packet.toString())
    })
    const link = client(port)
    await until('link up', () => link.isUp)
    const replies = await Promise.all(['bob-packet-long', 'carol', 'bob-x'].map(async (packet, i) =>
      (await link.send(i === 1 ? 'minis' : 'bob', Buffer.from(packet), Date.now() + 5000)).toString()))
    expect(replies).to.deep.equal(['reply to bob-packet-long', 'reply to carol', 'reply to bob-x'])
    expect(seen).to.have.deep.members([['bob', 'bob-packet-long'], ['minis', 'carol'], ['bob', 'bob-x']])
    expect(link.requestsInFlight).to.equal(0)
  })

  it('refuses a client with a wrong secret: never up, nothing delivered, the refusal logged', async () => {
    let delivered = 0
    const port = await server(async () => { delivered++; return Buffer.from('x') })
    const link = client(port, 'another-secret-of-enough-length')
    let down = false
    link.on('down', () => { down = true })
    await until('link closed', () => down)
    expect(link.isUp).to.equal(false)
    expect(await codeOf(link.send('bob', Buffer.from('p'), Date.now() + 5000))).to.equal('T01')
    expect(delivered).to.equal(0)
    expect(logger.at('warn').map((r) => r.msg)).to.include('cluster link: refused a connection with a wrong cluster secret')
  })

  it('refuses a server that cannot prove the secret: the client never sends to it', async () => {
    // a fake member: says HELLO, takes the client's AUTH, answers AUTH_OK with a proof made without the secret
    const frames: number[] = []
    const fake = createServer((socket) => {
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => {
        frames.push(chunk[4]!)
        socket.write(Buffer.concat([Buffer.from([0, 0, 0, 33, 3]), randomBytes(32)]))
      })
      socket.write(Buffer.concat([Buffer.from([0, 0, 0, 33, 1]), randomBytes(32)]))
    })
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    try {
      const link = client((fake.address() as AddressInfo).port)
      await until('link closed', () => link.isClosed)
      expect(link.isUp).to.equal(false)
      expect(await codeOf(link.send('bob', Buffer.from('p'), Date.now() + 5000))).to.equal('T01')
      expect(frames).to.deep.equal([2]) // its AUTH, never a PREPARE
      expect(logger.at('warn').map((r) => r.msg)).to.include('cluster link: the other side did not prove the cluster secret; closed')
    } finally {
      fake.close()
    }
  })

  it('closes a socket that sends a Prepare without authenticating, and one that says nothing', async () => {
    let delivered = 0
    const port = await server(async () => { delivered++; return Buffer.from('x') })
    const closed = async (write: Buffer | undefined): Promise<number> => await new Promise((resolve) => {
      const started = Date.now()
      const socket = connect(port, '127.0.0.1')
      socket.on('data', () => {})
      socket.on('error', () => {})
      if (write !== undefined) socket.on('connect', () => socket.write(write))
      socket.on('close', () => resolve(Date.now() - started))
    })
    // a PREPARE frame (type 4) for account "bob" straight away
    const prepare = Buffer.from([0, 0, 0, 17, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x62, 0x6f, 0x62, 1, 2])
    expect(await closed(prepare)).to.be.below(AUTH_TIMEOUT)
    expect(await closed(undefined)).to.be.within(AUTH_TIMEOUT - 50, AUTH_TIMEOUT + 1000)
    expect(delivered).to.equal(0)
  }).timeout(AUTH_TIMEOUT + 3000)

  it('closes connections beyond 64 waiting to authenticate at once, and takes new ones once those are gone', async () => {
    const port = await server(async () => Buffer.from('x'))
    const open = async (): Promise<{ socket: ReturnType<typeof connect>, closed: Promise<number> }> => {
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.on('data', () => {})
      const started = Date.now()
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)))
      await new Promise((resolve) => socket.once('connect', resolve))
      return { socket, closed }
    }
    const waiting = []
    for (let i = 0; i < 64; i++) waiting.push(await open())
    const extra = await open()
    expect(await extra.closed).to.be.below(500)
    for (const { socket } of waiting) socket.destroy()
    await Promise.all(waiting.map(async ({ closed }) => await closed))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const link = client(port)
    await until('link up', () => link.isUp)
    expect((await link.send('bob', Buffer.from('p'), Date.now() + 5000)).toString()).to.equal('x')
  })

  it('fails the requests in flight with T01 at once when the other member goes, and never answers them again', async () => {
    const port = await server(async () => await new Promise<Buffer>(() => {}))
    const link = client(port)
    await until('link up', () => link.isUp)
    const started = Date.now()
    const pending = [link.send('bob', Buffer.from('a'), Date.now() + 10000), link.send('bob', Buffer.from('b'), Date.now() + 10000)]
    await until('delivered', () => servers[0]!.deliveriesInFlight === 2)
    await servers[0]!.close(0)
    expect(await Promise.all(pending.map(codeOf))).to.deep.equal(['T01', 'T01'])
    expect(Date.now() - started).to.be.below(1000)
    expect(link.isUp).to.equal(false)
  })

  it('on close, answers what is in flight first, but does not wait for packets that expired long ago', async () => {
    let answerSlowly = true
    const port = await server(async () => {
      if (answerSlowly) {
        await new Promise((resolve) => setTimeout(resolve, 150))
        return Buffer.from('late but answered')
      }
      return await new Promise<Buffer>(() => {})
    })
    const link = client(port)
    await until('link up', () => link.isUp)
    const slow = link.send('bob', Buffer.from('a'), Date.now() + 5000)
    await until('delivered', () => servers[0]!.deliveriesInFlight === 1)
    await servers[0]!.close(5000)
    expect((await slow).toString()).to.equal('late but answered')

    // a delivery the plugin never answers, whose packet expired: close waits at most until a grace after its expiry
    answerSlowly = false
    const port2 = await server(async () => await new Promise<Buffer>(() => {}))
    const link2 = client(port2)
    await until('link up', () => link2.isUp)
    const stuck = link2.send('bob', Buffer.from('b'), Date.now() - 700)
    await until('delivered', () => servers[1]!.deliveriesInFlight === 1)
    const started = Date.now()
    await servers[1]!.close(30000)
    expect(Date.now() - started).to.be.below(600)
    expect(['R00', 'T01']).to.include(await codeOf(stuck))
  })

  it('answers T01 when the owner could not deliver (its plugin failed)', async () => {
    const port = await server(async () => { throw new Error('No clients connected for account carol') })
    const link = client(port)
    await until('link up', () => link.isUp)
    expect(await codeOf(link.send('minis', Buffer.from('p'), Date.now() + 5000))).to.equal('T01')
  })

  it('fails a request the owner never answers with R00 shortly after its packet expired', async () => {
    const port = await server(async () => await new Promise<Buffer>(() => {}))
    const link = client(port)
    await until('link up', () => link.isUp)
    const started = Date.now()
    expect(await codeOf(link.send('bob', Buffer.from('p'), Date.now() - 900))).to.equal('R00')
    expect(Date.now() - started).to.be.below(800)
    expect(link.requestsInFlight).to.equal(0)
  })
})

describe('storeConfig.cluster', () => {
  const refused = (options: unknown): string => {
    try {
      clusterSettings(options)
    } catch (err) {
      expect(err).to.be.instanceOf(RedisStoreError)
      expect((err as RedisStoreError).code).to.equal('ERR_STORE_CONFIG')
      return (err as Error).message
    }
    throw new Error('accepted ' + JSON.stringify(options))
  }

  it('takes a secret and fills in the defaults', () => {
    expect(clusterSettings(undefined)).to.equal(undefined)
    expect(clusterSettings({ secret: SECRET })).to.deep.equal({ secret: SECRET, host: '127.0.0.1', port: 0, advertise: undefined, heartbeat: 1000, ttl: 3000 })
    expect(clusterSettings({ secret: SECRET, listen: { host: '10.0.0.5', port: 7000 }, advertise: 'conn-1.internal:7000', heartbeat: 500, ttl: 1500 }))
      .to.deep.equal({ secret: SECRET, host: '10.0.0.5', port: 7000, advertise: 'conn-1.internal:7000', heartbeat: 500, ttl: 1500 })
  })

  it('names the field that is wrong', () => {
    expect(refused({})).to.match(/^storeConfig\.cluster\.secret: expected a string of at least 16 characters/)
    expect(refused({ secret: 'short' })).to.match(/^storeConfig\.cluster\.secret:/)
    expect(refused(true)).to.match(/^storeConfig\.cluster: expected an object/)
    expect(refused({ secret: SECRET, listen: { port: 70000 } })).to.match(/^storeConfig\.cluster\.listen\.port: expected a port 0\.\.65535/)
    expect(refused({ secret: SECRET, advertise: 'nohost' })).to.match(/^storeConfig\.cluster\.advertise: expected "host:port"/)
    expect(refused({ secret: SECRET, heartbeat: 0 })).to.match(/^storeConfig\.cluster\.heartbeat:/)
    expect(refused({ secret: SECRET, heartbeat: 1000, ttl: 1000 })).to.match(/^storeConfig\.cluster\.ttl: expected an integer of milliseconds above heartbeat \(1000\)/)
    expect(refused({ secret: SECRET, ttll: 5 })).to.match(/^storeConfig\.cluster\.ttll: not an option/)
  })
})
