/**
 * `conn --workers N`: N processes on one machine (node:cluster). The workers share the listening ports (the
 * primary accepts and hands each connection to a worker in turn, so BTP connections are spread over them) and
 * the Redis store, whose cluster delivers a Prepare to the worker that holds the next hop's connection. The
 * primary opens no port: it starts the workers, restarts one that dies, and on SIGTERM or SIGINT asks each to
 * shut down as it would alone.
 */
import cluster, { type Worker } from 'node:cluster'
import { storePackageName, type ConfigIssue } from '@conn/core'
import type { ConnectorConfig, Logger } from '@conn/types'

/** Which worker a process is (0..N-1), from the environment the primary gives it; undefined outside a worker. */
export const WORKER_INDEX_ENV = 'CONN_WORKER_INDEX'

export function workerIndex (): number | undefined {
  if (!cluster.isWorker) return undefined
  const index = Number(process.env[WORKER_INDEX_ENV])
  return Number.isSafeInteger(index) && index >= 0 ? index : 0
}

/**
 * In a worker: when the primary goes away without stopping it (killed with -9), node:cluster would make the worker
 * exit at once, dropping its packets in flight; instead the worker shuts down as on SIGTERM, answering them first.
 */
export function drainWhenOrphaned (): void {
  const worker = cluster.worker
  if (worker === undefined) return
  process.prependOnceListener('disconnect', () => {
    if (worker.exitedAfterDisconnect) return
    // node:cluster's own listener exits only after an unexpected disconnect: this one is now expected
    worker.exitedAfterDisconnect = true
    process.kill(process.pid, 'SIGTERM')
  })
}

/** The worker count of `CONNECTOR_WORKERS` (undefined when unset); throws naming the variable. */
export function workersFromEnv (env: NodeJS.ProcessEnv): number | undefined {
  const value = env.CONNECTOR_WORKERS
  if (value === undefined || value.trim() === '') return undefined
  return workerCount(value, 'CONNECTOR_WORKERS')
}

export function workerCount (value: string, name: string): number {
  const count = Number(value)
  if (!Number.isSafeInteger(count) || count < 1 || count > 256) throw new Error(`${name}: expected an integer 1..256, got ${JSON.stringify(value)}`)
  return count
}

/**
 * What makes a configuration unfit for several workers, named by option: a store each process keeps to itself,
 * or the redis store without its cluster (a worker could not reach the accounts connected to the others).
 */
export function workerIssues (config: ConnectorConfig, workers: number): ConfigIssue[] {
  const flag = `--workers ${workers}`
  const storePackage = storePackageName(config.store)
  if (storePackage === undefined) {
    return [{ path: 'store', message: `${flag} runs ${workers} processes, and the memory store is each process's own (balances would split between them): use a shared store, e.g. "redis" with storeConfig.cluster` }]
  }
  if (storePackage === '@conn/store-level') {
    return [{ path: 'store', message: `${flag} runs ${workers} processes, and the level store is a directory only one process can open: use a shared store, e.g. "redis" with storeConfig.cluster` }]
  }
  const storeConfig = config.storeConfig as { cluster?: unknown }
  if (storePackage === '@conn/store-redis' && (storeConfig.cluster === undefined || storeConfig.cluster === null || storeConfig.cluster === false)) {
    return [{ path: 'storeConfig.cluster', message: `${flag} spreads the BTP connections over the workers, so each must deliver to accounts connected to the others: set storeConfig.cluster { "secret": "<at least 16 characters>" }` }]
  }
  return []
}

/**
 * A worker's own configuration: the admin API on the first worker only (one answer per request, its own
 * metrics), and a fixed internal-link port (storeConfig.cluster.listen.port, and the port of `advertise`) moved
 * up by the worker's index, so each worker has its own. Port 0 (the default) gives each a free port anyway.
 */
export function workerConfig (config: ConnectorConfig, index: number): ConnectorConfig {
  const adjusted: ConnectorConfig = { ...config, adminApi: config.adminApi && index === 0 }
  const clusterOptions = (config.storeConfig as { cluster?: unknown }).cluster
  if (index === 0 || typeof clusterOptions !== 'object' || clusterOptions === null) return adjusted
  const options = { ...(clusterOptions as Record<string, unknown>) }
  const listen = options.listen as { port?: unknown } | undefined
  if (typeof listen === 'object' && listen !== null && typeof listen.port === 'number' && listen.port > 0) {
    options.listen = { ...listen, port: listen.port + index }
  }
  if (typeof options.advertise === 'string') {
    options.advertise = options.advertise.replace(/:([0-9]+)$/, (_all, port: string) => ':' + String(Number(port) + index))
  }
  adjusted.storeConfig = { ...config.storeConfig, cluster: options }
  return adjusted
}

export interface SupervisorOptions {
  workers: number
  logger: Logger
  /** A worker that exits this soon (ms) after it started, or before it is ready, failed at once (default 5000). */
  quickExit?: number
  /** After this many failures in a row that were immediate, a worker is not started again (default 5). */
  maxQuickFailures?: number
  /** First restart delay (ms), doubled after each immediate failure in a row (default 100, at most 10 s). */
  restartDelay?: number
}

interface Slot {
  index: number
  worker: Worker | undefined
  startedAt: number
  ready: boolean
  /** Immediate failures in a row. */
  failures: number
  timer: NodeJS.Timeout | undefined
  gaveUp: boolean
}

const MAX_RESTART_DELAY = 10_000

/**
 * Runs in the primary: starts the workers, restarts one that dies (after a back-off; given up after repeated
 * immediate failures), forwards SIGHUP, and on the first SIGTERM or SIGINT sends SIGTERM to every worker and
 * resolves with 0 once all have exited cleanly (1 if one did not, or if every worker was given up). A second
 * signal kills them (SIGKILL). A worker ignores SIGINT (Ctrl-C reaches the whole group) and a second SIGTERM.
 */
export async function superviseWorkers (options: SupervisorOptions): Promise<number> {
  const { workers, logger } = options
  const quickExit = options.quickExit ?? 5000
  const maxQuickFailures = options.maxQuickFailures ?? 5
  const restartDelay = options.restartDelay ?? 100
  const slots: Slot[] = Array.from({ length: workers }, (_, index) =>
    ({ index, worker: undefined, startedAt: 0, ready: false, failures: 0, timer: undefined, gaveUp: false }))
  let stopping = false
  let failed = false

  return await new Promise<number>((resolveExit) => {
    const finishIfDone = (): void => {
      if (slots.some((slot) => slot.worker !== undefined)) return
      if (!stopping && slots.some((slot) => !slot.gaveUp)) return
      process.off('SIGTERM', onStop)
      process.off('SIGINT', onStop)
      process.off('SIGHUP', onHangup)
      if (!stopping) logger.error('every worker was given up: exiting')
      resolveExit(failed || !stopping ? 1 : 0)
    }

    const start = (slot: Slot): void => {
      slot.timer = undefined
      slot.ready = false
      slot.startedAt = Date.now()
      const worker = slot.worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index) })
      worker.on('message', (message: unknown) => {
        if ((message as { conn?: unknown } | null)?.conn !== 'ready') return
        slot.ready = true
        logger.info({ worker: slot.index, workerPid: worker.process.pid }, 'worker ready')
        if (slots.every((s) => s.ready)) logger.info({ workers }, 'all workers ready')
      })
      worker.on('exit', (code, signal) => {
        slot.worker = undefined
        const lived = Date.now() - slot.startedAt
        if (stopping) {
          if (code !== 0) failed = true
          logger.info({ worker: slot.index, code, signal }, 'worker stopped')
          finishIfDone()
          return
        }
        const immediate = !slot.ready || lived < quickExit
        slot.failures = immediate ? slot.failures + 1 : 0
        if (slot.failures >= maxQuickFailures) {
          slot.gaveUp = true
          logger.error({ worker: slot.index, code, signal, failures: slot.failures }, 'worker failed right after starting, again and again: not restarting it')
          finishIfDone()
          return
        }
        const delay = Math.min(restartDelay * 2 ** Math.max(0, slot.failures - 1), MAX_RESTART_DELAY)
        logger.warn({ worker: slot.index, code, signal, lived, restartIn: delay }, 'worker died: restarting it')
        slot.timer = setTimeout(() => { start(slot) }, delay)
      })
    }

    const onStop = (signal: NodeJS.Signals): void => {
      const again = stopping
      if (again) {
        failed = true
        logger.warn({ signal }, `${signal} again: killing the workers`)
      } else {
        logger.info({ signal }, 'shutting down the workers')
      }
      stopping = true
      for (const slot of slots) {
        clearTimeout(slot.timer)
        slot.timer = undefined
        slot.worker?.process.kill(again ? 'SIGKILL' : 'SIGTERM')
      }
      finishIfDone()
    }
    const onHangup = (): void => {
      for (const slot of slots) slot.worker?.process.kill('SIGHUP')
    }
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
    process.on('SIGHUP', onHangup)
    logger.info({ workers }, 'starting workers')
    for (const slot of slots) start(slot)
  })
}
