/** A pino logger whose lines the test can read. */
import { pino } from 'pino'
import type { Logger } from '@conn/types'

export interface CapturedLogger {
  logger: Logger
  lines: Array<Record<string, unknown> & { level: number, msg: string }>
  /** Messages logged at warn (40) or above. */
  warnings: () => string[]
}

export function captureLogger (level = 'debug'): CapturedLogger {
  const lines: CapturedLogger['lines'] = []
  const logger = pino({ level }, { write: (line: string) => { lines.push(JSON.parse(line)) } }) as unknown as Logger
  return { logger, lines, warnings: () => lines.filter((l) => l.level >= 40).map((l) => l.msg) }
}

export const silentLogger = pino({ level: 'silent' }) as unknown as Logger
