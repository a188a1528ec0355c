/**
 * Route exchange end to end: a line of in-process conn connectors whose neighbours are peers over real
 * ilp-plugin-btp links on 127.0.0.1 (the right-hand one listens, the left-hand one dials), each with one
 * child that is a harness client. Ports are fixed per connector, so a connector can be restarted with
 * the same configuration and fresh plugins.
 */
import type { AccountConfig, Plugin } from '@conn/types'
import type { Connector } from '@conn/core'
import type { CcpRouting, RoutingStatus } from '@conn/routing-ccp'
import { BtpPlugin, freePort, sleep, type Harness, type Node } from './harness.ts'

/** Short routing intervals: updates 250 ms apart, routes expire 1.5 s after the last one. */
export const ROUTING_FAST = {
  backend: 'one-to-one',
  spread: 0,
  minMessageWindow: 200,
  routeBroadcastInterval: 250,
  routeExpiry: 1500,
  routeCleanupInterval: 100,
  initialConnectTimeout: 3000
} as const

const SECRET = 'secret'
/**
 * ilp-plugin-btp never settles a request whose link closed before the answer came: it waits out its
 * response timeout (35 s by default) on a timer that keeps the process alive. A route update in flight when
 * a connector shuts down is such a request, so the peer links here give up after 3 s.
 */
const RESPONSE_TIMEOUT = 3000

/** A BTP listener account plugin on 127.0.0.1:port. */
export function btpListener (port: number): Plugin {
  return new BtpPlugin({ listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } }, responseTimeout: RESPONSE_TIMEOUT }) as unknown as Plugin
}

/** A BTP client account plugin dialing 127.0.0.1:port, retrying every 50 ms. */
export function btpClient (port: number): Plugin {
  return new BtpPlugin({ server: btpUrl(port), reconnectIntervals: [50], responseTimeout: RESPONSE_TIMEOUT }) as unknown as Plugin
}

/**
 * The same two accounts as an operator's configuration names them: package `ilp-plugin-btp` and its options,
 * which conn runs on its own wire-compatible transport.
 */
export function btpListenerByName (port: number): { plugin: string, options: Record<string, unknown> } {
  return { plugin: 'ilp-plugin-btp', options: { listener: { port, secret: SECRET, wsOpts: { host: '127.0.0.1', port } } } }
}

export function btpClientByName (port: number): { plugin: string, options: Record<string, unknown> } {
  return { plugin: 'ilp-plugin-btp', options: { server: btpUrl(port), reconnectIntervals: [50] } }
}

export function btpUrl (port: number): string {
  return `btp+ws://:${SECRET}@127.0.0.1:${port}`
}

interface Member {
  name: string
  address: string
  childName: string
  childPort: number
  /** Peer account id -> [port, whether this side listens]. */
  links: Array<{ peer: string, port: number, listens: boolean }>
}

/**
 * conn connectors test.<name> in a line (each neighbour pair peers), each with a child harness client
 * `children[name]` at test.<name>.<child name>.
 */
export class Line {
  readonly apps: Record<string, Connector> = {}
  readonly children: Record<string, Node> = {}

  private constructor (private readonly h: Harness, private readonly members: Member[], private readonly settings: Record<string, unknown>) {}

  /** Allocates the ports; nothing runs yet. `line` maps connector name to child name, in line order. */
  static async create (h: Harness, line: Record<string, string>, settings: Record<string, unknown> = {}): Promise<Line> {
    const names = Object.keys(line)
    const members: Member[] = []
    for (const name of names) {
      members.push({ name, address: 'test.' + name, childName: line[name]!, childPort: await freePort(), links: [] })
    }
    for (let i = 0; i + 1 < members.length; i++) {
      const left = members[i]!
      const right = members[i + 1]!
      const port = await freePort()
      left.links.push({ peer: right.name, port, listens: false })
      right.links.push({ peer: left.name, port, listens: true })
    }
    return new Line(h, members, settings)
  }

  /** The configuration of a connector, with new plugin instances on its fixed ports. */
  config (name: string): Parameters<Harness['connector']>[0] {
    const member = this.member(name)
    const asset = { assetCode: 'XYZ', assetScale: 9 }
    const accounts: Record<string, AccountConfig> = {
      [member.childName]: { relation: 'child', plugin: btpListener(member.childPort), ...asset }
    }
    for (const link of member.links) {
      accounts[link.peer] = { relation: 'peer', plugin: link.listens ? btpListener(link.port) : btpClient(link.port), ...asset }
    }
    return { ...ROUTING_FAST, ...this.settings, ilpAddress: member.address, accounts }
  }

  /** Starts every connector and child together; resolves once all are connected. */
  async start (): Promise<void> {
    const starts: Array<Promise<void>> = []
    for (const member of this.members) {
      const app = this.h.connector(this.config(member.name))
      this.apps[member.name] = app
      const child = this.h.client(member.childName, btpUrl(member.childPort))
      child.address = member.address + '.' + member.childName
      this.children[member.name] = child
      starts.push(app.listen(), child.connect())
    }
    await Promise.all(starts)
  }

  /** Shuts a connector down and starts a new one with the same configuration and ports. */
  async restart (name: string): Promise<void> {
    await this.apps[name]!.shutdown()
    await sleep(20) // let the listeners' sockets close
    const app = this.h.connector(this.config(name))
    this.apps[name] = app
    await app.listen()
  }

  /** True when every connector has a route to every other connector's address. */
  converged (): boolean {
    return this.members.every((m) => this.members.every((other) =>
      other === m || this.apps[m.name]!.routingTable.get(other.address) !== undefined))
  }

  /** Shuts the connectors down in line order: every dialing side before the listener it dials. */
  async close (): Promise<void> {
    for (const member of this.members) await this.apps[member.name]?.shutdown()
  }

  private member (name: string): Member {
    const member = this.members.find((m) => m.name === name)
    if (member === undefined) throw new Error('no connector named ' + name)
    return member
  }
}

/** The route exchange status of a conn connector (the reference's GET /routing shape). */
export function routingStatus (app: Connector): RoutingStatus {
  const routing = app.getRouting() as CcpRouting | undefined
  if (routing === undefined) throw new Error('route exchange is not running')
  return routing.getStatus()
}
