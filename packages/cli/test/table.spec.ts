import { expect } from 'chai'
import { table } from '../src/table.ts'

describe('table', () => {
  it('pads each column to its widest cell, two spaces apart, without trailing blanks', () => {
    expect(table(['ID', 'BALANCE'], [['alice', '5000'], ['bo', '-5']])).to.equal('ID     BALANCE\nalice  5000\nbo     -5')
  })
})
