/**
 * The `conn` command: configuration from `CONNECTOR_*` variables (and optionally a JSON file), checked in
 * full before anything opens a port, then the connector from @conn/core until SIGINT or SIGTERM.
 */
import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ConfigError, checkAccountOptions, createApp, envName, importByName, middlewareManifests, readEnv, resolvePackage, validateEnvConfig,
  type ConfigIssue, type Connector
} from '@conn/core'
import { isOperatorError, type AccountConfig, type ConnectorConfig, type Logger } from '@conn/types'
import { parseArgs, HELP, type CliArgs } from './args.ts'
import { optionTable } from './option-table.ts'
import { DEFAULT_ACCOUNT, embeddedDefault } from './defaults.ts'
import { aliasedPackages, installName } from './packages.ts'
import { chooseLogFormat, rootLogger } from './logger.ts'
import { ConfigReloader, type ConfigSource } from './reload.ts'
import { drainWhenOrphaned, superviseWorkers, workerConfig, workerIndex, workerIssues, workersFromEnv } from './workers.ts'

/** This package's folder: the packages the cli ships with (plugins, middlewares) resolve from here. */
export const CLI_DIR = fileURLToPath(new URL('..', import.meta.url))

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  /** Where plain-text messages (config errors, the connect banner) go; default stderr. */
  print?: (line: string) => void
  logger?: Logger
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean
}

export interface Started {
  app: Connector
  /** Resolves with the exit code once the connector has shut down after a signal. */
  exited: Promise<number>
}

/** Parses, checks and starts. Resolves with an exit code when it must not keep running. */
export async function run (argv: string[], options: RunOptions = {}): Promise<number | Started> {
  const { CONNECTOR_WORKERS: workersVariable, ...env } = options.env ?? process.env
  const print = options.print ?? ((line: string) => process.stderr.write(line + '\n'))
  let args: CliArgs
  try {
    args = parseArgs(argv)
  } catch (err) {
    print(`conn: ${(err as Error).message}`)
    print('Try `conn --help`.')
    return 2
  }
  if (args.help) { process.stdout.write(args.all ? HELP + optionTable() : HELP); return 0 }
  if (args.version) { process.stdout.write(await version() + '\n'); return 0 }

  let workers: number | undefined
  try {
    workers = args.workers ?? workersFromEnv({ CONNECTOR_WORKERS: workersVariable })
  } catch (err) {
    return printConfigErrors(print, [{ path: 'CONNECTOR_WORKERS', message: (err as Error).message.replace(/^CONNECTOR_WORKERS: /, '') }])
  }
  const worker = workerIndex()
  let logger: Logger
  try {
    logger = options.logger ?? consoleLogger(args, env, worker)
  } catch (err) {
    print(`conn: ${(err as Error).message}`)
    return 2
  }
  const loaded = await loadConfig(args, env, worker)
  if ('issues' in loaded) return printConfigErrors(print, loaded.issues)
  for (const name of loaded.unknownEnv) logger.warn({ variable: name }, `unrecognized environment variable ${name} (ignored)`)

  const resolveFrom = [loaded.baseDir, CLI_DIR]
  const missing = missingPackages(loaded.config, resolveFrom)
  if (missing.length > 0) return printConfigErrors(print, missing)
  if (worker === undefined && workers !== undefined && workers > 1) {
    // the primary: checks that the workers can share what they must, then only supervises them
    const issues = workerIssues(loaded.config, workers)
    if (issues.length > 0) return printConfigErrors(print, issues)
    return await superviseWorkers({ workers, logger })
  }

  const app = createApp(loaded.config, { logger, resolveFrom })
  try {
    await app.listen()
  } catch (err) {
    // Options a plugin refuses are found when it is created, still before any port opens.
    if (err instanceof ConfigError) return printConfigErrors(print, err.issues)
    // Operator errors (packages, stores, rates) are said in their message; anything else is a bug.
    print(`conn: start-up failed: ${isOperatorError(err) ? err.message : String((err as Error).stack ?? err)}`)
    return 1
  }
  // the primary counts a worker as started (for its crash-loop check) once it says so
  if (worker !== undefined) process.send?.({ conn: 'ready' })
  if (options.handleSignals === false) {
    if (loaded.embedded) printBanner(print, loaded.config)
    return { app, exited: new Promise(() => {}) }
  }
  const stopReloading = loaded.embedded ? () => {} : reloadOn(args, new ConfigReloader(app, loaded.config, async () => await readForReload(args, env, worker), logger), logger)
  // A worker stops when the primary says so (SIGTERM); Ctrl-C reaches the whole process group, and the primary
  // turns it into one SIGTERM per worker (a second signal would make a worker exit at once).
  if (worker !== undefined) {
    process.on('SIGINT', () => {})
    drainWhenOrphaned()
  }
  const exited = untilSignal(app, logger, print, worker !== undefined).finally(stopReloading)
  // after the handlers: whoever reads the banner as "started" may signal at once
  if (loaded.embedded) printBanner(print, loaded.config)
  return { app, exited }
}

/** Entry point of the bin: runs, and exits when the connector has stopped. */
export async function main (argv = process.argv.slice(2)): Promise<number> {
  const result = await run(argv)
  return typeof result === 'number' ? result : await result.exited
}

export interface LoadedConfig {
  config: ConnectorConfig
  /** Folder that package names resolve from first: the config file's, else the working directory. */
  baseDir: string
  embedded: boolean
  unknownEnv: string[]
}

/** The file (if any), overridden option by option by the environment; the embedded default if neither exists. */
export async function loadConfig (args: CliArgs, env: NodeJS.ProcessEnv, worker?: number): Promise<LoadedConfig | { issues: ConfigIssue[], raw: Record<string, unknown> }> {
  const fromEnv = readEnv(env)
  const issues: ConfigIssue[] = []
  let fromFile: Record<string, unknown> = {}
  let baseDir = process.cwd()
  if (args.config !== undefined) {
    const path = resolve(args.config)
    baseDir = dirname(path)
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        issues.push({ path: args.config, message: 'expected a JSON object' })
      } else {
        fromFile = parsed as Record<string, unknown>
      }
    } catch (err) {
      issues.push({ path: args.config, message: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read config file (${(err as Error).message})` })
    }
  }
  const embedded = args.config === undefined && Object.keys(fromEnv.config).length === 0 && fromEnv.issues.length === 0
  const raw = embedded ? embeddedDefault(args.port) : { ...fromFile, ...fromEnv.config }
  const result = validateEnvConfig(raw, fromEnv, `set ${envName('accounts')} (JSON, '{}' for none) or "accounts" in the config file; ` +
    'with no configuration at all conn starts its embedded default')
  issues.push(...result.issues)
  // the middlewares' account options too, so every problem is listed in one round
  const optionIssues = await accountOptionIssues(raw, [baseDir, CLI_DIR], 'accounts' in fromEnv.config)
  const lastAccountIssue = issues.findLastIndex((issue) => issue.path.startsWith('accounts'))
  issues.splice(lastAccountIssue < 0 ? issues.length : lastAccountIssue + 1, 0, ...optionIssues)
  if (result.config === undefined || issues.length > 0) return { issues, raw }
  const config = worker === undefined ? result.config : workerConfig(result.config, worker)
  return { config, baseDir, embedded, unknownEnv: fromEnv.unknown }
}

/** The account options the configured middlewares' manifests refuse (or none declares), as config issues. */
async function accountOptionIssues (raw: Record<string, unknown>, resolveFrom: string[], fromEnv: boolean): Promise<ConfigIssue[]> {
  const accounts = raw.accounts
  if (accounts === null || typeof accounts !== 'object' || Array.isArray(accounts)) return []
  const manifests = await middlewareManifests(raw as Partial<ConnectorConfig> as ConnectorConfig, async (name) => await importByName(name, resolveFrom), NO_REFERENCE_HOST)
  return checkAccountOptions(accounts as Record<string, AccountConfig>, manifests).issues
    .map((issue) => fromEnv ? { ...issue, path: `${issue.path} (${envName('accounts')})` } : issue)
}

/** Manifests are only read here, never created, so extensions written for ilp-connector need nothing from a host. */
const NO_REFERENCE_HOST = {
  getAccounts: () => [],
  getOwnAddress: () => 'unknown',
  middlewareNames: () => [],
  outgoingData: async (): Promise<Buffer> => { throw new Error('not started') }
}

/** Every package the configuration names that cannot be found, as config issues (checked before any port opens). */
function missingPackages (config: ConnectorConfig, resolveFrom: string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  for (const { path, packageName, label } of aliasedPackages(config)) {
    if (resolvePackage(packageName, resolveFrom) === undefined) {
      issues.push({ path, message: `${label}package "${packageName}" is not installed; install it next to your config: npm i ${installName(packageName)}` })
    }
  }
  return issues
}

/** Every configuration problem, one line each; the exit code 1. */
function printConfigErrors (print: (line: string) => void, issues: ConfigIssue[]): number {
  for (const issue of issues) print(`conn: config error: ${issue.path}: ${issue.message}`)
  print(`conn: ${issues.length} configuration error${issues.length === 1 ? '' : 's'}; nothing was started.`)
  return 1
}

/** The root logger for this process's stdout, in the format asked for or suited to it (a worker's records say which). */
function consoleLogger (args: CliArgs, env: NodeJS.ProcessEnv, worker: number | undefined): Logger {
  const terminal = process.stdout.isTTY === true
  const format = chooseLogFormat(args.logFormat, env.LOG_FORMAT, terminal)
  const logger = rootLogger(args.logLevel ?? env.LOG_LEVEL ?? 'info', format, terminal && env.NO_COLOR === undefined)
  return worker === undefined ? logger : logger.child({ worker })
}

function printBanner (print: (line: string) => void, config: ConnectorConfig): void {
  const account = config.accounts[DEFAULT_ACCOUNT]
  const port = (account?.options?.wsOpts as { port?: number } | undefined)?.port
  print('')
  print(`conn is running at ${config.ilpAddress} with no configuration: the embedded default.`)
  print(`Local BTP clients join at btp+ws://<name>:<secret>@127.0.0.1:${String(port)}`)
  print(`  e.g. new BtpPlugin({ server: 'btp+ws://alice:s3cret@127.0.0.1:${String(port)}' }) gets ${config.ilpAddress}.${DEFAULT_ACCOUNT}.alice`)
  print('Configure it with CONNECTOR_* variables or --config <file>; see conn --help. Stop with Ctrl-C.')
  print('')
}

/** The configuration as a reload reads it: the file and the environment, checked as at start. */
async function readForReload (args: CliArgs, env: NodeJS.ProcessEnv, worker: number | undefined): ReturnType<ConfigSource> {
  const loaded = await loadConfig(args, env, worker)
  if ('issues' in loaded) return { problems: loaded.issues }
  const missing = missingPackages(loaded.config, [loaded.baseDir, CLI_DIR])
  return missing.length > 0 ? { problems: missing } : { config: loaded.config }
}

/** Reloads on SIGHUP, and on a change of the --config file with --watch; returns what stops it. */
function reloadOn (args: CliArgs, reloader: ConfigReloader, logger: Logger): () => void {
  const onHangup = (): void => {
    logger.info('SIGHUP: reloading the configuration')
    void reloader.reload()
  }
  process.on('SIGHUP', onHangup)
  let watcher: FSWatcher | undefined
  if (args.watch === true && args.config !== undefined) {
    const file = resolve(args.config)
    let timer: NodeJS.Timeout | undefined
    // the folder, not the file: editors often write a new file and rename it over the old one
    watcher = watch(dirname(file), (_event, name) => {
      if (name !== basename(file)) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        logger.info({ file }, 'configuration file changed: reloading')
        void reloader.reload()
      }, 100)
    })
  }
  return () => {
    process.off('SIGHUP', onHangup)
    watcher?.close()
  }
}

/** Shuts down cleanly on the first SIGINT/SIGTERM (exit 0, or 1 if shutdown fails); a second one exits 1 at once. */
function untilSignal (app: Connector, logger: Logger, print: (line: string) => void, workerMode: boolean): Promise<number> {
  const signals: NodeJS.Signals[] = workerMode ? ['SIGTERM'] : ['SIGINT', 'SIGTERM']
  return new Promise((resolveExit) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals): void => {
      // a worker may get the same signal twice (from the primary, and as one of the group, e.g. from systemd):
      // only the primary's second signal hurries it, by SIGKILL
      if (stopping && workerMode) return
      if (stopping) {
        print(`conn: ${signal} again, exiting now`)
        process.exit(1)
      }
      stopping = true
      logger.info({ signal }, 'shutting down')
      app.shutdown().then(() => {
        for (const signal of signals) process.off(signal, onSignal)
        resolveExit(0)
      }, (err: Error) => {
        logger.error({ err }, 'shutdown failed')
        resolveExit(1)
      })
    }
    for (const signal of signals) process.on(signal, onSignal)
  })
}

async function version (): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
