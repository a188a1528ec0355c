/**
 * The WebSocket server of both server-side plugins (BtpPlugin's `listener`, MiniAccountsPlugin): our defaults
 * under the operator's `wsOpts`, and a listen that rejects on a listen error (EADDRINUSE) instead of leaving an
 * unhandled `error` event, as the reference plugins do.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws'

export interface WebSocketListenOptions {
  /** The port to listen on when `wsOpts` has neither `server` nor `noServer` (an attached `server` is listened on it if not yet listening). */
  port: number | undefined
  /** The operator's options for ws's WebSocketServer; they win over ours. */
  wsOpts: ServerOptions
  /** Our default `maxPayload` (`wsOpts.maxPayload` wins). */
  maxPayload: number
  /**
   * ms a TCP connection to a server we create may take to complete its WebSocket upgrade; it is destroyed after
   * that (0: no limit). Without it, a connection that sends nothing, or half a request, stays open for good.
   */
  handshakeTimeout?: number
  onConnection: (ws: WebSocket, req: IncomingMessage) => void
  /** Server errors after listening (a listen error rejects `listening` instead). */
  onError: (err: Error) => void
}

export interface WebSocketListener {
  /** The server, there at once, so that a `disconnect()` during the listen can close it. */
  readonly wss: WebSocketServer
  /** Resolves once listening (at once with `noServer`, or a `server` already listening); rejects on a listen error. */
  readonly listening: Promise<void>
  /** The HTTP server the WebSocket server runs on: ours, or the one attached in `wsOpts.server` (none with `noServer`). */
  readonly httpServer: HttpServer | undefined
  /** True when `httpServer` is ours (closing it may end its connections), false when the operator attached it. */
  readonly ownServer: boolean
}

/** ws's answer to a plain HTTP request on a WebSocket port. */
function upgradeRequired (_req: IncomingMessage, res: import('node:http').ServerResponse): void {
  const body = STATUS_CODES[426]!
  res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' })
  res.end(body)
}

/** Destroys each connection of `server` that has not upgraded within `ms`. */
function limitHandshakes (server: HttpServer, ms: number): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>()
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => { socket.destroy() }, ms)
    timer.unref()
    timers.set(socket, timer)
    socket.once('close', () => { clearTimeout(timer) })
  })
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => { clearTimeout(timers.get(socket)) })
}

/**
 * Creates the server with `{ perMessageDeflate: false, maxPayload, clientTracking: false }` merged under `wsOpts`,
 * and listens. Unless the operator attached a server (`wsOpts.server`) or none (`noServer`), the HTTP server is
 * ours, made and listened as ws makes its own (`wsOpts.port` ?? `port`, `wsOpts.host`, `wsOpts.backlog`, 426 to
 * plain requests), so that connections which do not upgrade within `handshakeTimeout` can be closed. An attached
 * HTTP server that is not listening yet is listened on `port`.
 */
export function listenWebSocket (options: WebSocketListenOptions): WebSocketListener {
  const { port, wsOpts, maxPayload, onConnection, onError } = options
  const attached = wsOpts.server !== undefined || wsOpts.noServer === true
  const { port: wsPort, ...rest } = wsOpts
  const own = attached ? undefined : createServer(upgradeRequired)
  if (own !== undefined && (options.handshakeTimeout ?? 0) > 0) limitHandshakes(own, options.handshakeTimeout!)
  const wss = new WebSocketServer({
    perMessageDeflate: false,
    maxPayload,
    clientTracking: false,
    ...(attached ? wsOpts : { ...rest, server: own })
  })
  wss.on('connection', onConnection)
  const httpServer = own ?? wsOpts.server as HttpServer | undefined
  const ready = wsOpts.noServer === true || (own === undefined && (httpServer?.listening ?? false))
  const listening = ready
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
      const onListenError = (err: Error): void => { wss.off('listening', onListening); reject(err) }
      const onListening = (): void => { wss.off('error', onListenError); resolve() }
      wss.once('error', onListenError)
      wss.once('listening', onListening)
      if (own !== undefined) own.listen(wsPort ?? port, wsOpts.host, wsOpts.backlog)
      else if (httpServer !== undefined) httpServer.listen(port)
    })
  return { wss, listening: listening.then(() => { wss.on('error', onError) }), httpServer, ownServer: own !== undefined }
}
