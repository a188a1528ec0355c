/**
 * `conn routes` and `conn status`: what the admin API of a running conn says, as tables for a terminal
 * (`--json` for the API's own answers).
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { readEnv } from '@conn/core'
import { AdminApiClient, AdminApiError, adminUrlOf } from './admin-client.ts'
import { table } from './table.ts'

type Print = (line: string) => void

const USAGE = (command: string, what: string): string => `Usage: conn ${command} [--admin-url <url>] [--config <file.json>] [--json]

Prints ${what} from the admin API of a running conn.
  --admin-url <url>   the admin API, e.g. http://127.0.0.1:7780; default: adminApiHost and adminApiPort of
                      --config and the CONNECTOR_* variables (127.0.0.1:7780 when unset)
  -c, --config <file> the running conn's config file, to find its admin API and token
      --json          the admin API's JSON as it is
The token comes from CONNECTOR_ADMIN_API_TOKEN, else adminApiToken in --config.
`

interface AccountsAnswer {
  address: string
  accounts: Record<string, { info: { relation?: string, assetCode?: string, assetScale?: number, plugin?: string }, connected: boolean }>
}
interface BalanceAnswer { accounts?: Record<string, { balance: string, minimum: string, maximum: string }> }
interface ReadyAnswer { ready: boolean, state: string, notConnected: string[] }
interface RoutingAnswer {
  routingTableId: string | null
  currentEpoch: number
  localRoutingTable: Record<string, { nextHop: string, path: string }>
  peers?: Record<string, unknown>
}

export async function status (argv: string[], env: NodeJS.ProcessEnv = process.env, print: Print = stdout): Promise<number> {
  return await withClient('status', 'the accounts (relation, asset, connection, balance and its limits) and health', argv, env, print, async (client, json) => {
    const [health, accounts, balances] = await Promise.all([
      client.get<ReadyAnswer>('/health/ready', [503]),
      client.get<AccountsAnswer>('/accounts'),
      client.get<BalanceAnswer>('/balance')
    ])
    if (json) { print(JSON.stringify({ health, ...accounts, balances: balances.accounts ?? {} }, null, 2)); return }
    const ids = Object.keys(accounts.accounts).sort()
    const down = health.notConnected.length === 0 ? 'all connected' : `not connected: ${health.notConnected.join(', ')}`
    print(`conn at ${accounts.address}: ${health.ready ? 'ready' : 'NOT ready'} (${health.state}); ${ids.length} account${ids.length === 1 ? '' : 's'}, ${down}`)
    print('')
    print(table(['ACCOUNT', 'RELATION', 'ASSET', 'PLUGIN', 'CONNECTED', 'BALANCE', 'MINIMUM', 'MAXIMUM'], ids.map((id) => {
      const { info, connected } = accounts.accounts[id]!
      const balance = balances.accounts?.[id]
      return [
        id, info.relation ?? '', `${info.assetCode ?? '?'} (scale ${String(info.assetScale ?? '?')})`, info.plugin ?? '',
        connected ? 'yes' : 'NO', balance?.balance ?? '-', balance?.minimum ?? '-', balance?.maximum ?? '-'
      ]
    })))
  })
}

export async function routes (argv: string[], env: NodeJS.ProcessEnv = process.env, print: Print = stdout): Promise<number> {
  return await withClient('routes', 'the routing table (prefix, next hop, path)', argv, env, print, async (client, json) => {
    const routing = await client.get<RoutingAnswer>('/routing')
    if (json) { print(JSON.stringify(routing, null, 2)); return }
    const prefixes = Object.keys(routing.localRoutingTable).sort()
    const peers = Object.keys(routing.peers ?? {})
    print(routing.routingTableId === null
      ? `${prefixes.length} route${prefixes.length === 1 ? '' : 's'}; route exchange (CCP) off`
      : `${prefixes.length} route${prefixes.length === 1 ? '' : 's'}; route exchange: table ${routing.routingTableId}, epoch ${routing.currentEpoch}, ` +
        `peers: ${peers.length === 0 ? 'none' : peers.join(', ')}`)
    print('')
    print(table(['PREFIX', 'NEXT HOP', 'PATH'], prefixes.map((prefix) => {
      const route = routing.localRoutingTable[prefix]!
      return [prefix, route.nextHop === '' ? '(this conn)' : route.nextHop, route.path === '' ? '(local)' : route.path]
    })))
  })
}

/** Parses the common flags, finds the admin API and its token, and runs `body`; exit 0, 1 when the API fails, 2 on bad usage. */
async function withClient (
  command: string, what: string, argv: string[], env: NodeJS.ProcessEnv, print: Print,
  body: (client: AdminApiClient, json: boolean) => Promise<void>
): Promise<number> {
  let values
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        'admin-url': { type: 'string' },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    print(`conn ${command}: ${(err as Error).message}`)
    return 2
  }
  if (values.help === true) { print(USAGE(command, what)); return 0 }
  let client: AdminApiClient
  try {
    client = await clientFor(values['admin-url'], values.config, env)
  } catch (err) {
    print(`conn ${command}: ${(err as Error).message}`)
    return 2
  }
  try {
    await body(client, values.json === true)
    return 0
  } catch (err) {
    if (!(err instanceof AdminApiError)) throw err
    print(`conn ${command}: ${err.message}`)
    return 1
  }
}

/** The admin API's address and token from the flag, the config file and the CONNECTOR_* variables (these override the file). */
async function clientFor (adminUrl: string | undefined, configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<AdminApiClient> {
  let fromFile: Record<string, unknown> = {}
  if (configFile !== undefined) {
    try {
      fromFile = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>
    } catch (err) {
      throw new Error(`--config ${configFile}: ${(err as Error).message}`)
    }
  }
  const options = { ...fromFile, ...readEnv(env).config }
  const url = adminUrl ?? adminUrlOf(options.adminApiHost, options.adminApiPort)
  if (!/^https?:\/\/[^/]+/.test(url)) throw new Error(`--admin-url: expected http://host:port, got ${JSON.stringify(url)}`)
  const token = typeof options.adminApiToken === 'string' ? options.adminApiToken : ''
  return new AdminApiClient(url.replace(/\/+$/, ''), token)
}

function stdout (line: string): void {
  process.stdout.write(line + '\n')
}
