import { expect } from 'chai'
import { createHash, randomBytes } from 'node:crypto'
import { connect as http2Connect } from 'node:http2'
import { createServer } from 'node:net'
import * as IlpPacket from 'ilp-packet'
import IlpPluginHttpModule from 'ilp-plugin-http'
import { HttpPlugin, HttpStatusError } from '../src/index.ts'

const IlpPluginHttp = (IlpPluginHttpModule as unknown as { default?: unknown }).default as new (options: unknown) => {
  connect: () => Promise<void>
  disconnect: () => Promise<void>
  sendData: (data: Buffer) => Promise<Buffer>
  registerDataHandler: (handler: (data: Buffer) => Promise<Buffer>) => void
} ?? IlpPluginHttpModule

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const FULFILLMENT = randomBytes(32)
function prepare (amount = '100', expiresIn = 10_000, data = Buffer.from('hello')): Buffer {
  return IlpPacket.serializeIlpPrepare({
    amount, destination: 'test.peer.bob', executionCondition: createHash('sha256').update(FULFILLMENT).digest(),
    expiresAt: new Date(Date.now() + expiresIn), data
  })
}
const FULFILL = IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.from('paid') })

/** A plain HTTP/1.1 request to the plugin's server; the status and body. */
async function post (port: number, body: Buffer | string, headers: Record<string, string> = {}, method = 'POST'): Promise<{ status: number, body: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { method, body: method === 'GET' ? undefined : body, headers })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

describe('@conn/plugin-http', function () {
  this.timeout(20_000)
  const plugins: Array<{ disconnect: () => Promise<void> }> = []
  afterEach(async () => { for (const plugin of plugins.splice(0)) await plugin.disconnect() })

  /** Two conn plugins pointing at each other. */
  async function pair (auth: 'token' | 'jwt', http2 = false): Promise<{ a: HttpPlugin, b: HttpPlugin, received: Buffer[] }> {
    const [portA, portB] = [await freePort(), await freePort()]
    const credentials = (secret: string): Record<string, string> => auth === 'token' ? { secretToken: secret } : { secret }
    const a = new HttpPlugin({
      incoming: { port: portA, host: '127.0.0.1', ...credentials('to-a') },
      outgoing: { url: `http://127.0.0.1:${portB}/ilp`, http2, ...credentials('to-b') }
    })
    const b = new HttpPlugin({
      incoming: { port: portB, host: '127.0.0.1', ...credentials('to-b') },
      outgoing: { url: `http://127.0.0.1:${portA}/ilp`, http2, ...credentials('to-a') }
    })
    plugins.push(a, b)
    const received: Buffer[] = []
    b.registerDataHandler(async (data) => { received.push(data); return FULFILL })
    a.registerDataHandler(async () => FULFILL)
    await Promise.all([a.connect(), b.connect()])
    return { a, b, received }
  }

  for (const [auth, http2] of [['token', false], ['jwt', false], ['token', true], ['jwt', true]] as const) {
    it(`carries a Prepare to the peer and its Fulfill back (${auth}, HTTP/${http2 ? '2' : '1.1'}), many at once on kept connections`, async () => {
      const { a, b, received } = await pair(auth, http2)
      expect(a.isConnected()).to.equal(true)
      const packets = Array.from({ length: 50 }, (_, i) => prepare(String(i + 1)))
      const replies = await Promise.all(packets.map(async (packet) => await a.sendData(packet)))
      expect(replies.every((reply) => reply.equals(FULFILL))).to.equal(true)
      expect(received.map((p) => IlpPacket.deserializeIlpPrepare(p).amount).sort((x, y) => Number(x) - Number(y)))
        .to.deep.equal(packets.map((_, i) => String(i + 1)))
      expect(received.some((p) => p.equals(packets[0]!))).to.equal(true) // byte for byte
      expect(await b.sendData(prepare())).to.deep.equal(FULFILL)
    })
  }

  it('answers 401 without the right token, 400 for a body that is not a Prepare, 413 above the size limit, 405 for PUT, 200 for GET; none reaches the handler', async () => {
    const { b, received } = await pair('token')
    const port = b.port!
    expect((await post(port, prepare())).status).to.equal(401)
    expect((await post(port, prepare(), { authorization: 'Bearer wrong' })).status).to.equal(401)
    expect((await post(port, prepare(), { authorization: 'Bearer to-b-but-longer' })).status).to.equal(401)
    const garbage = await post(port, Buffer.from('not ilp'), { authorization: 'Bearer to-b' })
    expect(garbage.status).to.equal(400)
    expect(garbage.body.toString()).to.match(/^not an ILP Prepare/)
    expect((await post(port, IlpPacket.serializeIlpFulfill({ fulfillment: FULFILLMENT, data: Buffer.alloc(0) }), { authorization: 'Bearer to-b' })).status).to.equal(400)
    expect((await post(port, Buffer.alloc(70_000, 1), { authorization: 'Bearer to-b' })).status).to.equal(413)
    expect((await post(port, prepare(), { authorization: 'Bearer to-b' }, 'PUT')).status).to.equal(405)
    expect((await post(port, '', {}, 'GET')).status).to.equal(200)
    expect(received).to.deep.equal([])
    const ok = await post(port, prepare(), { authorization: 'Bearer to-b' })
    expect([ok.status, ok.body.equals(FULFILL)]).to.deep.equal([200, true])
    expect(received).to.have.length(1)
  })

  it('refuses a JWT signed with another secret or expired (401)', async () => {
    const { b, received } = await pair('jwt')
    const { SignJWT } = await import('jose')
    const sign = async (secret: string, exp: number): Promise<string> => await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(secret))
    const now = Math.floor(Date.now() / 1000)
    expect((await post(b.port!, prepare(), { authorization: await sign('other', now + 60) })).status).to.equal(401)
    expect((await post(b.port!, prepare(), { authorization: await sign('to-b', now - 10) })).status).to.equal(401)
    expect((await post(b.port!, prepare(), { authorization: 'Bearer ' + await sign('to-b', now + 60) })).status).to.equal(200)
    expect(received).to.have.length(1)
  })

  it('gives up on a peer that does not answer at the packet\'s expiry, and reports a peer\'s HTTP error with its status', async () => {
    const { a, b } = await pair('token')
    b.registerDataHandler(async () => await new Promise<Buffer>(() => {}))
    const started = Date.now()
    const err = await a.sendData(prepare('1', 300)).then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(Error)
    expect(Date.now() - started).to.be.within(250, 3000)
    b.deregisterDataHandler()
    const refused = await a.sendData(prepare()).then(() => undefined, (e: Error) => e)
    expect(refused).to.be.instanceOf(HttpStatusError).and.to.include({ status: 503 })
  })

  it('speaks HTTP/2 on the same port as HTTP/1.1 (a cleartext HTTP/2 client is answered)', async () => {
    const { b, received } = await pair('token')
    const session = http2Connect(`http://127.0.0.1:${b.port!}`)
    try {
      const reply = await new Promise<{ status: number, body: Buffer }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/', authorization: 'Bearer to-b', 'content-type': 'application/octet-stream' })
        let status = 0
        const chunks: Buffer[] = []
        stream.on('response', (headers) => { status = Number(headers[':status']) })
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }))
        stream.on('error', reject)
        stream.end(prepare())
      })
      expect([reply.status, reply.body.equals(FULFILL)]).to.deep.equal([200, true])
      expect(received).to.have.length(1)
    } finally {
      session.close()
    }
  })

  describe('with ilp-plugin-http (npm) as the peer', () => {
    for (const auth of ['jwt', 'token'] as const) {
      it(`pays both ways (${auth})`, async () => {
        const [ours, theirs] = [await freePort(), await freePort()]
        const credentials = (secret: string): Record<string, string> => auth === 'token' ? { secretToken: secret } : { secret }
        const conn = new HttpPlugin({ incoming: { port: ours, host: '127.0.0.1', ...credentials('to-conn') }, outgoing: { url: `http://127.0.0.1:${theirs}`, ...credentials('to-them') } })
        const other = new IlpPluginHttp({ incoming: { port: theirs, ...credentials('to-them') }, outgoing: { url: `http://127.0.0.1:${ours}`, ...credentials('to-conn') } })
        plugins.push(conn, other)
        const toConn: Buffer[] = []
        const toThem: Buffer[] = []
        conn.registerDataHandler(async (data) => { toConn.push(data); return FULFILL })
        other.registerDataHandler(async (data) => { toThem.push(data); return FULFILL })
        await Promise.all([conn.connect(), other.connect()])
        expect((await conn.sendData(prepare('7'))).equals(FULFILL)).to.equal(true)
        expect((await other.sendData(prepare('8'))).equals(FULFILL)).to.equal(true)
        expect(toThem.map((p) => IlpPacket.deserializeIlpPrepare(p).amount)).to.deep.equal(['7'])
        expect(toConn.map((p) => IlpPacket.deserializeIlpPrepare(p).amount)).to.deep.equal(['8'])
      })
    }
  })

  it('refuses options naming the field', () => {
    expect(() => new HttpPlugin({ incoming: { port: 1, secret: 's' }, outgoing: { url: 'ftp://x', secret: 's' } })).to.throw('options.outgoing.url: expected an http: or https: URL')
    expect(() => new HttpPlugin({ incoming: { port: 1 }, outgoing: { url: 'http://x', secret: 's' } })).to.throw('options.incoming.secret: expected a JWT secret')
    expect(() => new HttpPlugin({ incoming: { port: 'x', secret: 's' }, outgoing: { url: 'http://x', secret: 's' } })).to.throw('options.incoming.port')
    expect(() => new HttpPlugin({ incoming: { port: 1, secret: 's' }, outgoing: { url: 'http://x', secret: 's', http2: 'yes' } })).to.throw('options.outgoing.http2')
  })
})
