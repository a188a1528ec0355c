/**
 * A local HTTP server on 127.0.0.1 standing in for the rate sources: each path answers what the test set
 * (status, body), can be changed at any time, or hangs without answering. Records the paths requested.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'

export const FIXTURES = new URL('../fixtures/', import.meta.url)

/** A recorded fixture's text (test/fixtures/<name>). */
export function fixture (name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
}

export type Answer = { status?: number, body: string, contentType?: string } | 'hang'

export class FixtureServer {
  private readonly answers = new Map<string, Answer>()
  readonly requests: string[] = []

  private constructor (private readonly server: Server, readonly port: number) {
    server.on('request', (request, response) => {
      const path = request.url ?? '/'
      this.requests.push(path)
      const answer = this.answers.get(path) ?? { status: 404, body: 'not found' }
      if (answer === 'hang') return
      response.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'text/plain' })
      response.end(answer.body)
    })
  }

  static async start (): Promise<FixtureServer> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', resolve)
    })
    return new FixtureServer(server, (server.address() as AddressInfo).port)
  }

  /** Sets what `path` answers (until set again). */
  answer (path: string, answer: Answer): this {
    this.answers.set(path, answer)
    return this
  }

  url (path: string): string { return `http://127.0.0.1:${this.port}${path}` }

  /** How many requests `path` got. */
  count (path: string): number { return this.requests.filter((p) => p === path).length }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, read and released). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
