/**
 * The root logger: JSON lines for machines (log collectors, pipes), readable lines for a person at a terminal.
 * The only module that imports pino-pretty.
 */
import { pino } from 'pino'
import pretty from 'pino-pretty'
import type { Logger } from '@conn/types'

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** `--log-format`, else `LOG_FORMAT`, else readable on a terminal and JSON anywhere else. */
export function chooseLogFormat (flag: string | undefined, variable: string | undefined, isTerminal: boolean): LogFormat {
  const chosen = flag ?? (variable === '' ? undefined : variable)
  if (chosen === undefined) return isTerminal ? 'pretty' : 'json'
  if (!(LOG_FORMATS as readonly string[]).includes(chosen)) {
    throw new Error(`LOG_FORMAT: expected ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(chosen)}`)
  }
  return chosen as LogFormat
}

export function rootLogger (level: string, format: LogFormat, colour = false): Logger {
  const options = {
    name: 'conn',
    level,
    redact: { paths: ['*.secret', '*.token', '*.options', 'options.*.secret', 'accounts.*.options'], censor: '[redacted]' }
  }
  return (format === 'json' ? pino(options) : pino(options, readableStream(colour))) as unknown as Logger
}

/**
 * One line per record: time, level, `[component]` (or middleware), message, then the other fields as JSON.
 * A stream in this thread, not a worker transport: written synchronously, so nothing is lost when the process
 * exits right after shutdown.
 */
function readableStream (colour: boolean): pretty.PrettyStream {
  return pretty({
    colorize: colour,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,component,middleware',
    messageFormat: '{if component}[{component}] {end}{if middleware}[{middleware}] {end}{msg}'
  })
}
