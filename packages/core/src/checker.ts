/**
 * Checks configuration values and collects every problem with its option path, in the messages operators
 * see (`expected an integer 0..255, got "9x"`). Core's own options use the methods directly; the options a
 * package declares (OptionSchema) go through `schema`.
 */
import type { OptionSchema } from '@conn/types'

export interface ConfigIssue {
  /** Option path, e.g. `accounts.alice.assetScale`. */
  path: string
  message: string
}

const MAX_UINT64 = 0xffffffffffffffffn

export function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Collects issues for one config object; each check names its path. */
export class Checker {
  readonly issues: ConfigIssue[] = []

  fail (path: string, message: string): void { this.issues.push({ path, message }) }

  string (path: string, value: unknown, opts: { pattern?: RegExp, patternText?: string, nonEmpty?: boolean, oneOf?: readonly string[] } = {}): boolean {
    if (typeof value !== 'string') { this.fail(path, `expected a string, got ${describe(value)}`); return false }
    if (opts.nonEmpty === true && value === '') { this.fail(path, 'expected a non-empty string'); return false }
    if (opts.oneOf !== undefined && !opts.oneOf.includes(value)) {
      this.fail(path, `expected one of ${opts.oneOf.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`)
      return false
    }
    if (opts.pattern !== undefined && !opts.pattern.test(value)) {
      this.fail(path, `expected ${opts.patternText ?? 'a string matching ' + String(opts.pattern)}, got ${describe(value)}`)
      return false
    }
    return true
  }

  integer (path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max !== Number.MAX_SAFE_INTEGER ? ` ${min}..${max}` : min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''
      this.fail(path, `expected an integer${range}, got ${describe(value)}`)
      return false
    }
    return true
  }

  boolean (path: string, value: unknown): boolean {
    if (typeof value !== 'boolean') { this.fail(path, `expected true or false, got ${describe(value)}`); return false }
    return true
  }

  object (path: string, value: unknown): value is Record<string, unknown> {
    if (!isPlainObject(value)) { this.fail(path, `expected an object, got ${describe(value)}`); return false }
    return true
  }

  noExtraKeys (path: string, value: Record<string, unknown>, allowed: Iterable<string>): void {
    const known = new Set(allowed)
    for (const key of Object.keys(value)) {
      if (!known.has(key)) this.fail(`${path}.${key}`, 'unknown option')
    }
  }

  /** An integer amount string within UInt64 (limits may be signed, and ±Infinity where the pattern allows). */
  amount (path: string, value: unknown, pattern: RegExp, what: string): void {
    if (!this.string(path, value, { pattern, patternText: what })) return
    const text = value as string
    if (!text.endsWith('Infinity')) {
      const magnitude = BigInt(text.startsWith('-') ? text.slice(1) : text)
      if (magnitude > MAX_UINT64) this.fail(path, `expected ${what} within 64 bits, got ${describe(value)}`)
    }
  }

  number (path: string, value: unknown, min = -Infinity, max = Infinity): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      const range = min === -Infinity && max === Infinity ? '' : max === Infinity ? ` >= ${min}` : ` ${min}..${max}`
      this.fail(path, `expected a number${range}, got ${describe(value)}`)
      return false
    }
    return true
  }

  /** Checks a value against a schema a package declared (see OptionSchema in @conn/types). */
  schema (path: string, value: unknown, schema: OptionSchema): void {
    switch (schema.type) {
      case 'any': return
      case 'boolean': this.boolean(path, value); return
      case 'integer': this.integer(path, value, schema.minimum ?? Number.MIN_SAFE_INTEGER, schema.maximum ?? Number.MAX_SAFE_INTEGER); return
      case 'number': this.number(path, value, schema.minimum, schema.maximum); return
      case 'string': this.string(path, value, schema); return
      case 'amount': this.amount(path, value, schema.pattern, schema.patternText); return
      case 'array':
        if (!Array.isArray(value)) { this.fail(path, `expected an array, got ${describe(value)}`); return }
        value.forEach((item: unknown, i) => this.schema(`${path}[${i}]`, item, schema.items))
        return
      case 'object': {
        if (!this.object(path, value)) return
        const before = this.issues.length
        const properties = schema.properties ?? {}
        for (const key of schema.required ?? []) if (value[key] === undefined) this.fail(`${path}.${key}`, 'required')
        for (const [key, item] of Object.entries(value)) {
          if (item === undefined) continue
          const property = properties[key] ?? schema.additionalProperties
          if (property === undefined) this.fail(`${path}.${key}`, 'unknown option')
          else this.schema(`${path}.${key}`, item, property)
        }
        // cross-field checks only make sense on fields that passed their own
        if (schema.check !== undefined && this.issues.length === before) {
          for (const issue of schema.check(value)) this.fail(issue.path === '' ? path : `${path}.${issue.path}`, issue.message)
        }
      }
    }
  }
}


/** The problems of a value against a schema a package declares, each with its path under `path`. */
export function checkOption (value: unknown, schema: OptionSchema, path = ''): ConfigIssue[] {
  const c = new Checker()
  c.schema(path, value, schema)
  return c.issues
}
