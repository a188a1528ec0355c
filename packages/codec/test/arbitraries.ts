/** fast-check arbitraries shared by the property and differential tests. */
import fc from 'fast-check'

const SEGMENT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~-'
const segment = fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 1, maxLength: 12 })

/** A valid ILP address (RFC 15), built from its grammar rather than from the pattern under test. */
export const ilpAddress: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom('g', 'private', 'example', 'peer', 'self', 'test', 'test1', 'test2', 'test3', 'local'),
  fc.array(segment, { minLength: 1, maxLength: 5 })
).map(([scheme, segments]) => [scheme, ...segments].join('.'))
