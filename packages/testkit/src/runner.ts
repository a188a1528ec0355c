/**
 * The test runner's globals. The suites register tests with the global `describe` and `it` of mocha (or a
 * runner with the same globals: node:test's globals do not count, vitest with `globals: true` does), so this
 * package depends on no runner.
 */
export type TestBody = () => Promise<void> | void

export interface Runner {
  describe (title: string, body: () => void): void
  it (title: string, body: TestBody): void
}

export function runner (suite: string): Runner {
  const globals = globalThis as { describe?: unknown, it?: unknown }
  if (typeof globals.it !== 'function') {
    throw new Error(`@conn/testkit: ${suite}() registers tests with the global it() of mocha (or a compatible runner); ` +
      'call it at the top level or inside a describe() of a spec file that the runner loads')
  }
  const it = globals.it as Runner['it']
  const describe = typeof globals.describe === 'function'
    ? globals.describe as Runner['describe']
    : (_title: string, body: () => void): void => { body() }
  return { describe, it }
}
