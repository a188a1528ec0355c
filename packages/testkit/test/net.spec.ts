import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { freePort } from '../src/index.ts'

describe('freePort', () => {
  it('gives a port on 127.0.0.1 that can then be listened on', async () => {
    const port = await freePort()
    expect(port).to.be.within(1, 65535)
    const server = createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
    await new Promise((resolve) => server.close(resolve))
  })
})

describe('freePort, away from the ports the kernel hands out', () => {
  const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0])

  it('picks below the kernel\'s ephemeral range, where no outgoing connection can take the port meanwhile', async function () {
    if (!Number.isInteger(ephemeralStart)) this.skip() // not Linux
    for (let i = 0; i < 20; i++) expect(await freePort()).to.be.within(10_000, ephemeralStart - 1)
  })

  it('never gives the same port twice in one process, and skips a port that is taken', async () => {
    const ports = new Set<number>()
    const servers = []
    for (let i = 0; i < 50; i++) {
      const port = await freePort()
      expect(ports.has(port)).to.equal(false)
      ports.add(port)
      const server = createServer() // keep it taken: later picks must avoid it
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
      servers.push(server)
    }
    await Promise.all(servers.map(async (server) => await new Promise((resolve) => server.close(resolve))))
  })
})
