/**
 * Loading packages by name. Names resolve from each directory in `resolveFrom` in turn (the working
 * directory or config file's folder first, then the cli's own dependencies), because under pnpm's strict
 * layout @conn/core itself cannot see packages it does not depend on. Only `node_modules` folders on the way
 * up from those directories count: not NODE_PATH, which pnpm's bin shims point at its whole store, so what
 * loads never depends on how conn was launched.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
// only the one function: all of semver is 48 modules
import satisfies from 'semver/functions/satisfies.js'
import { OperatorError, TYPES_VERSION, type Manifest, type ManifestKind } from '@conn/types'

export class LoadError extends OperatorError {
  declare readonly code: 'ERR_PACKAGE_NOT_FOUND' | 'ERR_PACKAGE_INVALID' | 'ERR_PACKAGE_LOAD'
  constructor (code: 'ERR_PACKAGE_NOT_FOUND' | 'ERR_PACKAGE_INVALID' | 'ERR_PACKAGE_LOAD', message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** The directory a `resolveFrom` entry stands for (a file: URL names a file in it). */
function directoryOf (from: string): string {
  return from.startsWith('file:') ? dirname(fileURLToPath(from)) : resolvePath(from)
}

/** The package.json of `name` (or of the package a subpath like `pkg/sub` is in) in the nearest node_modules up from `dir`. */
function findPackageJson (name: string, dir: string): string | undefined {
  const packageName = name.split('/').slice(0, name.startsWith('@') ? 2 : 1).join('/')
  for (let current = dir; ; current = dirname(current)) {
    const candidate = join(current, 'node_modules', packageName, 'package.json')
    if (existsSync(candidate)) return candidate
    if (dirname(current) === current) return undefined
  }
}

function isPath (name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || name.startsWith('/')
}

/** Where `name` (a package name, or a path relative to the directory) resolves from the first directory that has it. */
export function resolvePackage (name: string, resolveFrom: readonly string[]): string | undefined {
  for (const from of resolveFrom) {
    const dir = directoryOf(from)
    const base = isPath(name) ? join(dir, 'noop.js') : findPackageJson(name, dir)
    if (base === undefined) continue
    try {
      return createRequire(pathToFileURL(base).href).resolve(name)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        throw new LoadError('ERR_PACKAGE_INVALID', `package "${name}" cannot be loaded from ${from}: its package.json "exports" has no "default" (or "require") condition`, { cause: err })
      }
      if (code !== 'MODULE_NOT_FOUND') throw err
    }
  }
  return undefined
}

/** Imports a package by name; LoadError ERR_PACKAGE_NOT_FOUND names every place it looked. */
export async function importByName (name: string, resolveFrom: readonly string[]): Promise<Record<string, unknown>> {
  const resolved = resolvePackage(name, resolveFrom)
  if (resolved === undefined) {
    throw new LoadError('ERR_PACKAGE_NOT_FOUND', `package "${name}" is not installed (looked from ${resolveFrom.join(', ')})`)
  }
  try {
    return await import(pathToFileURL(resolved).href) as Record<string, unknown>
  } catch (err) {
    throw new LoadError('ERR_PACKAGE_LOAD', `package "${name}" failed to load: ${(err as Error).message}`, { cause: err })
  }
}

/** The default export of a module, looking through one level of CommonJS interop wrapping. */
export function defaultExport (mod: Record<string, unknown>): unknown {
  let value: unknown = mod.default ?? mod
  if (value !== null && typeof value === 'object' && 'default' in value && (value as { kind?: unknown }).kind === undefined) {
    value = (value as { default: unknown }).default
  }
  return value
}

/** Checks that a loaded value is a conn manifest of the expected kind that targets our @conn/types. */
export function checkManifest<K extends ManifestKind> (value: unknown, kind: K, packageName: string): Extract<Manifest, { kind: K }> {
  const manifest = value as Partial<Manifest> | undefined
  if (manifest === null || typeof manifest !== 'object' || typeof manifest.create !== 'function') {
    throw new LoadError('ERR_PACKAGE_INVALID', `package "${packageName}" does not default-export a conn ${kind} manifest ({ kind, name, types, create })`)
  }
  if (manifest.kind !== kind) {
    throw new LoadError('ERR_PACKAGE_INVALID', `package "${packageName}" is a ${String(manifest.kind)}, not a ${kind}`)
  }
  if (typeof manifest.types !== 'string' || !satisfies(TYPES_VERSION, manifest.types)) {
    throw new LoadError('ERR_PACKAGE_INVALID', `package "${packageName}" targets @conn/types ${String(manifest.types)}, but this conn has @conn/types ${TYPES_VERSION}`)
  }
  return manifest as Extract<Manifest, { kind: K }>
}
