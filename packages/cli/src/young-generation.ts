/**
 * Caps V8's young generation ("new space") of the connector process.
 *
 * Why: under a steady packet load V8 keeps doubling new space up to its default maximum (two 16 MB
 * semi-spaces on 64-bit), because every scavenge finds the packets in flight alive. For a connector that
 * is ~25 MB of resident memory bought for no measurable throughput: packets live for milliseconds, and a
 * 4 MB semi-space already collects them as cheaply (measured in docs/benchmarks.md: same CPU per packet,
 * ~20 MB lower peak RSS).
 *
 * How: the maximum itself (`--max-semi-space-size`) is fixed when the process starts, so it can only be
 * given on node's command line or in NODE_OPTIONS. What V8 does read at run time is the factor it grows new
 * space by; after each garbage collection this sets it to 1 (no growth) once new space has reached the cap
 * and back to 2 (V8's default) below it, so new space still shrinks when idle and grows back to the cap.
 * Only the cli does this: it owns its process, an app that embeds conn owns its own.
 */
import { PerformanceObserver } from 'node:perf_hooks'
import v8 from 'node:v8'

/** Semi-space size the cap keeps to, MB (new space is two of them). */
export const SEMI_SPACE_MB = 4
const DEFAULT_GROWTH_FACTOR = 2

export interface YoungGenerationCap {
  /** Stops watching; the growth factor goes back to V8's default. */
  stop: () => void
}

/** Whether node was started with an explicit semi-space size (then the operator's choice stands). */
export function semiSpaceSizeGiven (execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const given = (arg: string): boolean => /^--(max|min)[-_]semi[-_]space[-_]size\b/.test(arg) || /^--semi[-_]space[-_]growth[-_]factor\b/.test(arg)
  return execArgv.some(given) || nodeOptions.split(/\s+/).some(given)
}

/** New space's current size, bytes. */
function newSpaceSize (): number {
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return space.space_size
  }
  return 0
}

/**
 * Keeps new space at or below two `semiSpaceMb` semi-spaces from now on; undefined (and nothing done) when
 * the semi-space size was given on the command line or in NODE_OPTIONS.
 */
export function capYoungGeneration (semiSpaceMb = SEMI_SPACE_MB): YoungGenerationCap | undefined {
  if (semiSpaceSizeGiven()) return undefined
  const cap = 2 * semiSpaceMb * 2 ** 20
  let factor = DEFAULT_GROWTH_FACTOR
  const setFactor = (next: number): void => {
    if (next === factor) return
    factor = next
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`)
  }
  const observer = new PerformanceObserver(() => {
    setFactor(newSpaceSize() >= cap ? 1 : DEFAULT_GROWTH_FACTOR)
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    stop: () => {
      observer.disconnect()
      setFactor(DEFAULT_GROWTH_FACTOR)
    }
  }
}
