/**
 * How a package declares the options it reads, so the connector checks them before anything starts and names
 * the field when one is wrong: a middleware its per-account options (`accounts.<id>.<option>`) and its own
 * (`middlewares.<name>.options`), a backend `backendConfig`, a store `storeConfig`. A small vocabulary in the
 * spirit of JSON Schema; `check` says what the vocabulary cannot (one field against another).
 */

/** One problem with an option: where (relative to the option checked; '' for the option itself) and why. */
export interface OptionIssue {
  path: string
  message: string
}

interface SchemaBase {
  /** What the option means, for messages and generated docs. */
  readonly description?: string
}

export type OptionSchema =
  | SchemaBase & { readonly type: 'any' }
  | SchemaBase & { readonly type: 'boolean' }
  | SchemaBase & { readonly type: 'integer', readonly minimum?: number, readonly maximum?: number }
  | SchemaBase & { readonly type: 'number', readonly minimum?: number, readonly maximum?: number }
  | SchemaBase & {
    readonly type: 'string'
    readonly nonEmpty?: boolean
    readonly oneOf?: readonly string[]
    readonly pattern?: RegExp
    /** How the pattern reads in a message ("an ILP address"). */
    readonly patternText?: string
  }
  /** An amount as a decimal integer string within 64 bits (`Infinity` forms where the pattern allows them). */
  | SchemaBase & { readonly type: 'amount', readonly pattern: RegExp, readonly patternText: string }
  | SchemaBase & {
    readonly type: 'object'
    readonly properties?: Readonly<Record<string, OptionSchema>>
    readonly required?: readonly string[]
    /** Keys not in `properties`: refused (default), or checked against this schema. */
    readonly additionalProperties?: OptionSchema
    /** Checks that need several fields; paths relative to the object. */
    readonly check?: (value: Record<string, unknown>) => OptionIssue[]
  }
  | SchemaBase & { readonly type: 'array', readonly items: OptionSchema }
