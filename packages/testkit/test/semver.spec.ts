import { expect } from 'chai'
import { satisfies } from '../src/semver.ts'

describe('semver', () => {
  // Each row: range, versions it includes, versions it excludes (as the semver package decides).
  const TABLE: Array<[string, string[], string[]]> = [
    ['^0.1.0', ['0.1.0', '0.1.9'], ['0.0.9', '0.2.0', '1.0.0']],
    ['^1.2.3', ['1.2.3', '1.9.0'], ['1.2.2', '2.0.0']],
    ['^0.0.3', ['0.0.3'], ['0.0.4', '0.1.0']],
    ['^0.0', ['0.0.0', '0.0.9'], ['0.1.0']],
    ['^0.x', ['0.0.0', '0.9.9'], ['1.0.0']],
    ['~0.1.2', ['0.1.2', '0.1.9'], ['0.1.1', '0.2.0']],
    ['~1', ['1.0.0', '1.9.9'], ['2.0.0']],
    ['0.1.0', ['0.1.0'], ['0.1.1']],
    ['0.1', ['0.1.0', '0.1.5'], ['0.2.0']],
    ['0.x', ['0.0.0', '0.5.0'], ['1.0.0']],
    ['*', ['0.0.0', '9.9.9'], []],
    ['', ['0.1.0'], []],
    ['>=0.1.0 <0.2.0', ['0.1.0', '0.1.7'], ['0.0.9', '0.2.0']],
    ['>0.1', ['0.2.0'], ['0.1.9']],
    ['<=0.1', ['0.1.9', '0.0.1'], ['0.2.0']],
    ['>0.1.0', ['0.1.1'], ['0.1.0']],
    ['<0.1.0', ['0.0.9'], ['0.1.0']],
    ['^0.0.1 || ^0.1.0', ['0.0.1', '0.1.3'], ['0.0.2', '0.2.0']],
    ['=v0.1.0', ['0.1.0'], ['0.1.1']]
  ]

  for (const [range, included, excluded] of TABLE) {
    it(`"${range}" includes ${included.join(', ') || 'nothing listed'} and excludes ${excluded.join(', ') || 'nothing listed'}`, () => {
      expect(included.map((v) => satisfies(v, range))).to.deep.equal(included.map(() => true))
      expect(excluded.map((v) => satisfies(v, range))).to.deep.equal(excluded.map(() => false))
    })
  }

  it('throws on a range or version it does not support (hyphen ranges, prereleases)', () => {
    expect(() => satisfies('0.1.0', '0.1.0 - 0.2.0')).to.throw('unsupported range "-"')
    expect(() => satisfies('0.1.0-beta.1', '^0.1.0')).to.throw('unsupported version')
    expect(() => satisfies('0.1.0', '^0.1.0-beta')).to.throw('unsupported range')
  })
})
