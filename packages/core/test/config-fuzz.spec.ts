/**
 * Configuration under fuzzing: random JSON for the whole config and for each option, random values for each
 * CONNECTOR_* variable. Every input gives a config or a ConfigError whose every issue names the option or the
 * variable it is about; never a TypeError, RangeError or a hang. Replay a failure with FUZZ_SEED=<seed>.
 */
import { expect } from 'chai'
import { Rng, randomJson, randomString } from '@conn/testkit'
import { ConfigError, OPTIONS, validateAccount, validateConfig } from '../src/config.ts'
import { configFromEnv, envName } from '../src/env.ts'
import { backendPackageName, pluginPackageName, storePackageName } from '../src/names.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 1)
const CASES = Number(process.env.FUZZ_CASES ?? 100)
const VALID = { ilpAddress: 'test.conn', accounts: { alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'USD', assetScale: 9 } } }

/** Runs `check`; a ConfigError is returned, anything else thrown with the seed and the input. */
function outcome (input: unknown, check: () => unknown, where: string): ConfigError | undefined {
  try {
    check()
    return undefined
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw new Error(`${where} (FUZZ_SEED=${SEED}): ${String(err)} for input ${JSON.stringify(input)}`, { cause: err })
  }
}

/** Every issue of `err` names `option` (its path starts with it) or the variable. */
function expectNamed (err: ConfigError, option: string, input: unknown): void {
  expect(err.issues).to.have.length.greaterThan(0)
  for (const issue of err.issues) {
    const named = issue.path === envName(option) || issue.path.startsWith(option + '.') || issue.path.startsWith(option + '[') ||
      issue.path === option || issue.path.startsWith(option + ' (')
    expect(named, `issue ${JSON.stringify(issue)} does not name ${option}; input ${JSON.stringify(input)}`).to.equal(true)
  }
}

/** A random value for a variable: any string, or the JSON of a random value. */
function randomEnvValue (rng: Rng): string {
  return rng.chance(0.5) ? randomString(rng) : JSON.stringify(randomJson(rng))
}

describe('config under fuzzing', function () {
  this.timeout(60000) // a second or two alone; generous for a loaded machine
  it('validateConfig of random JSON: a config or a ConfigError, nothing else', () => {
    const rng = new Rng(SEED)
    let errors = 0
    for (let i = 0; i < CASES * 10; i++) {
      const input = rng.chance(0.5) ? randomJson(rng) : { ...VALID, ...(randomJson(rng, 2) as object) }
      if (outcome(input, () => validateConfig(input, { programmatic: rng.chance(0.5) }), `case ${i}`) !== undefined) errors++
    }
    expect(errors).to.be.greaterThan(CASES)
  })

  it('each option given random JSON: a ConfigError naming that option, or a config', () => {
    const rng = new Rng(SEED + 1)
    let named = 0
    for (const option of Object.keys(OPTIONS)) {
      for (let i = 0; i < CASES; i++) {
        const value = randomJson(rng)
        const input = { ...VALID, [option]: value }
        const err = outcome(input, () => validateConfig(input, { programmatic: false }), `${option} case ${i}`)
        if (err !== undefined) { expectNamed(err, option, value); named++ }
      }
    }
    expect(named).to.be.greaterThan(CASES * Object.keys(OPTIONS).length / 2)
  })

  it('validateAccount of random JSON: an account or a ConfigError naming accounts.<id>', () => {
    const rng = new Rng(SEED + 2)
    for (let i = 0; i < CASES * 5; i++) {
      const id = rng.chance(0.8) ? 'alice' : randomString(rng)
      const account = rng.chance(0.5) ? randomJson(rng) : { ...VALID.accounts.alice, ...(randomJson(rng, 2) as object) }
      const err = outcome(account, () => validateAccount(id, account, rng.chance(0.5)), `account case ${i}`)
      if (err !== undefined) expectNamed(err, `accounts.${id}`, account)
    }
  })

  it('each CONNECTOR_* variable given a random value: a ConfigError naming the variable or its option, or a config', () => {
    const rng = new Rng(SEED + 3)
    const base = { CONNECTOR_ILP_ADDRESS: 'test.conn', CONNECTOR_ACCOUNTS: JSON.stringify(VALID.accounts) }
    let named = 0
    for (const option of Object.keys(OPTIONS)) {
      const variable = envName(option)
      for (let i = 0; i < CASES; i++) {
        const env: Record<string, string> = { ...base, [variable]: randomEnvValue(rng) }
        const err = outcome(env, () => configFromEnv(env), `${variable} case ${i}`)
        if (err !== undefined) { expectNamed(err, option, env[variable]); named++ }
      }
    }
    expect(named).to.be.greaterThan(CASES * Object.keys(OPTIONS).length / 2)
  })

  it('random sets of CONNECTOR_* variables at once: a config or a ConfigError, nothing else', () => {
    const rng = new Rng(SEED + 4)
    const variables = Object.keys(OPTIONS).map(envName)
    for (let i = 0; i < CASES * 3; i++) {
      const env: Record<string, string> = {}
      for (let k = rng.nextInt(6); k >= 0; k--) env[rng.pick(variables)] = randomEnvValue(rng)
      if (rng.chance(0.2)) env['CONNECTOR_' + randomString(rng).toUpperCase()] = randomEnvValue(rng)
      outcome(env, () => configFromEnv(env), `env case ${i}`)
    }
  })
})

describe('package names from a config', () => {
  it('a store, backend or plugin named like an Object property (constructor, __proto__, toString) is a package name (found by fuzzing the cli)', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(storePackageName(name)).to.equal(name)
      expect(backendPackageName(name)).to.equal(name)
      expect(pluginPackageName('alice', name, [])).to.equal(name)
    }
    expect(backendPackageName('ecb')).to.equal('@conn/backend-ecb')
    expect(pluginPackageName('alice', 'ilp-plugin-btp', [])).to.equal('@conn/plugin-btp')
  })
})
