/**
 * Load generator, receiving side over ILP-over-HTTP: an HTTP server (HTTP/1.1, or cleartext HTTP/2 with
 * BENCH_HTTP=2) that fulfills every Prepare the connector POSTs, with the fulfillment the sender put in its 32
 * bytes of data. Reports 'ready' with its port; the runner gives that port to the connector.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import * as IlpPacket from 'ilp-packet'

const HTTP2 = process.env.BENCH_HTTP === '2'
const REJECT = IlpPacket.serializeIlpReject({ code: 'F99', triggeredBy: 'test.bench.bob', message: 'bench receiver: not a Prepare', data: Buffer.alloc(0) })

function handle (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const prepare = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    let reply = REJECT
    if (prepare[0] === 12 && prepare.length >= 32) {
      // the data (the fulfillment) is the last 32 bytes: [13, 33, fulfillment, 0]
      reply = Buffer.allocUnsafe(35)
      reply[0] = 13
      reply[1] = 33
      prepare.copy(reply, 2, prepare.length - 32)
      reply[34] = 0
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': reply.length })
    res.end(reply)
  })
}

const server = HTTP2 ? createHttp2Server({}, handle) : createHttp1Server({ keepAlive: true, noDelay: true }, handle)
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
process.once('disconnect', () => process.exit(0))
process.send!({ type: 'ready', port: (server.address() as { port: number }).port })
let cpuBase = process.cpuUsage()
process.on('message', (message: { type: string }) => {
  if (message.type === 'mark') {
    cpuBase = process.cpuUsage()
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(cpuBase)
    process.send!({ type: 'report', cpuMicros: cpu.user + cpu.system })
  }
})
