/**
 * A Logger that records every call, so a test can say what was logged at which level. It records calls at
 * every level, even one `isLevelEnabled` reports off: a test can then check that the code under test asked
 * before logging per packet (the hot-path rule), which a logger that dropped them could not show.
 */
import type { Logger } from '@conn/types'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

const RANK: Record<LogLevel | 'silent', number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

export interface LogRecord {
  readonly level: LogLevel
  /** The object logged (pino's merging object); `{}` when the call began with the message. */
  readonly obj: Record<string, any>
  /** The message, if the call had one. */
  readonly msg: string | undefined
  /** Bindings of the `child()` loggers the call was made on, merged (`{}` on the root logger). */
  readonly bindings: Readonly<Record<string, unknown>>
}

export interface RecordingLoggerOptions {
  /** The lowest level `isLevelEnabled` reports on (default `trace`: all); `silent` for none. */
  level?: LogLevel | 'silent'
}

/** What a logger and all its children share. */
interface Shared {
  readonly records: LogRecord[]
  level: LogLevel | 'silent'
}

export class RecordingLogger implements Logger {
  private readonly shared: Shared
  readonly bindings: Readonly<Record<string, unknown>>

  readonly trace = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('trace', objOrMsg, rest) }
  readonly debug = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('debug', objOrMsg, rest) }
  readonly info = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('info', objOrMsg, rest) }
  readonly warn = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('warn', objOrMsg, rest) }
  readonly error = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('error', objOrMsg, rest) }
  readonly fatal = (objOrMsg: object | string, ...rest: unknown[]): void => { this.write('fatal', objOrMsg, rest) }

  constructor (options: RecordingLoggerOptions = {}, shared?: Shared, bindings: Record<string, unknown> = {}) {
    this.shared = shared ?? { records: [], level: options.level ?? 'trace' }
    this.bindings = bindings
  }

  /** Every call on this logger and on its children, oldest first. */
  get records (): readonly LogRecord[] { return this.shared.records }

  /** What `isLevelEnabled` reports on (shared with the children); change it at any time. */
  get level (): LogLevel | 'silent' { return this.shared.level }
  set level (level: LogLevel | 'silent') { this.shared.level = level }

  /** The records of one level, oldest first. */
  at (level: LogLevel): LogRecord[] {
    return this.shared.records.filter((record) => record.level === level)
  }

  /** Forgets every record (of this logger and its children). */
  clear (): void { this.shared.records.length = 0 }

  /** A logger that writes into the same records, with `bindings` added to those of this one. */
  child (bindings: Record<string, unknown>): RecordingLogger {
    return new RecordingLogger({}, this.shared, { ...this.bindings, ...bindings })
  }

  isLevelEnabled (level: string): boolean {
    const rank = RANK[level as LogLevel]
    return rank !== undefined && rank >= RANK[this.shared.level]
  }

  private write (level: LogLevel, objOrMsg: object | string, rest: unknown[]): void {
    const record: LogRecord = typeof objOrMsg === 'string'
      ? { level, obj: {}, msg: objOrMsg, bindings: this.bindings }
      : { level, obj: objOrMsg as Record<string, any>, msg: typeof rest[0] === 'string' ? rest[0] : undefined, bindings: this.bindings }
    this.shared.records.push(record)
  }
}
