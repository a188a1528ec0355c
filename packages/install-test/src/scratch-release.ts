/**
 * A release rehearsed on a scratch copy of the workspace: the files git knows (tracked and new), the build output
 * to start from, a dummy changeset, `changeset version`, install and build, as the release job does them.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

async function step (command: string, args: string[], cwd: string): Promise<void> {
  try {
    await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string, stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`)
  }
}

/** Copies the workspace's source (what git would commit) and its packages' dist and tsbuildinfo into `scratch`. */
export async function copyWorkspace (root: string, scratch: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, maxBuffer: 64 * 1024 * 1024 })
  for (const file of stdout.split('\0').filter((f) => f !== '')) {
    await mkdir(dirname(join(scratch, file)), { recursive: true })
    await cp(join(root, file), join(scratch, file), { preserveTimestamps: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err // deleted in the working tree, not yet committed
    })
  }
  // the previous build, so the build below is incremental (tsc -b compares the sources)
  for (const name of await readdir(join(root, 'packages'))) {
    for (const built of ['dist', 'tsconfig.tsbuildinfo']) {
      await cp(join(root, 'packages', name, built), join(scratch, 'packages', name, built), { recursive: true, preserveTimestamps: true })
        .catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
    }
  }
}

/** Adds a changeset (`@conn/types` minor), runs `changeset version`, installs and builds; resolves with the new @conn/types version. */
export async function versionAndBuild (scratch: string): Promise<string> {
  await writeFile(join(scratch, '.changeset', 'release-rehearsal.md'), "---\n'@conn/types': minor\n---\n\nA release rehearsal.\n")
  await step('pnpm', ['install', '--offline', '--frozen-lockfile'], scratch)
  await step('pnpm', ['exec', 'changeset', 'version'], scratch)
  await step('pnpm', ['exec', 'tsc', '-b'], scratch)
  return (JSON.parse(await readFile(join(scratch, 'packages', 'types', 'package.json'), 'utf8')) as { version: string }).version
}
