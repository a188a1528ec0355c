/**
 * The cli's configuration loading under fuzzing: each CONNECTOR_* variable given random values, and config
 * files of random JSON, mutated JSON or random bytes. `run` must end in exit code 1 with config errors that
 * name the variable / option (or start, when the values happen to be valid), never throw. Replay a failure
 * with FUZZ_SEED=<seed>.
 */
import { expect } from 'chai'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OPTIONS, envName } from '@conn/core'
import { RecordingLogger, Rng, mutate, randomJson, randomString } from '@conn/testkit'
import { run } from '../src/index.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const CASES = Number(process.env.FUZZ_CASES ?? 8)
/**
 * Valid on its own (an address, no accounts, the memory store): each case breaks one variable. A store path is
 * set to a scratch folder, so a case that names a persistent store (`level`) opens it there, never in the cwd.
 */
function baseEnv (dir: string): Record<string, string> {
  return { CONNECTOR_ILP_ADDRESS: 'test.conn', CONNECTOR_ACCOUNTS: '{}', CONNECTOR_STORE: 'memory', CONNECTOR_STORE_PATH: join(dir, 'db') }
}
/** A valid file that starts nothing slow (no accounts): mutants that stay valid start and stop at once. */
const VALID_FILE = JSON.stringify({ ilpAddress: 'test.conn', accounts: {}, spread: 0.01, routes: [], middlewares: {}, backend: 'one-to-one', store: 'memory', initialConnectTimeout: 100, disableMiddleware: ['stats'] })

/** What `run` came to: the exit code and printed lines, or 'started' (then stopped). Throws with the input on any throw. */
async function outcome (argv: string[], env: Record<string, string>, input: string): Promise<{ code: number | 'started', lines: string[] }> {
  const lines: string[] = []
  try {
    const result = await run(argv, { env, print: (line) => { lines.push(line) }, logger: new RecordingLogger(), handleSignals: false })
    if (typeof result === 'number') return { code: result, lines }
    await result.app.shutdown()
    return { code: 'started', lines }
  } catch (err) {
    throw new Error(`run threw (FUZZ_SEED=${SEED}) for ${input}: ${String((err as Error).stack ?? err)}`, { cause: err })
  }
}

describe('cli config loading under fuzzing', function () {
  this.timeout(60000)
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'conn-config-fuzz-')) })
  after(async () => { await rm(dir, { recursive: true }) })

  it('a random value in each CONNECTOR_* variable: exit 1 with errors naming the variable or its option, never a throw', async () => {
    const rng = new Rng(SEED)
    let refused = 0
    for (const option of Object.keys(OPTIONS)) {
      const variable = envName(option)
      for (let i = 0; i < CASES; i++) {
        const value = rng.chance(0.5) ? randomString(rng) : JSON.stringify(randomJson(rng))
        const env = { ...baseEnv(dir), [variable]: value }
        const { code, lines } = await outcome([], env, `${variable}=${JSON.stringify(value)}`)
        if (code === 'started') continue
        expect(code).to.equal(1)
        refused++
        const errors = lines.filter((line) => line.startsWith('conn: config error: '))
        // what only starting finds (a package that is not what the option needs, a store path that cannot be
        // opened) is an operator error at start-up naming the option, the variable or the package
        if (errors.length === 0 && lines.some((line) => line.startsWith('conn: start-up failed: ') &&
          (line.includes(variable) || line.includes(`package "${value}"`)))) continue
        expect(errors, lines.join('\n')).to.have.length.greaterThan(0)
        for (const line of errors) {
          const path = line.slice('conn: config error: '.length)
          expect(path.startsWith(variable) || path.startsWith(option) || path.includes(`(${variable})`),
            `${line} does not name ${variable} (value ${JSON.stringify(value)})`).to.equal(true)
        }
      }
    }
    expect(refused).to.be.greaterThan(CASES * Object.keys(OPTIONS).length / 2)
  })

  it('a config file of random JSON, mutated JSON or random bytes: exit 1 with config errors, never a throw', async () => {
    const rng = new Rng(SEED + 1)
    const file = join(dir, 'conn.json')
    const codes = new Map<string, number>()
    for (let i = 0; i < CASES * 25; i++) {
      const kind = rng.nextInt(3)
      const content = kind === 0 ? Buffer.from(JSON.stringify(randomJson(rng))) : kind === 1 ? mutate(Buffer.from(VALID_FILE), rng) : rng.bytes(rng.nextInt(64))
      await writeFile(file, content)
      const { code, lines } = await outcome(['--config', file], {}, `a file of ${content.toString('hex')}`)
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1)
      if (code !== 'started') expect(lines.some((line) => line.startsWith('conn: config error: ')), lines.join('\n')).to.equal(true)
    }
    expect(codes.get('1')).to.be.greaterThan(CASES * 10)
  })
})
