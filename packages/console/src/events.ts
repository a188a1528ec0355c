/**
 * The console's live feed: Server-Sent Events on `/console/events`, one stream per open page. One timer for all
 * streams, running only while at least one is open: each tick reads the connector once (snapshot and traffic)
 * and writes the same two events to every stream, so ten pages cost what one does and no page polls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface Feed {
  /** Called when the first stream opens, before the first tick. */
  active (): void
  /** Called once per tick while a stream is open; resolves with the events to send (name, JSON-ready data). */
  tick (): Promise<Array<[string, unknown]>>
  /** Called when the last stream closed: the next tick starts afresh. */
  idle (): void
}

/** Streams beyond this get 503: a page opens one, so more means something loops. */
export const MAX_STREAMS = 32
/** A stream whose unsent output grows past this is a reader that stopped reading: it is closed. */
const MAX_BUFFERED = 1024 * 1024

export class EventStreams {
  private readonly streams = new Set<ServerResponse>()
  private timer: NodeJS.Timeout | undefined
  private ticking = false
  /** The last tick's events, sent at once to a stream that opens between ticks. */
  private last: string | undefined

  constructor (private readonly feed: Feed, private readonly intervalMs: number, private readonly onError: (err: Error) => void) {}

  get size (): number { return this.streams.size }

  open (req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      res.statusCode = 503
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end(`Error: too many console streams open (${MAX_STREAMS})`)
      return
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no'
    })
    res.write(`retry: ${Math.max(this.intervalMs, 1000)}\n\n`)
    this.streams.add(res)
    req.socket.setNoDelay(true)
    res.once('close', () => {
      this.streams.delete(res)
      if (this.streams.size === 0) this.pause()
    })
    if (this.last !== undefined) res.write(this.last)
    if (this.timer === undefined) {
      this.feed.active()
      this.timer = setInterval(() => { void this.run() }, this.intervalMs)
      void this.run()
    }
  }

  /** Ends every stream and the timer. */
  close (): void {
    this.pause()
    for (const res of this.streams) res.end()
    this.streams.clear()
  }

  private pause (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.last = undefined
    this.feed.idle()
  }

  private async run (): Promise<void> {
    if (this.ticking) return // a slow tick is not stacked on
    this.ticking = true
    try {
      const events = await this.feed.tick()
      if (this.streams.size === 0) return
      const text = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join('')
      this.last = text
      for (const res of this.streams) {
        if (res.writableLength > MAX_BUFFERED) {
          res.destroy()
          continue
        }
        res.write(text)
      }
    } catch (err) {
      this.onError(err as Error)
    } finally {
      this.ticking = false
    }
  }
}
