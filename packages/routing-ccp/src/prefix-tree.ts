/**
 * ILP address prefixes, each with an optional value, kept as a tree of segments so that the members under a
 * prefix can be listed at a cost proportional to how many there are, not to the size of the tree. `''` is the root, `g` is under it,
 * `g.a` under `g`; `g.ab` is not under `g.a`. Nodes are found by their whole prefix (one hash lookup, no
 * splitting into segments); a node exists while it is a member or has members under it.
 */
interface Node<T> {
  member: boolean
  value: T | undefined
  /** The prefixes of the nodes one segment longer, created when the first one is. */
  children: Set<string> | undefined
}

export class PrefixTree<T> {
  private readonly nodes = new Map<string, Node<T>>()
  private count = 0

  get size (): number { return this.count }

  has (prefix: string): boolean { return this.nodes.get(prefix)?.member === true }

  /** The value of a member. */
  get (prefix: string): T | undefined { return this.nodes.get(prefix)?.value }

  /** Makes `prefix` a member (its value, if any, unchanged). */
  add (prefix: string): void { this.member(prefix) }

  /** Makes `prefix` a member with this value. */
  set (prefix: string, value: T): void { this.member(prefix).value = value }

  /** Members that have a value, in the order they were first added. */
  * entries (): IterableIterator<[string, T]> {
    for (const [prefix, node] of this.nodes) if (node.value !== undefined) yield [prefix, node.value]
  }

  delete (prefix: string): boolean {
    const node = this.nodes.get(prefix)
    if (node === undefined || !node.member) return false
    node.member = false
    node.value = undefined
    this.count--
    if (node.children === undefined) this.unlink(prefix)
    return true
  }

  /** The members strictly under `prefix`, each listed before the members under it (shorter first on a branch). */
  under (prefix: string): string[] {
    const found: string[] = []
    const children = this.nodes.get(prefix)?.children
    if (children !== undefined) this.collect(children, found)
    return found
  }

  private member (prefix: string): Node<T> {
    let node = this.nodes.get(prefix)
    if (node === undefined) {
      this.nodes.set(prefix, node = { member: true, value: undefined, children: undefined })
      this.count++
      this.link(prefix)
    } else if (!node.member) {
      node.member = true
      this.count++
    }
    return node
  }

  private collect (children: Set<string>, found: string[]): void {
    for (const prefix of children) {
      const node = this.nodes.get(prefix)!
      if (node.member) found.push(prefix)
      if (node.children !== undefined) this.collect(node.children, found)
    }
  }

  /** Hangs a new node under its parent, creating the parents that do not exist yet. */
  private link (prefix: string): void {
    while (prefix !== '') {
      const parentPrefix = parentOf(prefix)
      let parent = this.nodes.get(parentPrefix)
      const existed = parent !== undefined
      if (parent === undefined) this.nodes.set(parentPrefix, parent = { member: false, value: undefined, children: undefined })
      ;(parent.children ??= new Set()).add(prefix)
      if (existed) return
      prefix = parentPrefix
    }
  }

  /** Removes a node that is no longer a member and has nothing under it, and the parents left empty by that. */
  private unlink (prefix: string): void {
    for (;;) {
      this.nodes.delete(prefix)
      if (prefix === '') return
      const parentPrefix = parentOf(prefix)
      const parent = this.nodes.get(parentPrefix)!
      parent.children!.delete(prefix)
      if (parent.children!.size > 0) return
      parent.children = undefined
      if (parent.member) return
      prefix = parentPrefix
    }
  }
}

function parentOf (prefix: string): string {
  const end = prefix.lastIndexOf('.')
  return end === -1 ? '' : prefix.slice(0, end)
}
