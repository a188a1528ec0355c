/** Runs the installed `conn` bin of a project as a supervisor would: the bin itself, not through npx or a shell. */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export interface ConnProcess {
  child: ChildProcess
  output: () => string
  /** Resolves once the output contains `text`; rejects on exit or after `timeout` ms, with the output. */
  waitFor: (text: string | RegExp, timeout?: number) => Promise<void>
  exited: Promise<number | null>
}

export function startConn (projectDir: string, args: string[], env: Record<string, string> = {}): ConnProcess {
  const child = spawn(join(projectDir, 'node_modules', '.bin', 'conn'), args, {
    cwd: projectDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return watch(child)
}

export function watch (child: ChildProcess): ConnProcess {
  let output = ''
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    for (const listener of listeners) listener()
    resolve(code)
  }))
  const waitFor = async (text: string | RegExp, timeout = 20000): Promise<void> => {
    const seen = (): boolean => typeof text === 'string' ? output.includes(text) : text.test(output)
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (seen()) { done(); resolve(); return }
        if (child.exitCode !== null) { done(); reject(new Error(`conn exited (${child.exitCode}) before printing ${String(text)}:\n${output}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${String(text)}:\n${output}`)) }, timeout)
      const done = (): void => { clearTimeout(timer); listeners.delete(check) }
      listeners.add(check)
      check()
    })
  }
  return { child, output: () => output, waitFor, exited }
}
