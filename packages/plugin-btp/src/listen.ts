/**
 * The WebSocket server of both server-side plugins (BtpPlugin's `listener`, MiniAccountsPlugin): our defaults
 * under the operator's `wsOpts`, and a listen that rejects on a listen error (EADDRINUSE) instead of leaving an
 * unhandled `error` event, as the reference plugins do.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws'

export interface WebSocketListenOptions {
  /** The port to listen on when `wsOpts` has neither `server` nor `noServer` (an attached `server` is listened on it if not yet listening). */
  port: number | undefined
  /** The operator's options for ws's WebSocketServer; they win over ours. */
  wsOpts: ServerOptions
  /** Our default `maxPayload` (`wsOpts.maxPayload` wins). */
  maxPayload: number
  onConnection: (ws: WebSocket, req: IncomingMessage) => void
  /** Server errors after listening (a listen error rejects `listening` instead). */
  onError: (err: Error) => void
}

export interface WebSocketListener {
  /** The server, there at once, so that a `disconnect()` during the listen can close it. */
  readonly wss: WebSocketServer
  /** Resolves once listening (at once with `noServer`, or a `server` already listening); rejects on a listen error. */
  readonly listening: Promise<void>
}

/**
 * Creates the server with `{ perMessageDeflate: false, maxPayload, clientTracking: false, port }` merged under
 * `wsOpts` (`port` only when nothing is attached: with `wsOpts.server` or `noServer` ws refuses a port), and
 * listens: ws listens itself on `port`; an attached HTTP server that is not listening yet is listened on `port`.
 */
export function listenWebSocket (options: WebSocketListenOptions): WebSocketListener {
  const { port, wsOpts, maxPayload, onConnection, onError } = options
  const attached = wsOpts.server !== undefined || wsOpts.noServer === true
  const wss = new WebSocketServer({
    perMessageDeflate: false,
    maxPayload,
    clientTracking: false,
    ...(attached ? {} : { port }),
    ...wsOpts
  })
  wss.on('connection', onConnection)
  const httpServer = wsOpts.server as HttpServer | undefined
  const ready = wsOpts.noServer === true || (httpServer?.listening ?? false)
  const listening = ready
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
      const onListenError = (err: Error): void => { wss.off('listening', onListening); reject(err) }
      const onListening = (): void => { wss.off('error', onListenError); resolve() }
      wss.once('error', onListenError)
      wss.once('listening', onListening)
      if (httpServer !== undefined) httpServer.listen(port)
    })
  return { wss, listening: listening.then(() => { wss.on('error', onError) }) }
}
