/**
 * What the benchmarks on Redis (bench:redis, bench:cluster, bench:workers) share: their settings from the
 * environment, Redis's own CPU time, and how figures are printed.
 */
import type { Redis } from 'ioredis'

export { median } from './report.ts'

export const quick = process.env.BENCH_QUICK === '1'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Rounds, warm-up and measured time (ms), packets in flight: BENCH_* or the defaults (shorter with BENCH_QUICK=1). */
export const roundSettings = {
  rounds: Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3)),
  warmup: Number(process.env.BENCH_WARMUP ?? (quick ? 500 : 1500)),
  duration: Number(process.env.BENCH_DURATION ?? (quick ? 1000 : 5000)),
  inFlight: Number(process.env.BENCH_IN_FLIGHT ?? 100)
}

/** Redis's own CPU time so far (user + system), µs, from INFO cpu. */
export async function redisCpuMicros (redis: Redis): Promise<number> {
  const info = await redis.info('cpu')
  const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}

/** A figure with thousands separators, '-' for none. */
export const fixed = (n: number, digits = 0): string => Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
