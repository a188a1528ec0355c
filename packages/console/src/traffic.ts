/**
 * Live traffic per account from conn's packet tracing (`conn:packet:answered` and `conn:packet:forwarded` on
 * node:diagnostics_channel): each event bumps a counter, and once per interval the counters become packets/s and
 * rejects/s by ILP error code, then start again from zero. It subscribes only while a console page is open, so
 * without one the packet path pays nothing (tracing costs one check per packet when nobody listens).
 *
 * The channels belong to the process: with several connectors in one process, only events of accounts this
 * connector has are counted (two connectors with an account of the same id are still counted together).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { TRACE_CHANNELS, type PacketAnsweredEvent, type PacketForwardedEvent } from '@conn/types'

export interface AccountTraffic {
  /** Prepares per second the account sent us, over the last interval. */
  incoming: number
  /** Prepares per second we forwarded to it. */
  outgoing: number
  /** The account's Prepares rejected, per second, by the Reject's ILP error code. */
  rejects: Record<string, number>
}

export interface TrafficPoint {
  /** Milliseconds since the epoch at the end of the interval. */
  time: number
  accounts: Record<string, AccountTraffic>
}

interface Counts {
  incoming: number
  outgoing: number
  rejects: Map<string, number>
}

export class TrafficMeter {
  private readonly tally = new Map<string, Counts>()
  private since: number | undefined
  private subscribed = false

  /** `accept(id)`: whether traffic of that account is shown (ours, and not the console's own). */
  constructor (private readonly accept: (account: string) => boolean = () => true) {}

  private readonly onAnswered = (message: unknown): void => {
    const event = message as PacketAnsweredEvent
    if (!this.accept(event.account)) return
    const counts = this.countsOf(event.account)
    counts.incoming++
    if (event.result !== 'fulfill') counts.rejects.set(event.result, (counts.rejects.get(event.result) ?? 0) + 1)
  }

  private readonly onForwarded = (message: unknown): void => {
    const event = message as PacketForwardedEvent
    if (!this.accept(event.nextHop)) return
    this.countsOf(event.nextHop).outgoing++
  }

  /** Starts counting (subscribes to the trace channels); the first interval starts now. */
  start (now: number): void {
    if (this.subscribed) return
    this.subscribed = true
    this.since = now
    subscribe(TRACE_CHANNELS.answered, this.onAnswered)
    subscribe(TRACE_CHANNELS.forwarded, this.onForwarded)
  }

  /** Stops counting and forgets the counts. */
  stop (): void {
    if (!this.subscribed) return
    this.subscribed = false
    unsubscribe(TRACE_CHANNELS.answered, this.onAnswered)
    unsubscribe(TRACE_CHANNELS.forwarded, this.onForwarded)
    this.tally.clear()
    this.since = undefined
  }

  /**
   * The rates since the last call (or `start`), for every account in `accounts` (0 when it had no traffic) and
   * any other that had some; then the counts start again from zero.
   */
  sample (now: number, accounts: Iterable<string> = []): TrafficPoint {
    const seconds = this.since === undefined ? 1 : Math.max((now - this.since) / 1000, 0.001)
    const point: TrafficPoint = { time: now, accounts: {} }
    for (const id of accounts) if (this.accept(id)) point.accounts[id] = { incoming: 0, outgoing: 0, rejects: {} }
    for (const [id, counts] of this.tally) {
      const rejects: Record<string, number> = {}
      for (const [code, n] of counts.rejects) rejects[code] = n / seconds
      point.accounts[id] = { incoming: counts.incoming / seconds, outgoing: counts.outgoing / seconds, rejects }
    }
    this.tally.clear()
    this.since = now
    return point
  }

  private countsOf (account: string): Counts {
    let counts = this.tally.get(account)
    if (counts === undefined) {
      counts = { incoming: 0, outgoing: 0, rejects: new Map() }
      this.tally.set(account, counts)
    }
    return counts
  }
}
