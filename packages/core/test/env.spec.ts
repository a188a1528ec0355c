import { expect } from 'chai'
import { envName, readEnv } from '../src/env.ts'

describe('env', () => {
  it('names each option CONNECTOR_ + UPPER_SNAKE, as the reference does', () => {
    expect(envName('ilpAddressInheritFrom')).to.equal('CONNECTOR_ILP_ADDRESS_INHERIT_FROM')
    expect(envName('accounts')).to.equal('CONNECTOR_ACCOUNTS')
    expect(envName('adminApiPort')).to.equal('CONNECTOR_ADMIN_API_PORT')
  })

  it('converts every type: strings as-is, numbers, booleans and JSON', () => {
    const { config, issues, unknown } = readEnv({
      CONNECTOR_ILP_ADDRESS: 'test.x',
      CONNECTOR_SPREAD: '0.01',
      CONNECTOR_MAX_HOLD_TIME: '5000',
      CONNECTOR_REFLECT_PAYMENTS: 'FALSE',
      CONNECTOR_ADMIN_API: '1',
      CONNECTOR_ACCOUNTS: '{"a":{"relation":"child"}}',
      CONNECTOR_ROUTES: '[{"targetPrefix":"test.y","peerId":"a"}]',
      PATH: '/usr/bin'
    })
    expect(issues).to.deep.equal([])
    expect(unknown).to.deep.equal([])
    expect(config).to.deep.equal({
      ilpAddress: 'test.x',
      spread: 0.01,
      maxHoldTime: 5000,
      reflectPayments: false,
      adminApi: true,
      accounts: { a: { relation: 'child' } },
      routes: [{ targetPrefix: 'test.y', peerId: 'a' }]
    })
  })

  it('reports a value that does not convert, naming the variable (the reference lets NaN and bad JSON through)', () => {
    const { config, issues } = readEnv({
      CONNECTOR_SPREAD: 'abc',
      CONNECTOR_MIN_MESSAGE_WINDOW: '1.5',
      CONNECTOR_REFLECT_PAYMENTS: 'yes',
      CONNECTOR_ACCOUNTS: '{"a":',
      CONNECTOR_MAX_HOLD_TIME: ''
    })
    expect(config).to.deep.equal({})
    expect(issues.map((i) => i.path).sort()).to.deep.equal([
      'CONNECTOR_ACCOUNTS', 'CONNECTOR_MAX_HOLD_TIME', 'CONNECTOR_MIN_MESSAGE_WINDOW', 'CONNECTOR_REFLECT_PAYMENTS', 'CONNECTOR_SPREAD'
    ])
    expect(issues.find((i) => i.path === 'CONNECTOR_SPREAD')!.message).to.equal('expected a number, got "abc"')
    expect(issues.find((i) => i.path === 'CONNECTOR_MIN_MESSAGE_WINDOW')!.message).to.equal('expected an integer, got "1.5"')
    expect(issues.find((i) => i.path === 'CONNECTOR_REFLECT_PAYMENTS')!.message).to.equal('expected true, false, 1 or 0, got "yes"')
    expect(issues.find((i) => i.path === 'CONNECTOR_ACCOUNTS')!.message).to.match(/^invalid JSON \(/)
  })

  it('lists CONNECTOR_* variables that are not options, and ignores other variables', () => {
    const { unknown, config } = readEnv({ CONNECTOR_FOO: '1', CONNECTOR_ILP_ADRESS: 'typo', HOME: '/root' })
    expect(unknown.sort()).to.deep.equal(['CONNECTOR_FOO', 'CONNECTOR_ILP_ADRESS'])
    expect(config).to.deep.equal({})
  })
})


describe('createApp() without a configuration object', () => {
  const saved = { ...process.env }
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (name.startsWith('CONNECTOR_')) delete process.env[name]
    Object.assign(process.env, saved)
  })

  function setEnv (vars: Record<string, string>): void {
    for (const name of Object.keys(process.env)) if (name.startsWith('CONNECTOR_')) delete process.env[name]
    Object.assign(process.env, vars)
  }

  it('reads CONNECTOR_* as the reference does, and warns about variables that are not options', async () => {
    const { createApp } = await import('../src/index.ts')
    const { captureLogger } = await import('./helpers/logger.ts')
    setEnv({
      CONNECTOR_ILP_ADDRESS: 'test.fromenv',
      CONNECTOR_SPREAD: '0.01',
      CONNECTOR_STORE_PATH: '/data/conn',
      CONNECTOR_ACCOUNTS: '{"alice":{"relation":"child","plugin":"ilp-plugin-btp","assetCode":"USD","assetScale":9}}',
      CONNECTOR_TYPO: 'x'
    })
    const { logger, warnings } = captureLogger('info')
    const app = createApp(undefined, { logger })
    expect(app.config.ilpAddress).to.equal('test.fromenv')
    expect(app.config.spread).to.equal(0.01)
    expect(app.config.store).to.equal('level')
    expect(app.config.accounts.alice!.plugin).to.equal('ilp-plugin-btp')
    expect(warnings()).to.deep.equal(['unrecognized environment variable CONNECTOR_TYPO (ignored)'])
  })

  it('throws a ConfigError naming each variable that is wrong, and asks for accounts', async () => {
    const { createApp, ConfigError } = await import('../src/index.ts')
    setEnv({ CONNECTOR_SPREAD: 'abc', CONNECTOR_ILP_ADDRESS: 'test.x' })
    let error: InstanceType<typeof ConfigError> | undefined
    try { createApp() } catch (err) { error = err as InstanceType<typeof ConfigError> }
    expect(error).to.be.instanceOf(ConfigError)
    expect(error!.issues).to.deep.equal([
      { path: 'CONNECTOR_SPREAD', message: 'expected a number, got "abc"' },
      { path: 'accounts', message: 'required: set CONNECTOR_ACCOUNTS (JSON, \'{}\' for none)' }
    ])
    setEnv({ CONNECTOR_ACCOUNTS: '{"a":{"relation":"kid","plugin":"x","assetCode":"USD","assetScale":9}}', CONNECTOR_ILP_ADDRESS: 'test.x' })
    try { createApp() } catch (err) { error = err as InstanceType<typeof ConfigError> }
    expect(error!.issues).to.deep.equal([
      { path: 'accounts.a.relation (CONNECTOR_ACCOUNTS)', message: 'expected one of "parent", "peer", "child", got "kid"' }
    ])
  })

  it('ignores the environment when given a configuration object', async () => {
    const { createApp } = await import('../src/index.ts')
    setEnv({ CONNECTOR_ILP_ADDRESS: 'test.fromenv', CONNECTOR_ACCOUNTS: '{}' })
    expect(createApp({ ilpAddress: 'test.given', accounts: {} }).config.ilpAddress).to.equal('test.given')
  })
})
