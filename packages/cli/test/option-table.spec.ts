import { expect } from 'chai'
import { OPTIONS, envName } from '@conn/core'
import { optionTable } from '../src/option-table.ts'

describe('option-table (conn --help --all)', () => {
  it('lists every option the config parser reads, by its CONNECTOR_* name, with its type and default', () => {
    const table = optionTable()
    for (const [option, spec] of Object.entries(OPTIONS)) {
      const fallback = spec.default === undefined ? 'required' : JSON.stringify(spec.default)
      expect(table, option).to.match(new RegExp(`  ${envName(option)} +\\S`))
      expect(table, option).to.include(`(${option}, ${spec.type}, default ${fallback})`)
    }
  })

  it('states the defaults as a config file writes them', () => {
    const table = optionTable()
    expect(table).to.include('(spread, number, default 0.002)')
    expect(table).to.include('(accounts, object, default required)')
    expect(table).to.include('(adminApiHost, string, default "127.0.0.1")')
  })
})
