/** Collects the tests a conformance suite registers, instead of handing them to mocha, to run them by hand. */
import type { TestBody } from '../src/runner.ts'

export function collect (register: () => void): Map<string, TestBody> {
  const globals = globalThis as Record<string, unknown>
  const saved = { it: globals.it, describe: globals.describe }
  const tests = new Map<string, TestBody>()
  globals.it = (title: string, body: TestBody) => { tests.set(title, body) }
  globals.describe = (_title: string, body: () => void) => { body() }
  try {
    register()
  } finally {
    globals.it = saved.it
    globals.describe = saved.describe
  }
  return tests
}

/** Runs each collected test; the titles of those that failed, with the message. */
export async function failures (tests: Map<string, TestBody>): Promise<Record<string, string>> {
  const failed: Record<string, string> = {}
  for (const [title, body] of tests) {
    try {
      await body()
    } catch (err) {
      failed[title] = (err as Error).message
    }
  }
  return failed
}
