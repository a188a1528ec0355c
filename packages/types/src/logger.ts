/** The subset of pino's logger that conn packages use; a pino logger satisfies it. */
export interface LogFn {
  (obj: object, msg?: string, ...args: unknown[]): void
  (msg: string, ...args: unknown[]): void
}

export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  fatal: LogFn
  child (bindings: Record<string, unknown>): Logger
  isLevelEnabled (level: string): boolean
}
