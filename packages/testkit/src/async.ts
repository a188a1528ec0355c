/** Promise helpers that tests of the packet path keep needing. */

export interface Deferred<T> {
  readonly promise: Promise<T>
  resolve (value: T): void
  reject (err: unknown): void
}

/** A promise with its resolve and reject outside, to answer a `next` at a moment the test chooses. */
export function deferred<T = void> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** What the promise rejects with; throws if it resolves. The type parameter is an unchecked cast. */
export async function rejectionOf<E = any> (promise: Promise<unknown>): Promise<E> {
  try {
    await promise
  } catch (err) {
    return err as E
  }
  throw new Error('expected a rejection, but the promise resolved')
}
