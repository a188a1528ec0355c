/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a test server to bind next.
 *
 * Picked below the kernel's ephemeral range: a port the kernel handed out for `listen(0)` is in that range,
 * and between our check and the test's bind any outgoing connection (other tests run in parallel) may be
 * given the same port as its local end, which made servers fail with EADDRINUSE now and then. Below the
 * range only another explicit bind can take it; random picks, a bind check, and no port handed out twice by
 * one process keep that unlikely.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const LOWEST = 10_000
const given = new Set<number>()

/** The first port of the kernel's ephemeral range (Linux), or the IANA one elsewhere. */
function ephemeralStart (): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0])
    if (Number.isInteger(first) && first > LOWEST + 1000) return first
  } catch {}
  return 49152
}

const END = ephemeralStart()

function bindable (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

export async function freePort (): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (END - LOWEST))
    if (given.has(port)) continue
    if (await bindable(port)) {
      given.add(port)
      return port
    }
  }
  throw new Error(`no free port found between ${LOWEST} and ${END}`)
}
