import { main } from './main.ts'

// Exit explicitly: a plugin may keep a handle open after disconnecting.
process.exit(await main())
