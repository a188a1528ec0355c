/**
 * A user's project outside the workspace: a package.json naming what the user picked, installed with npm from the
 * packed tarballs. `overrides` points every @conn/* package at its tarball, so npm resolves the cli's own
 * dependencies (hard and optional) the way it would from the registry, without the registry having them.
 */
import { execFile } from 'node:child_process'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { PackedPackage } from './pack.ts'

const run = promisify(execFile)

export interface InstallOptions {
  /** Leave optional dependencies out (`--omit=optional`): the minimal install. */
  omitOptional?: boolean
}

export class Project {
  constructor (readonly dir: string, private readonly packed: PackedPackage[]) {}

  /** file: spec of a packed package's tarball. */
  spec (name: string): string {
    const found = this.packed.find((p) => p.name === name)
    if (found === undefined) throw new Error(`no tarball for ${name}`)
    return `file:${found.tarball}`
  }

  /** Writes package.json with these dependencies (name -> spec) and runs npm install; resolves with npm's time in ms. */
  async install (dependencies: Record<string, string>, options: InstallOptions = {}): Promise<number> {
    const overrides = Object.fromEntries(this.packed.filter((p) => p.name.startsWith('@conn/')).map((p) => [p.name, `file:${p.tarball}`]))
    await writeFile(join(this.dir, 'package.json'), JSON.stringify({ name: 'my-connector', private: true, type: 'module', dependencies, overrides }, null, 2))
    const args = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']
    if (options.omitOptional === true) args.push('--omit=optional')
    const started = Date.now()
    try {
      await run('npm', args, { cwd: this.dir, maxBuffer: 16 * 1024 * 1024 })
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string, stderr?: string }
      throw new Error(`npm ${args.join(' ')} failed in ${this.dir}:\n${stdout ?? ''}${stderr ?? ''}`)
    }
    return Date.now() - started
  }

  /** Whether node_modules/<name> exists (installed anywhere npm hoisted it to the top). */
  async has (name: string): Promise<boolean> {
    try {
      await readFile(join(this.dir, 'node_modules', name, 'package.json'))
      return true
    } catch { return false }
  }
}

/**
 * Copies a third-party fixture (written from docs/write-a-package.md, targeting @conn/types ^0.1.0) and points its
 * range at the @conn/types version being packed, as its author does after a conn release; then `npm pack`s it.
 */
export async function packFixture (fixtureDir: string, workDir: string, destination: string, typesVersion: string): Promise<string> {
  await cp(fixtureDir, workDir, { recursive: true })
  for (const file of ['package.json', 'index.js']) {
    const path = join(workDir, file)
    await writeFile(path, (await readFile(path, 'utf8')).replaceAll('^0.1.0', `^${typesVersion}`))
  }
  const { stdout } = await run('npm', ['pack', '--pack-destination', destination, '--loglevel=error'], { cwd: workDir })
  return join(destination, stdout.trim().split('\n').at(-1) ?? '')
}
