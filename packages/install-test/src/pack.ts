/** Packs every public workspace package the way a release does: `pnpm pack` (its prepack builds it first). */
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface PackedPackage {
  name: string
  version: string
  dir: string
  tarball: string
}

interface Manifest { name: string, version: string, private?: boolean }

/** The workspace's public packages (not `private`), by folder. */
export async function publicPackages (root: string): Promise<Array<{ dir: string, manifest: Manifest }>> {
  const found: Array<{ dir: string, manifest: Manifest }> = []
  for (const entry of (await readdir(join(root, 'packages'), { withFileTypes: true })).filter((e) => e.isDirectory())) {
    const dir = join(root, 'packages', entry.name)
    let manifest: Manifest
    try {
      manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest
    } catch { continue }
    if (manifest.private !== true) found.push({ dir, manifest })
  }
  return found
}

/**
 * `pnpm -r pack` of the public packages (each one's prepack builds it; pnpm writes the workspace: ranges as
 * versions), tarballs into `destination`. Rejects with pnpm's output if one fails.
 */
export async function packAll (root: string, destination: string): Promise<PackedPackage[]> {
  const packages = await publicPackages(root)
  const filters = packages.flatMap(({ manifest }) => ['--filter', manifest.name])
  try {
    await run('pnpm', [...filters, '-r', 'pack', '--pack-destination', destination], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string, stderr?: string }
    throw new Error(`pnpm pack failed:\n${stdout ?? ''}${stderr ?? ''}`)
  }
  return packages.map(({ dir, manifest }) => ({
    name: manifest.name,
    version: manifest.version,
    dir,
    tarball: join(destination, `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`)
  })).sort((a, b) => a.name.localeCompare(b.name))
}
