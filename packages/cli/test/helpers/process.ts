/** Runs the real `conn` bin as a child process and watches its output. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/conn.js', import.meta.url))

export interface ConnProcess {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves once stdout or stderr contains `text` (rejects after `timeout` ms with what was printed). */
  waitFor: (text: string | RegExp, timeout?: number) => Promise<void>
  /** Resolves with the exit code. */
  exited: Promise<number | null>
}

/** Starts `conn` with only the given CONNECTOR_* environment (plus PATH and HOME). */
export function startConn (args: string[], env: Record<string, string> = {}, cwd?: string): ConnProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  const waiters: Array<() => void> = []
  const onData = (): void => { for (const waiter of [...waiters]) waiter() }
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); onData() })
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); onData() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { onData(); resolve(code) }))
  const waitFor = async (text: string | RegExp, timeout = 10000): Promise<void> => {
    const seen = (): boolean => typeof text === 'string' ? (out + err).includes(text) : text.test(out + err)
    if (seen()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1)
        reject(new Error(`timed out waiting for ${String(text)}\nstdout:\n${out}\nstderr:\n${err}`))
      }, timeout)
      const check = (): void => {
        if (!seen() && child.exitCode === null) return
        clearTimeout(timer)
        waiters.splice(waiters.indexOf(check), 1)
        if (seen()) resolve()
        else reject(new Error(`conn exited (${String(child.exitCode)}) before printing ${String(text)}\nstdout:\n${out}\nstderr:\n${err}`))
      }
      waiters.push(check)
    })
  }
  return { child, stdout: () => out, stderr: () => err, waitFor, exited }
}

/** A connector with no accounts and the admin API on `port` (127.0.0.1): what the admin and console tests start. */
export function adminOnlyEnv (port: number, more: Record<string, string> = {}): Record<string, string> {
  return {
    CONNECTOR_ACCOUNTS: '{}',
    CONNECTOR_ILP_ADDRESS: 'test.x',
    CONNECTOR_BACKEND: 'one-to-one',
    CONNECTOR_ADMIN_API: 'true',
    CONNECTOR_ADMIN_API_PORT: String(port),
    ...more
  }
}

/** Parses pino's JSON lines from stdout. */
export function logLines (stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
}
