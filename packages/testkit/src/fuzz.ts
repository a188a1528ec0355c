/**
 * Seeded fuzzing of decoders of bytes from outside (ILP packets, BTP frames, CCP and IL-DCP messages, config).
 *
 * A decoder passes when every input either decodes or throws the decoder's typed error, within a time limit.
 * Anything else (a TypeError or RangeError from deep inside, a rejection of the wrong class, a call that takes
 * longer than the limit) fails with the seed, the case number and the hex of the input, so the failure can be
 * replayed (same seed, same cases) and the input added to the corpus.
 *
 * `FUZZ_SEED` and `FUZZ_CASES` in the environment override a run's seed and case count (to replay a failure, or
 * for a long run: `FUZZ_CASES=1000000`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export class Rng {
  private state: number

  constructor (readonly seed: number) {
    this.state = seed >>> 0
  }

  /** A uint32. */
  next (): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer 0 .. max - 1 (0 when max <= 1). */
  nextInt (max: number): number {
    return max <= 1 ? 0 : Math.floor(this.next() / 0x100000000 * max)
  }

  /** A number in [0, 1), like Math.random. */
  float (): number {
    return this.next() / 0x100000000
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.next() / 0x100000000 < p
  }

  /** `length` random bytes. */
  bytes (length: number): Buffer {
    const buf = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) buf[i] = this.next() & 0xff
    return buf
  }

  /** One of `items` (which must not be empty). */
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[this.nextInt(items.length)]!
  }
}

/** Byte values that sit on the edges of OER lengths, BTP types and ASCII. */
const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x87, 0x88, 0xfe, 0xff]

/** An OER length prefix worth trying: short, long, non-canonical, oversized or empty long form. */
function lengthField (rng: Rng): Buffer {
  switch (rng.nextInt(6)) {
    case 0: return Buffer.from([rng.nextInt(0x80)])
    case 1: return Buffer.from([0x81, rng.next() & 0xff])
    case 2: return Buffer.from([0x82, rng.next() & 0xff, rng.next() & 0xff])
    case 3: return Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff])
    case 4: return Buffer.from([0x80])
    default: return Buffer.from([0x80 | (1 + rng.nextInt(8)), ...rng.bytes(1 + rng.nextInt(8))])
  }
}

/**
 * A mutant of `input` (never the input itself): one to four of bit flips, byte changes (random or interesting
 * values), truncation, extension, deletion, duplication of a slice, and splicing a length field (OER prefixes
 * short, long, non-canonical or huge) over or into the bytes.
 */
export function mutate (input: Uint8Array, rng: Rng): Buffer {
  let buf = Buffer.from(input)
  const rounds = 1 + rng.nextInt(4)
  for (let r = 0; r < rounds; r++) {
    const at = rng.nextInt(buf.length + 1)
    switch (rng.nextInt(9)) {
      case 0: // bit flip
        if (buf.length > 0) { const i = rng.nextInt(buf.length); buf[i] = buf[i]! ^ (1 << rng.nextInt(8)) }
        break
      case 1: // random byte
        if (buf.length > 0) buf[rng.nextInt(buf.length)] = rng.next() & 0xff
        break
      case 2: // interesting byte
        if (buf.length > 0) buf[rng.nextInt(buf.length)] = rng.pick(INTERESTING)
        break
      case 3: // truncate
        buf = buf.subarray(0, rng.nextInt(buf.length + 1))
        break
      case 4: // extend
        buf = Buffer.concat([buf, rng.bytes(1 + rng.nextInt(16))])
        break
      case 5: { // delete a slice
        const end = Math.min(buf.length, at + 1 + rng.nextInt(8))
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(end)])
        break
      }
      case 6: { // duplicate a slice in place
        const end = Math.min(buf.length, at + 1 + rng.nextInt(32))
        buf = Buffer.concat([buf.subarray(0, end), buf.subarray(at, end), buf.subarray(end)])
        break
      }
      case 7: { // overwrite with a length field
        const field = lengthField(rng)
        const out = Buffer.concat([buf.subarray(0, at), field, buf.subarray(Math.min(buf.length, at + field.length))])
        buf = out
        break
      }
      default: // insert a length field
        buf = Buffer.concat([buf.subarray(0, at), lengthField(rng), buf.subarray(at)])
    }
  }
  if (buf.equals(input)) buf = Buffer.concat([buf, Buffer.from([rng.next() & 0xff])])
  return buf
}

export interface CorpusEntry {
  /** The file it came from (or a label). */
  name: string
  bytes: Buffer
}

/**
 * The `*.hex` files of `dir`, sorted by name: hex digits, whitespace ignored, `#` to the end of a line a
 * comment. An odd number of digits or another character is an error naming the file.
 */
export function readHexCorpus (dir: string): CorpusEntry[] {
  return readdirSync(dir).filter((name) => name.endsWith('.hex')).sort().map((name) => {
    const text = readFileSync(join(dir, name), 'utf8').replace(/#.*$/gm, '').replace(/\s+/g, '')
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error(`${join(dir, name)}: expected pairs of hex digits`)
    return { name, bytes: Buffer.from(text, 'hex') }
  })
}

export interface FuzzDecoderOptions {
  /** Valid encodings to mutate (and to try as they are first). */
  corpus: ReadonlyArray<CorpusEntry | Uint8Array>
  /** The decoder under test; may return a promise. */
  decode: (input: Buffer) => unknown
  /** True for the errors the decoder may throw (its typed error). */
  isTypedError: (err: unknown) => boolean
  /** Random and mutated inputs to try after the corpus; default 2000 (env FUZZ_CASES overrides). */
  cases?: number
  /** Default 1 (env FUZZ_SEED overrides). */
  seed?: number
  /** A call (sync or async) taking longer fails; default 1000 ms. */
  timeLimitMs?: number
  /** Longest random (not mutated) input; default 96 bytes. */
  maxRandomLength?: number
}

export interface FuzzReport {
  seed: number
  /** Inputs tried, the corpus included. */
  cases: number
  decoded: number
  typedErrors: number
}

export class FuzzFailure extends Error {
  override name = 'FuzzFailure'
  constructor (message: string, readonly seed: number, readonly caseIndex: number, readonly input: Buffer, override readonly cause?: unknown) {
    super(message)
  }
}

function envInt (name: string): number | undefined {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}: expected a non-negative integer, got ${JSON.stringify(value)}`)
  return n
}

const TIMED_OUT = Symbol('timed out')

/**
 * Runs the corpus, then `cases` inputs: a quarter random bytes, the rest mutants of corpus entries. Resolves
 * with counts; rejects with a FuzzFailure on the first input that makes the decoder throw anything but its
 * typed error or take longer than the limit.
 */
export async function fuzzDecoder (options: FuzzDecoderOptions): Promise<FuzzReport> {
  const seed = envInt('FUZZ_SEED') ?? options.seed ?? 1
  const cases = envInt('FUZZ_CASES') ?? options.cases ?? 2000
  const limit = options.timeLimitMs ?? 1000
  const maxRandom = options.maxRandomLength ?? 96
  const corpus = options.corpus.map((entry, i) => entry instanceof Uint8Array ? { name: `corpus[${i}]`, bytes: Buffer.from(entry) } : entry)
  const rng = new Rng(seed)
  const report: FuzzReport = { seed, cases: 0, decoded: 0, typedErrors: 0 }

  const fail = (index: number, input: Buffer, what: string, cause?: unknown): FuzzFailure => new FuzzFailure(
    `fuzz failure (seed ${seed}, case ${index}): ${what}\n  input (${input.length} bytes): ${input.toString('hex')}\n` +
    `  replay: FUZZ_SEED=${seed} (case ${index}); add the input to the corpus as a .hex file`,
    seed, index, input, cause)

  const tryOne = async (index: number, input: Buffer): Promise<void> => {
    report.cases++
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      const result = options.decode(Buffer.from(input))
      if (result instanceof Promise) {
        const raced = await Promise.race([result, new Promise((resolve) => { timer = setTimeout(resolve, limit, TIMED_OUT) })])
        if (raced === TIMED_OUT) throw fail(index, input, `no answer within ${limit} ms`)
      }
      report.decoded++
    } catch (err) {
      if (err instanceof FuzzFailure) throw err
      if (!options.isTypedError(err)) {
        const name = err instanceof Error ? `${err.constructor.name}: ${err.message}` : `a thrown ${typeof err}: ${String(err)}`
        throw fail(index, input, `untyped error ${name}`, err)
      }
      report.typedErrors++
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
    const elapsed = performance.now() - started
    if (elapsed > limit) throw fail(index, input, `took ${Math.round(elapsed)} ms (limit ${limit} ms)`)
  }

  for (let i = 0; i < corpus.length; i++) await tryOne(-1 - i, corpus[i]!.bytes)
  for (let i = 0; i < cases; i++) {
    const input = corpus.length === 0 || i % 4 === 0
      ? rng.bytes(rng.nextInt(maxRandom + 1))
      : mutate(rng.pick(corpus).bytes, rng)
    await tryOne(i, input)
  }
  return report
}

const STRINGS = [
  '', ' ', '0', '1', '-1', 'true', 'false', 'null', 'NaN', 'Infinity', '1e308', '{}', '[]', '__proto__', 'constructor',
  'toString', 'g.alice', 'test.conn', 'peer', 'child', 'parent', 'memory', 'level', 'production', 'test', 'auto',
  'ilp-plugin-btp', '../x', '\u0000', 'é', '\ud83d\ude00', '\ud800', 'a'.repeat(300)
]
const KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'accounts', 'relation', 'plugin', 'assetCode', 'assetScale',
  'options', 'routes', 'targetPrefix', 'peerId', 'type', 'before', 'after', 'ilpAddress', 'middlewares', 'alice', 'a.b', ''
]
const NUMBERS = [0, -0, 1, -1, 0.5, 255, 256, 65535, 65536, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324]

/** A random printable or not string, often one of the values that trip parsers. */
export function randomString (rng: Rng): string {
  if (rng.chance(0.5)) return rng.pick(STRINGS)
  let s = ''
  const length = rng.nextInt(24)
  for (let i = 0; i < length; i++) {
    const kind = rng.nextInt(10)
    s += String.fromCharCode(kind < 7 ? 0x20 + rng.nextInt(0x5f) : kind < 9 ? rng.nextInt(0x100) : rng.nextInt(0x10000))
  }
  return s
}

/** A random JSON value (null, boolean, number, string, array, object) nested at most `depth` deep. */
export function randomJson (rng: Rng, depth = 3): unknown {
  const kind = rng.nextInt(depth > 0 ? 7 : 4)
  switch (kind) {
    case 0: return null
    case 1: return rng.chance(0.5)
    case 2: return rng.chance(0.5) ? rng.pick(NUMBERS) : rng.nextInt(1000) - 500
    case 3: return randomString(rng)
    case 4: return Array.from({ length: rng.nextInt(4) }, () => randomJson(rng, depth - 1))
    default: {
      const object: Record<string, unknown> = {}
      const keys = rng.nextInt(5)
      for (let i = 0; i < keys; i++) {
        const key = rng.chance(0.7) ? rng.pick(KEYS) : randomString(rng)
        // defineProperty: an own `__proto__` key, as JSON.parse makes one
        Object.defineProperty(object, key, { value: randomJson(rng, depth - 1), enumerable: true, writable: true, configurable: true })
      }
      return object
    }
  }
}
