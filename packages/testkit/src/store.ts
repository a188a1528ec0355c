/** A Store in a Map: strings only, nothing survives the process; no atomic balance methods. */
import type { Store } from '@conn/types'

export class MapStore implements Store {
  readonly map = new Map<string, string>()

  async get (key: string): Promise<string | undefined> { return this.map.get(key) }
  async put (key: string, value: string): Promise<void> { this.map.set(key, value) }
  async del (key: string): Promise<void> { this.map.delete(key) }
}
