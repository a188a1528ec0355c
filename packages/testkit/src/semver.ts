/**
 * Whether a version satisfies a semver range, for the ranges manifests use: `^1.2.3`, `~1.2.3`, `1.2.3`,
 * `1.2`, `1.x`, `*`, comparators (`>=1.2.0 <2.0.0`) and `||`. Prerelease tags and hyphen ranges are not
 * supported (an Error says so). The connector checks with the `semver` package; these agree on that subset.
 */
type Version = [number, number, number]

const COMPARATOR = /^(\^|~|>=|<=|>|<|=)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/

function compare (a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]
}

function parseVersion (version: string): Version {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim())
  if (match === null) throw new Error(`unsupported version "${version}" (expected major.minor.patch)`)
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}

function part (text: string | undefined): number | undefined {
  return text === undefined || /^[xX*]$/.test(text) ? undefined : Number(text)
}

function satisfiesComparator (version: Version, comparator: string): boolean {
  const match = COMPARATOR.exec(comparator)
  if (match === null) throw new Error(`unsupported range "${comparator}"`)
  const operator = match[1] ?? '='
  const major = part(match[2])
  if (major === undefined) return operator === '=' || operator === '>=' || operator === '<='
  const minor = part(match[3])
  const patch = minor === undefined ? undefined : part(match[4])
  const low: Version = [major, minor ?? 0, patch ?? 0]
  /** The first version after every version the partial one stands for. */
  const afterPartial: Version = minor === undefined ? [major + 1, 0, 0] : patch === undefined ? [major, minor + 1, 0] : [major, minor, patch + 1]
  let high: Version
  switch (operator) {
    case '=': return compare(version, low) >= 0 && compare(version, afterPartial) < 0
    case '>=': return compare(version, low) >= 0
    case '>': return compare(version, afterPartial) >= 0
    case '<': return compare(version, low) < 0
    case '<=': return compare(version, afterPartial) < 0
    case '~':
      high = minor === undefined ? [major + 1, 0, 0] : [major, minor + 1, 0]
      return compare(version, low) >= 0 && compare(version, high) < 0
    default: // '^': the left-most non-zero part may not change
      if (major > 0 || minor === undefined) high = [major + 1, 0, 0]
      else if (minor > 0 || patch === undefined) high = [0, minor + 1, 0]
      else high = [0, 0, patch + 1]
      return compare(version, low) >= 0 && compare(version, high) < 0
  }
}

export function satisfies (version: string, range: string): boolean {
  const parsed = parseVersion(version)
  return range.split('||').some((set) => {
    const comparators = set.trim().split(/\s+/).filter((c) => c !== '')
    return comparators.every((comparator) => satisfiesComparator(parsed, comparator))
  })
}
