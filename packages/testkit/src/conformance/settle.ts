/** Time limits for the suites: a call that never settles fails its test with a message instead of hanging it. */

/** The default limit of the backend and plugin suites (ms). */
export const DEFAULT_LIMIT = 2000

/**
 * Resolves or rejects as `promise` does, or rejects with `<what> did not settle within <ms> ms` if it has not
 * by then. Real time (a suite that fakes timers must restore them for the conformance tests).
 */
export async function within<T> (promise: Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not settle within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([Promise.resolve(promise), limit])
  } finally {
    clearTimeout(timer)
  }
}

/** Calls `fn` and gives its result as a promise; a synchronous throw becomes a rejection. */
export async function call<T> (fn: () => Promise<T> | T): Promise<T> {
  return await fn()
}

/** A few turns of the event loop: enough for work queued by the code under test to run. */
export async function turns (count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}
