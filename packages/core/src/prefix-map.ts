/**
 * A map from ILP address prefixes to values with longest-prefix lookup on segment boundaries:
 * `test.a` matches `test.a` and `test.a.b` but not `test.ab`. The empty prefix matches everything.
 * Lookup walks the address's segments from the longest, so its cost is the address depth, not the table size.
 * An `isHole` test makes lookups pass over values that hold no answer (the routing table keeps a prefix's
 * learned routes in the same entry as its chosen route, so one map, not two, grows with the table).
 */
export class PrefixMap<T> {
  private readonly map = new Map<string, T>()

  constructor (private readonly isHole?: (value: T) => boolean) {}

  get size (): number { return this.map.size }

  /** The value stored under exactly this prefix. */
  get (prefix: string): T | undefined { return this.map.get(prefix) }

  has (prefix: string): boolean { return this.map.has(prefix) }

  set (prefix: string, value: T): void { this.map.set(prefix, value) }

  delete (prefix: string): boolean { return this.map.delete(prefix) }

  /** The value of the longest prefix of `address` (holes passed over), or undefined. */
  resolve (address: string): T | undefined {
    let value = this.answer(address)
    if (value !== undefined) return value
    let end = address.lastIndexOf('.')
    while (end > 0) {
      value = this.answer(address.slice(0, end))
      if (value !== undefined) return value
      end = address.lastIndexOf('.', end - 1)
    }
    return this.answer('')
  }

  /** The longest stored prefix of `address` whose value is not a hole, or undefined. */
  resolvePrefix (address: string): string | undefined {
    if (this.answer(address) !== undefined) return address
    let end = address.lastIndexOf('.')
    while (end > 0) {
      const prefix = address.slice(0, end)
      if (this.answer(prefix) !== undefined) return prefix
      end = address.lastIndexOf('.', end - 1)
    }
    return this.answer('') !== undefined ? '' : undefined
  }

  /** Every stored prefix, holes included. */
  keys (): IterableIterator<string> { return this.map.keys() }

  /** Every stored entry, holes included. */
  entries (): IterableIterator<[string, T]> { return this.map.entries() }

  /** Prefixes that are not holes, sorted by length (longest first), then alphabetically, as the reference lists them. */
  sortedKeys (): string[] {
    const keys: string[] = []
    for (const [prefix, value] of this.map) if (this.isHole === undefined || !this.isHole(value)) keys.push(prefix)
    return keys.sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0))
  }

  /** The value stored under `prefix` unless it is a hole. */
  private answer (prefix: string): T | undefined {
    const value = this.map.get(prefix)
    return value === undefined || this.isHole === undefined || !this.isHole(value) ? value : undefined
  }
}
