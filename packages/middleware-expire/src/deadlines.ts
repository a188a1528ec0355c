/**
 * Deadlines of the packets in flight, in a binary heap with ONE timer for the earliest: a Node timer per
 * packet, each with its own delay, costs a timer list per distinct delay, which is a large share of the
 * packet path at tens of thousands of packets per second.
 */

/**
 * The longest delay setTimeout takes; a longer one fires after 1 ms. A later deadline is re-armed in steps of
 * this until it is reached.
 */
const MAX_DELAY = 2 ** 31 - 1

export interface Deadline {
  readonly at: number
  /** Called once if the deadline passes while the entry is still in the heap. */
  readonly expired: () => void
  /** Position in the heap; -1 once removed. */
  index: number
}

export class Deadlines {
  private readonly heap: Deadline[] = []
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity

  get size (): number { return this.heap.length }

  add (at: number, expired: () => void): Deadline {
    const entry: Deadline = { at, expired, index: this.heap.length }
    this.heap.push(entry)
    this.up(entry.index)
    if (at < this.timerAt) this.arm()
    return entry
  }

  remove (entry: Deadline): void {
    const i = entry.index
    if (i < 0) return
    entry.index = -1
    const last = this.heap.pop()!
    if (i < this.heap.length) {
      this.heap[i] = last
      last.index = i
      this.down(i)
      this.up(last.index)
    }
    if (this.heap.length === 0) this.disarm()
  }

  /** Expires every entry that is due, then waits for the next. */
  private readonly fire = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = Date.now()
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const entry = this.heap[0]!
      this.remove(entry)
      entry.expired()
    }
    if (this.heap.length > 0) this.arm()
  }

  private arm (): void {
    const at = this.heap[0]!.at
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(this.fire, Math.min(Math.max(at - Date.now(), 0), MAX_DELAY))
  }

  private disarm (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
  }

  private up (i: number): void {
    const heap = this.heap
    const entry = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= entry.at) break
      heap[i] = heap[parent]!
      heap[i]!.index = i
      i = parent
    }
    heap[i] = entry
    entry.index = i
  }

  private down (i: number): void {
    const heap = this.heap
    const entry = heap[i]!
    const length = heap.length
    while (true) {
      const left = 2 * i + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && heap[right]!.at < heap[left]!.at ? right : left
      if (heap[child]!.at >= entry.at) break
      heap[i] = heap[child]!
      heap[i]!.index = i
      i = child
    }
    heap[i] = entry
    entry.index = i
  }
}
