/** Command-line flags. Everything else is configured with `CONNECTOR_*` variables, as in the reference. */
import { parseArgs as parseNodeArgs } from 'node:util'
import { workerCount } from './workers.ts'

export interface CliArgs {
  help: boolean
  /** With --help: every option, not only the common ones. */
  all: boolean
  version: boolean
  /** JSON config file; `CONNECTOR_*` variables override its options one by one. */
  config?: string
  /** Port of the embedded default's BTP server (only without any configuration). */
  port?: number
  logLevel?: string
  /** `json` or `pretty`; unset: readable on a terminal, JSON otherwise. */
  logFormat?: string
  /** Reload the configuration when the --config file changes. */
  watch?: boolean
  /** Worker processes sharing the ports and the store (see workers.ts); undefined: CONNECTOR_WORKERS, else one. */
  workers?: number
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function parseArgs (argv: string[]): CliArgs {
  const { values } = parseNodeArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      all: { type: 'boolean' },
      version: { type: 'boolean', short: 'v' },
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
      workers: { type: 'string' }
    }
  })
  let port: number | undefined
  if (values.port !== undefined) {
    port = Number(values.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected an integer 0..65535, got ${JSON.stringify(values.port)}`)
  }
  const logLevel = values['log-level']
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw new Error(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  }
  const logFormat = values['log-format']
  if (logFormat !== undefined && !['json', 'pretty'].includes(logFormat)) {
    throw new Error(`--log-format: expected json or pretty, got ${JSON.stringify(logFormat)}`)
  }
  if (values.watch === true && values.config === undefined) throw new Error('--watch: watches the --config file; give one')
  const workers = values.workers === undefined ? undefined : workerCount(values.workers, '--workers')
  return { help: values.help ?? false, all: values.all ?? false, version: values.version ?? false, config: values.config, port, logLevel, logFormat, watch: values.watch ?? false, workers }
}

export const HELP = `conn - an Interledger connector, configured like ilp-connector v23

Usage: conn [--config <file.json> [--watch]] [--workers <n>] [--log-level <level>]
       conn                      (no configuration at all: the embedded default)
       conn check [--config <file.json>]     check the configuration and its packages; start nothing
       conn status|routes [--admin-url <url>] [--json]   ask a running conn's admin API (see conn status -h)

Options:
  -c, --config <file>   JSON file with connector options; CONNECTOR_* variables override it option by option.
                        Plugin and middleware package names resolve from the file's folder first.
  -p, --port <port>     BTP port of the embedded default (default 7768); ignored when configured.
  -w, --watch           reload the configuration when the --config file changes (as on SIGHUP).
      --workers <n>     n processes sharing the listening ports and the store (or CONNECTOR_WORKERS; default 1).
                        Needs a shared store: "redis" with storeConfig.cluster. A worker that dies is restarted.
      --log-level <l>   fatal, error, warn, info (default), debug, trace or silent; or set LOG_LEVEL.
      --log-format <f>  pretty (readable, the default on a terminal) or json (the default otherwise); or LOG_FORMAT.
  -h, --help            this text; with --all, every CONNECTOR_* option with its default
  -v, --version         conn's version

Configuration (the reference connector's names; objects and arrays as JSON):
  CONNECTOR_ACCOUNTS            accounts, e.g. '{"alice":{"relation":"child","plugin":"ilp-plugin-btp",
                                "assetCode":"USD","assetScale":9,"options":{"listener":{"port":7770,"secret":"s"}}}}'
  CONNECTOR_ILP_ADDRESS         our address (default: learned from the first parent over ILDCP)
  CONNECTOR_ENV                 test (default) or production
  CONNECTOR_BACKEND             one-to-one, ecb, ... or a package name
  CONNECTOR_SPREAD              default 0.002
  CONNECTOR_STORE               memory (default), level, or a package name
  CONNECTOR_STORE_PATH          where the level store keeps balances (a path alone selects the level store)
  CONNECTOR_ROUTES              static routes, '[{"targetPrefix":"test.x","peerId":"bob"}]'
  CONNECTOR_DEFAULT_ROUTE       auto (first parent, default), '' (none) or an account id
  CONNECTOR_MIN_MESSAGE_WINDOW  ms taken off each packet's expiry (default 1000)
  CONNECTOR_MAX_HOLD_TIME       longest outgoing expiry in ms (default 30000)
  CONNECTOR_DISABLE_MIDDLEWARE  e.g. '["echo"]'
  CONNECTOR_MIDDLEWARES         custom middlewares by package name, '{"name":{"type":"pkg","options":{}}}'
  CONNECTOR_ADMIN_API           true: admin API, /metrics and /health/* on 127.0.0.1:7780
  CONNECTOR_WORKERS             worker processes, as --workers (default 1)
  CONNECTOR_LEGACY_PLUGINS      accounts (or "ilp-plugin-btp", "ilp-plugin-mini-accounts") that run the named
                                package instead of conn's wire-compatible BTP transport, e.g. '["alice"]'
  ...and every other CONNECTOR_* option of ilp-connector: conn --help --all lists them all.

Accounts naming ilp-plugin-btp or ilp-plugin-mini-accounts run conn's own BTP transport, with the same options.
With no configuration at all, conn starts at test.conn with a memory store, the one-to-one backend and a BTP
server for many users (@conn/plugin-btp/mini-accounts) on 127.0.0.1:7768 that local clients can join.
SIGINT or SIGTERM shuts down cleanly (exit 0); a second one exits at once (exit 1).
SIGHUP reloads the configuration: accounts added, removed (after their packets in flight) or changed, static
routes replaced, without a restart; a configuration with any problem is refused whole and the running one stays.
`
