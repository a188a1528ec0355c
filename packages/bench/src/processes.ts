/**
 * The benchmarks' child processes (connectors, senders, receivers, speakers): forked from dist with production
 * settings, talking to the runner over IPC messages `{ type, ... }`.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// dist/ itself, also when this file runs from src/ under tsx (the tests): the children are the built JavaScript
const HERE = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/' : '.', import.meta.url))

/** Forks `script` (a file in dist/); its stdout goes to our stderr (stdout is for the results). */
export function startProcess (script: string, env: Record<string, string>, execArgv: readonly string[] = []): ChildProcess {
  return fork(HERE + script, [], {
    execArgv: [...execArgv],
    env: { ...process.env, NODE_ENV: 'production', DEBUG: '', ...env },
    stdio: ['ignore', process.stderr, 'inherit', 'ipc']
  })
}

/** The child's next message of this type; rejects if it exits first, or after `timeoutMs` (none by default). */
export async function nextMessage<T> (child: ChildProcess, type: string, timeoutMs?: number): Promise<T> {
  return await new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined
      ? undefined
      : setTimeout(() => { cleanup(); reject(new Error(`${child.spawnargs.at(-1) ?? 'child'}: no '${type}' in ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (message: { type: string }): void => {
      if (message.type !== type) return
      cleanup()
      resolve(message as T)
    }
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`${child.spawnargs.at(-1) ?? 'child'} exited (${signal ?? String(code)}) before sending '${type}'`))
    }
    const cleanup = (): void => { clearTimeout(timer); child.off('message', onMessage); child.off('exit', onExit) }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}
