/**
 * ILP addresses (RFC 15): a scheme, then one or more segments of `[a-zA-Z0-9_~-]`, at most 1023 characters.
 *
 * The one rule for reading an address from bytes: decode them as latin1 (one character per byte, nothing
 * changed) and check the pattern. Addresses are ASCII, so a byte of 0x80 or more makes the address invalid.
 * (Decoding as 'ascii' instead clears the high bit: 0xe9 would read as a valid 'i'.)
 */

export const MAX_ADDRESS_LENGTH = 1023
const ADDRESS = /^(g|private|example|peer|self|test[1-3]?|local)([.][a-zA-Z0-9_~-]+)+$/

/** True if `address` is a valid ILP address. */
export function isValidIlpAddress (address: unknown): address is string {
  return typeof address === 'string' && address.length <= MAX_ADDRESS_LENGTH && ADDRESS.test(address)
}

/** The bytes `start` to `end` of `buf` as an ILP address, or undefined if they are not one. */
export function readAddress (buf: Buffer, start: number, end: number): string | undefined {
  if (end - start > MAX_ADDRESS_LENGTH) return undefined
  const address = buf.toString('latin1', start, end)
  return ADDRESS.test(address) ? address : undefined
}
