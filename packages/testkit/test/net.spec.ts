import { expect } from 'chai'
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
