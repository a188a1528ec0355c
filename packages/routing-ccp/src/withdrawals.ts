/**
 * Learned routes waiting to leave the connector's table. A peer that disconnects, or whose routes expire or
 * are replaced by a new table, can take 100,000 routes with it: removed in one go they would block the event
 * loop (and every packet) for a quarter of a second, so they go a chunk per macrotask. Until its turn a
 * route still points at the peer, which answers T01 while it is gone. A route the peer teaches us again before
 * its turn (it reconnected, or sent its new table) is kept: its receiver cancels that prefix's withdrawal.
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
  /** By account, the prefixes queued and not cancelled since. */
  private readonly pending = new Map<string, Set<string>>()
  private scheduled: NodeJS.Immediate | undefined

  constructor (
    private readonly table: Pick<RoutingTableView, 'removeLearnedRoute'>,
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
    let pending = this.pending.get(accountId)
    if (pending === undefined) this.pending.set(accountId, pending = new Set())
    for (const prefix of prefixes) pending.add(prefix)
    this.batches.push({ accountId, prefixes, next: 0 })
    this.scheduled ??= setImmediate(this.step)
  }

  /** `accountId` taught us `prefix` again: its route stays. (Called per learned route: cheap when nothing is queued.) */
  cancel (accountId: string, prefix: string): void {
    if (this.pending.size === 0) return
    this.pending.get(accountId)?.delete(prefix)
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
      const pending = this.pending.get(accountId)
      const end = Math.min(prefixes.length, batch.next + left)
      for (let i = batch.next; i < end; i++) {
        const prefix = prefixes[i]!
        if (pending?.delete(prefix) === true) this.table.removeLearnedRoute(accountId, prefix)
      }
      left -= end - batch.next
      batch.next = end
      if (end < prefixes.length) return
      this.batches.shift()
      if (pending !== undefined && pending.size === 0) this.pending.delete(accountId)
    }
  }
}
