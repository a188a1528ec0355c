/**
 * The settled packets of one next hop, in preallocated typed arrays rather than an object per packet.
 *
 * Why: a remembered packet lives for seconds, long enough for V8 to promote it to the old generation, where
 * each one is garbage that only a full collection reclaims. At tens of thousands of packets per second that
 * churn, not the entries themselves, made the heap (and the process's RSS) grow by tens of megabytes. Here
 * the memory is fixed: a ring of `capacity` slots, the newest overwriting the oldest, grown on demand up to
 * its capacity so a quiet account costs little.
 *
 * A slot holds the condition, the destination/data hash, amount, expiry and the reply's bytes (up to
 * SLOT_BYTES inline; a longer reply, or the error the packet failed with, is kept by reference, which is rare).
 */
const CONDITION_BYTES = 32
/** Replies up to this size are copied into the ring; a STREAM Fulfill is about 110 bytes. */
export const SLOT_BYTES = 192
const INITIAL_SLOTS = 256
const NONE = -1
/** replyLengths value of a slot whose outcome is in `others`. */
const BY_REFERENCE = -1
/** replyLengths value of an empty (never used or removed) slot. */
const EMPTY = -2

interface Outcome { error: boolean, value: unknown }

export class SettledRing {
  private slots = 0
  private conditions = new Uint8Array(0)
  private hashes = new Int32Array(0)
  private amounts = new BigUint64Array(0)
  private expiries = new Float64Array(0)
  private replyLengths = new Int32Array(0)
  private replies = new Uint8Array(0)
  /** Per slot, the next slot in the same bucket (NONE ends the chain). */
  private chain = new Int32Array(0)
  private buckets = new Int32Array(0)
  private readonly others = new Map<number, Outcome>()
  /** Where the next packet goes; the oldest one is overwritten once the ring is full. */
  private cursor = 0
  private live = 0
  /** Bucket indexes are keyed, so crafted conditions cannot pile into one chain. */
  private readonly seed = (Math.random() * 0x100000000) | 0

  constructor (readonly capacity: number) {
    this.resize(Math.min(INITIAL_SLOTS, capacity))
  }

  get size (): number {
    return this.live
  }

  /** The slot of the packet with this condition and destination/data hash, or -1. */
  find (condition: Uint8Array, hash: number): number {
    let slot = this.buckets[this.bucketOf(condition, 0, hash)]!
    while (slot !== NONE) {
      if (this.hashes[slot] === hash && this.sameCondition(slot, condition)) return slot
      slot = this.chain[slot]!
    }
    return NONE
  }

  amountAt (slot: number): bigint {
    return this.amounts[slot]!
  }

  expiresAtAt (slot: number): number {
    return this.expiries[slot]!
  }

  /** The packet's outcome: its reply (a copy of it), or the error it failed with. */
  outcomeAt (slot: number): Promise<Buffer> {
    const length = this.replyLengths[slot]!
    if (length >= 0) return Promise.resolve(Buffer.from(this.replies.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + length)))
    const outcome = this.others.get(slot)!
    return outcome.error ? Promise.reject(outcome.value) : Promise.resolve(outcome.value as Buffer)
  }

  /** Remembers a settled packet, replacing an earlier one with the same key and the oldest if full. */
  add (condition: Uint8Array, hash: number, amount: bigint, expiresAt: number, reply: Buffer | undefined, error?: unknown): void {
    const previous = this.find(condition, hash)
    if (previous !== NONE) this.remove(previous)
    if (this.cursor === this.slots) {
      if (this.slots < this.capacity) this.resize(Math.min(this.slots * 2, this.capacity))
      else this.cursor = 0
    }
    const slot = this.cursor++
    if (this.replyLengths[slot] !== EMPTY) this.remove(slot)
    this.conditions.set(condition.subarray(0, CONDITION_BYTES), slot * CONDITION_BYTES)
    this.hashes[slot] = hash
    this.amounts[slot] = amount
    this.expiries[slot] = expiresAt
    if (reply !== undefined && reply.length <= SLOT_BYTES) {
      this.replies.set(reply, slot * SLOT_BYTES)
      this.replyLengths[slot] = reply.length
    } else {
      this.others.set(slot, reply !== undefined ? { error: false, value: reply } : { error: true, value: error })
      this.replyLengths[slot] = BY_REFERENCE
    }
    this.link(slot)
    this.live++
  }

  /** Forgets the packets that expired before `cutoff` (ms since the epoch). */
  removeExpiredBefore (cutoff: number): void {
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.replyLengths[slot] !== EMPTY && this.expiries[slot]! < cutoff) this.remove(slot)
    }
  }

  remove (slot: number): void {
    const bucket = this.bucketOf(this.conditions, slot * CONDITION_BYTES, this.hashes[slot]!)
    let at = this.buckets[bucket]!
    if (at === slot) {
      this.buckets[bucket] = this.chain[slot]!
    } else {
      while (this.chain[at] !== slot) at = this.chain[at]!
      this.chain[at] = this.chain[slot]!
    }
    if (this.replyLengths[slot] === BY_REFERENCE) this.others.delete(slot)
    this.replyLengths[slot] = EMPTY
    this.live--
  }

  private link (slot: number): void {
    const bucket = this.bucketOf(this.conditions, slot * CONDITION_BYTES, this.hashes[slot]!)
    this.chain[slot] = this.buckets[bucket]!
    this.buckets[bucket] = slot
  }

  private sameCondition (slot: number, condition: Uint8Array): boolean {
    const base = slot * CONDITION_BYTES
    for (let i = 0; i < CONDITION_BYTES; i++) {
      if (this.conditions[base + i] !== condition[i]) return false
    }
    return true
  }

  /** Mixes the seed, four words of the condition and the hash (murmur3's finalizer), masked to a bucket. */
  private bucketOf (bytes: Uint8Array, offset: number, hash: number): number {
    let h = this.seed ^ hash
    for (let i = 0; i < 16; i += 4) {
      h = Math.imul(h ^ (bytes[offset + i]! | bytes[offset + i + 1]! << 8 | bytes[offset + i + 2]! << 16 | bytes[offset + i + 3]! << 24), 0x9e3779b1)
      h ^= h >>> 15
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return (h ^ (h >>> 16)) & (this.buckets.length - 1)
  }

  /** Grows every array to `slots` (only while the ring has not wrapped, so slot order stays oldest first). */
  private resize (slots: number): void {
    const grow = <T extends Uint8Array | Int32Array | BigUint64Array | Float64Array>(old: T, make: (n: number) => T, per: number): T => {
      const next = make(slots * per)
      next.set(old as never)
      return next
    }
    this.conditions = grow(this.conditions, (n) => new Uint8Array(n), CONDITION_BYTES)
    this.hashes = grow(this.hashes, (n) => new Int32Array(n), 1)
    this.amounts = grow(this.amounts, (n) => new BigUint64Array(n), 1)
    this.expiries = grow(this.expiries, (n) => new Float64Array(n), 1)
    this.replies = grow(this.replies, (n) => new Uint8Array(n), SLOT_BYTES)
    this.chain = grow(this.chain, (n) => new Int32Array(n), 1)
    const lengths = new Int32Array(slots).fill(EMPTY)
    lengths.set(this.replyLengths)
    this.replyLengths = lengths
    this.slots = slots
    // Twice as many buckets as slots keeps chains short; every live slot is linked again.
    let buckets = 1
    while (buckets < slots * 2) buckets *= 2
    this.buckets = new Int32Array(buckets).fill(NONE)
    for (let slot = 0; slot < this.cursor; slot++) {
      if (this.replyLengths[slot] !== EMPTY) this.link(slot)
    }
  }
}
