/**
 * Learned routes waiting to leave the connector's table. A peer that disconnects, or whose routes expire or
 * are replaced by a new table, can take 100,000 routes with it: removed in one go they would block the event
 * loop (and every packet) for a quarter of a second, so they go a chunk per macrotask. Until its turn a
 * route still points at the peer, which answers T01 while it is gone. A route the peer has taught us again by
 * its turn (it reconnected) is kept: the peer's current receiver is asked, so nothing has to be cancelled.
 */
import type { RoutingTableView } from '@conn/types'

/** Routes removed per macrotask: a few milliseconds of work. */
export const WITHDRAWAL_CHUNK = 2000

interface Batch {
  accountId: string
  prefixes: string[]
  /** Index of the next prefix to remove. */
  next: number
}

export class PendingWithdrawals {
  private readonly batches: Batch[] = []
  private scheduled: NodeJS.Immediate | undefined

  /**
   * @param isLearned whether `accountId` currently teaches us `prefix` (then its route stays)
   */
  constructor (
    private readonly table: Pick<RoutingTableView, 'removeLearnedRoute'>,
    private readonly isLearned: (accountId: string, prefix: string) => boolean,
    private readonly chunk = WITHDRAWAL_CHUNK
  ) {}

  /** How many routes are still to remove. */
  get size (): number {
    let size = 0
    for (const batch of this.batches) size += batch.prefixes.length - batch.next
    return size
  }

  /** Queues the removal of routes learned from `accountId` (the array is kept, not copied). */
  add (accountId: string, prefixes: string[]): void {
    if (prefixes.length === 0) return
    this.batches.push({ accountId, prefixes, next: 0 })
    this.scheduled ??= setImmediate(this.step)
  }

  /** Removes everything still queued, now. */
  flush (): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    this.remove(Infinity)
  }

  private readonly step = (): void => {
    this.scheduled = undefined
    this.remove(this.chunk)
    if (this.batches.length > 0) this.scheduled = setImmediate(this.step)
  }

  private remove (limit: number): void {
    let left = limit
    while (this.batches.length > 0) {
      const batch = this.batches[0]!
      const { accountId, prefixes } = batch
      const end = Math.min(prefixes.length, batch.next + left)
      for (let i = batch.next; i < end; i++) {
        const prefix = prefixes[i]!
        if (!this.isLearned(accountId, prefix)) this.table.removeLearnedRoute(accountId, prefix)
      }
      left -= end - batch.next
      batch.next = end
      if (end < prefixes.length) return
      this.batches.shift()
    }
  }
}
