/**
 * ILP address prefixes, each with an optional value, kept as a tree of segments so that the members under a
 * prefix can be listed at a cost proportional to how many there are, not to the size of the tree. `''` is the root, `g` is under it,
 * `g.a` under `g`; `g.ab` is not under `g.a`. Nodes are found by their whole prefix (one hash lookup, no
 * splitting into segments); a node exists while it is a member or has members under it.
 */
interface Node<T> {
  readonly prefix: string
  member: boolean
  value: T | undefined
  /**
   * The nodes one segment longer, as a doubly linked list (first/last child, previous/next sibling) rather than
   * a Set: when 100,000 routes share one parent, a Set would double its storage in the same macrotask as
   * `nodes` does, blocking the event loop twice as long.
   */
  first: Node<T> | undefined
  last: Node<T> | undefined
  previous: Node<T> | undefined
  next: Node<T> | undefined
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
    if (node.first === undefined) this.unlink(node)
    return true
  }

  /** The members strictly under `prefix`, each listed before the members under it (shorter first on a branch). */
  under (prefix: string): string[] {
    const found: string[] = []
    const node = this.nodes.get(prefix)
    if (node !== undefined) collect(node, found)
    return found
  }

  private member (prefix: string): Node<T> {
    let node = this.nodes.get(prefix)
    if (node === undefined) {
      node = this.create(prefix, true)
      this.count++
      this.link(node)
    } else if (!node.member) {
      node.member = true
      this.count++
    }
    return node
  }

  private create (prefix: string, member: boolean): Node<T> {
    const node: Node<T> = { prefix, member, value: undefined, first: undefined, last: undefined, previous: undefined, next: undefined }
    this.nodes.set(prefix, node)
    return node
  }

  /** Hangs a new node under its parent, creating the parents that do not exist yet. */
  private link (node: Node<T>): void {
    while (node.prefix !== '') {
      const parentPrefix = parentOf(node.prefix)
      let parent = this.nodes.get(parentPrefix)
      const existed = parent !== undefined
      if (parent === undefined) parent = this.create(parentPrefix, false)
      node.previous = parent.last
      if (parent.last === undefined) parent.first = node
      else parent.last.next = node
      parent.last = node
      if (existed) return
      node = parent
    }
  }

  /** Removes a node that is no longer a member and has nothing under it, and the parents left empty by that. */
  private unlink (node: Node<T>): void {
    for (;;) {
      this.nodes.delete(node.prefix)
      if (node.prefix === '') return
      const parent = this.nodes.get(parentOf(node.prefix))!
      if (node.previous === undefined) parent.first = node.next
      else node.previous.next = node.next
      if (node.next === undefined) parent.last = node.previous
      else node.next.previous = node.previous
      node.previous = node.next = undefined
      if (parent.first !== undefined || parent.member) return
      node = parent
    }
  }
}

/** Appends the members under `node` to `found`, depth first, each before the members under it. */
function collect<T> (node: Node<T>, found: string[]): void {
  for (let child = node.first; child !== undefined; child = child.next) {
    if (child.member) found.push(child.prefix)
    if (child.first !== undefined) collect(child, found)
  }
}

function parentOf (prefix: string): string {
  const end = prefix.lastIndexOf('.')
  return end === -1 ? '' : prefix.slice(0, end)
}
