import { commandOf } from './commands.ts'
import { main } from './main.ts'

// The command runs connectors for real: without NODE_ENV it runs the slim pipeline, not the checked one that
// catches middleware mistakes during development (set NODE_ENV=development to get the checks).
process.env.NODE_ENV ??= 'production'
const argv = process.argv.slice(2)
const command = commandOf(argv)
// Exit explicitly: a plugin may keep a handle open after disconnecting.
process.exit(await (command !== undefined ? command(argv.slice(1)) : main(argv)))
