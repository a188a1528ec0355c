/**
 * A map from ILP address prefixes to values with longest-prefix lookup on segment boundaries:
 * `test.a` matches `test.a` and `test.a.b` but not `test.ab`. The empty prefix matches everything.
 * Lookup walks the address's segments from the longest, so its cost is the address depth, not the table size.
 */
export class PrefixMap<T> {
  private readonly map = new Map<string, T>()

  get size (): number { return this.map.size }

  /** The value stored under exactly this prefix. */
  get (prefix: string): T | undefined { return this.map.get(prefix) }

  has (prefix: string): boolean { return this.map.has(prefix) }

  set (prefix: string, value: T): void { this.map.set(prefix, value) }

  delete (prefix: string): boolean { return this.map.delete(prefix) }

  /** The value of the longest prefix of `address`, or undefined. */
  resolve (address: string): T | undefined {
    const map = this.map
    let value = map.get(address)
    if (value !== undefined) return value
    let end = address.lastIndexOf('.')
    while (end > 0) {
      value = map.get(address.slice(0, end))
      if (value !== undefined) return value
      end = address.lastIndexOf('.', end - 1)
    }
    return map.get('')
  }

  /** The longest stored prefix of `address`, or undefined. */
  resolvePrefix (address: string): string | undefined {
    if (this.map.has(address)) return address
    let end = address.lastIndexOf('.')
    while (end > 0) {
      const prefix = address.slice(0, end)
      if (this.map.has(prefix)) return prefix
      end = address.lastIndexOf('.', end - 1)
    }
    return this.map.has('') ? '' : undefined
  }

  keys (): IterableIterator<string> { return this.map.keys() }

  entries (): IterableIterator<[string, T]> { return this.map.entries() }

  /** Prefixes sorted by length (longest first), then alphabetically, as the reference lists them. */
  sortedKeys (): string[] {
    return [...this.map.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0))
  }
}
