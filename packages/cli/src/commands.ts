/** The commands besides running the connector: `conn check`, `conn routes`, `conn status`. */
import { routes, status } from './admin-commands.ts'
import { check } from './check.ts'

export const COMMANDS: Readonly<Record<string, (argv: string[]) => Promise<number>>> = {
  check: async (argv) => await check(argv),
  routes: async (argv) => await routes(argv),
  status: async (argv) => await status(argv)
}

/** The command named by the first argument, if it names one. */
export function commandOf (argv: string[]): ((argv: string[]) => Promise<number>) | undefined {
  const name = argv[0]
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
}
