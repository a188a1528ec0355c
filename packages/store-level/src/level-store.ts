/**
 * The connector's store in a LevelDB directory (through `level`), so plugin state and balances outlive the
 * process. Only strings: core keeps balances over get/put (StoreBalances), loading each committed balance once
 * and writing it through on every change. That is safe because a LevelDB directory is locked by the one
 * process that opened it, so no second writer can interleave; this store therefore has no atomic balance
 * methods of its own.
 *
 * Each put reaches the operating system before it resolves (LevelDB appends it to its log with write(2)), so a
 * killed process loses nothing it acknowledged; `sync: true` adds an fsync per write for power loss.
 */
import { resolve } from 'node:path'
import { Level } from 'level'
import { OperatorError, type Logger, type Store } from '@conn/types'

export type LevelStoreErrorCode = 'ERR_STORE_CONFIG' | 'ERR_STORE_LOCKED' | 'ERR_STORE_NOT_WRITABLE' | 'ERR_STORE_OPEN'

/** Operator-facing: the store is misconfigured or its directory cannot be opened. */
export class LevelStoreError extends OperatorError {
  declare readonly code: LevelStoreErrorCode
  constructor (code: LevelStoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

export interface LevelStoreOptions {
  /** The database directory (`storePath`, or `storeConfig.path`); created if missing. */
  path?: string
  /** fsync every write (default false: each write reaches the OS, which survives a crash but not power loss). */
  sync?: boolean
  [option: string]: unknown
}

const KNOWN_OPTIONS = new Set(['path', 'sync'])

/** errno codes of a path that cannot be created or written. */
const NOT_WRITABLE_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST'])
/** The same failures as LevelDB reports them (an IO error whose text is strerror). */
const NOT_WRITABLE_TEXT = /Permission denied|Operation not permitted|Read-only file system|Not a directory/

const PATH_HINT = 'storePath (CONNECTOR_STORE_PATH)'

export class LevelStore implements Store {
  /** The absolute path of the database directory. */
  readonly path: string
  readonly sync: boolean
  private readonly logger: Logger | undefined
  /** Options of every put and del (one object, made once). */
  private readonly writeOptions: { readonly sync: boolean }
  /** Made in open() (a Level opens itself as soon as it is constructed); a new one after close() and open(). */
  private db: Level<string, string> | undefined

  /** Throws LevelStoreError ERR_STORE_CONFIG for a missing path or an option of the wrong type. */
  constructor (options: LevelStoreOptions, logger?: Logger) {
    const { path, sync = false } = options
    if (path === undefined || path === '') {
      throw new LevelStoreError('ERR_STORE_CONFIG',
        `${PATH_HINT}: required for the leveldown store: set it to the directory that keeps the connector's data (created if missing)`)
    }
    if (typeof path !== 'string') {
      throw new LevelStoreError('ERR_STORE_CONFIG', `${PATH_HINT}: expected a directory path (string), got ${describe(path)}`)
    }
    if (typeof sync !== 'boolean') {
      throw new LevelStoreError('ERR_STORE_CONFIG', `storeConfig.sync: expected true or false, got ${describe(sync)}`)
    }
    this.path = resolve(path)
    this.sync = sync
    this.logger = logger
    this.writeOptions = { sync }
    const ignored = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key))
    if (ignored.length > 0) {
      logger?.warn({ options: ignored }, `storeConfig: ${ignored.join(', ')} ${ignored.length === 1 ? 'is not an option' : 'are not options'} of the leveldown store (ignored)`)
    }
  }

  /**
   * Opens (and if needed creates) the directory. Throws LevelStoreError: ERR_STORE_LOCKED when another
   * process has it open, ERR_STORE_NOT_WRITABLE when it cannot be created or written, ERR_STORE_OPEN otherwise.
   */
  async open (): Promise<void> {
    if (this.db !== undefined && this.db.status !== 'closed') throw new Error(`the leveldown store at ${this.path} is already open`)
    const db = new Level<string, string>(this.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    this.db = db
    try {
      await db.open()
    } catch (err) {
      throw openError(this.path, err)
    }
    this.logger?.info({ path: this.path, sync: this.sync }, 'leveldown store opened')
  }

  async get (key: string): Promise<string | undefined> {
    return await this.database().get(key)
  }

  async put (key: string, value: string): Promise<void> {
    await this.database().put(key, value, this.writeOptions)
  }

  async del (key: string): Promise<void> {
    await this.database().del(key, this.writeOptions)
  }

  /** Closes the directory (and releases its lock); safe after a failed open and when never opened. */
  async close (): Promise<void> {
    const db = this.db
    if (db === undefined || db.status === 'closed') return
    await db.close()
  }

  private database (): Level<string, string> {
    const db = this.db
    if (db === undefined) throw new Error(`the leveldown store at ${this.path} is not open: call open() first`)
    return db
  }
}

/** The LevelStoreError for a failed open, from the cause level gives (LEVEL_DATABASE_NOT_OPEN wraps it). */
function openError (path: string, err: unknown): LevelStoreError {
  const cause = ((err as { cause?: unknown }).cause ?? err) as { code?: unknown, message?: unknown }
  const code = typeof cause.code === 'string' ? cause.code : ''
  const detail = typeof cause.message === 'string' ? cause.message : String(cause)
  const options = { cause: err }
  if (code === 'LEVEL_LOCKED') {
    return new LevelStoreError('ERR_STORE_LOCKED',
      `${PATH_HINT}: the leveldown store at ${path} is locked by another process (another conn running on it?): ` +
      `stop that process, or give this one another directory (${detail})`, options)
  }
  if (NOT_WRITABLE_CODES.has(code) || NOT_WRITABLE_TEXT.test(detail)) {
    const why = code === 'ENOTDIR' || code === 'EEXIST' || /Not a directory/.test(detail)
      ? 'the path or one of its parents is a file, not a directory'
      : 'permission denied or read-only file system'
    return new LevelStoreError('ERR_STORE_NOT_WRITABLE',
      `${PATH_HINT}: cannot create or write the leveldown store at ${path}: ${why}: ` +
      `use a directory this process can create and write (${detail})`, options)
  }
  const hint = code === 'LEVEL_CORRUPTION'
    ? 'the directory is damaged or is not a LevelDB database: move it aside, or repair it (ClassicLevel.repair from classic-level), then restart'
    : 'check that the path is a LevelDB directory of this conn and that the disk is not full'
  return new LevelStoreError('ERR_STORE_OPEN', `${PATH_HINT}: cannot open the leveldown store at ${path}: ${hint} (${detail})`, options)
}

function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`
}
