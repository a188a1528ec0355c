/**
 * Property tests of every decoder here over random and mutated valid input: any bytes decode or throw an
 * IlpCodecError (F01), within a second, never a TypeError or RangeError. The corpus (test/corpus/*.hex) is
 * ilp-packet's and ilp-protocol-ildcp's encodings. A failure names its seed and input; replay it with
 * FUZZ_SEED=<seed>, and add the input to the corpus.
 */
import { expect } from 'chai'
import { fileURLToPath } from 'node:url'
// @conn/testkit depends on @conn/codec, so codec cannot depend on it back (turbo refuses a cycle); fuzz.ts
// imports node: builtins only, so its source is imported as it is.
import { fuzzDecoder, readHexCorpus, type FuzzReport } from '../../testkit/src/fuzz.ts'
import {
  IlpCodecError, isIldcpRequest, isValidReply, isWellFormedReply, parseFulfill, parseIldcpRequest, parseIldcpResponse, parsePrepare,
  parseReject, readPrepareHead, serializeFulfill, serializePrepare, serveIldcp
} from '../src/index.ts'

const corpus = readHexCorpus(fileURLToPath(new URL('./corpus', import.meta.url)))
const isCodecError = (err: unknown): boolean => err instanceof IlpCodecError
const never = (): boolean => false
const CASES = 3000

function sameBytes (what: string, input: Buffer, encoded: Buffer): void {
  // a plain Error: the fuzzer reports it as a failure, with the input
  if (!encoded.equals(input)) throw new Error(`${what} decoded but does not encode back to its bytes`)
}

/** Runs the fuzzer and checks it saw both outcomes (a run where nothing decodes tests only the first bytes). */
async function fuzz (decode: (input: Buffer) => unknown, isTypedError = isCodecError, seed = 1): Promise<FuzzReport> {
  const report = await fuzzDecoder({ corpus, decode, isTypedError, cases: CASES, seed })
  expect(report.decoded + report.typedErrors).to.equal(report.cases)
  return report
}

describe('decoders under fuzzing (random and mutated input)', function () {
  this.timeout(60000) // well under a second each alone
  it('has a corpus of Prepare, Fulfill, Reject and IL-DCP encodings that all decode', () => {
    expect(corpus.map((e) => e.name)).to.include.members(['prepare.hex', 'fulfill.hex', 'reject.hex', 'ildcp-request.hex', 'ildcp-response.hex'])
    for (const { name, bytes } of corpus) {
      const parse = bytes[0] === 12 ? parsePrepare : bytes[0] === 13 ? parseFulfill : parseReject
      expect(() => parse(bytes), name).to.not.throw()
    }
  })

  it('parsePrepare: F01 or a Prepare that encodes back to the same bytes', async () => {
    const report = await fuzz((input) => {
      const prepare = parsePrepare(input)
      sameBytes('Prepare', input, serializePrepare({ ...prepare, raw: undefined }))
    })
    expect(report.decoded).to.be.greaterThan(10)
  })

  it('readPrepareHead: F01 or the head', async () => {
    await fuzz(readPrepareHead, isCodecError, 2)
  })

  it('parseFulfill: F01 or a Fulfill that encodes back to the same bytes', async () => {
    const report = await fuzz((input) => { sameBytes('Fulfill', input, serializeFulfill(parseFulfill(input))) }, isCodecError, 3)
    expect(report.decoded).to.be.greaterThan(10)
  })

  it('parseReject: F01 or a Reject', async () => {
    const report = await fuzz(parseReject, isCodecError, 4)
    expect(report.decoded).to.be.greaterThan(10)
  })

  it('parseIldcpRequest and parseIldcpResponse: F01 or the request / the info', async () => {
    await fuzz(parseIldcpRequest, isCodecError, 5)
    await fuzz(parseIldcpResponse, isCodecError, 6)
  })

  it('serveIldcp answers any bytes with a well-formed Fulfill or F00 Reject, never a throw', async () => {
    const info = { clientAddress: 'test.parent.child', assetScale: 9, assetCode: 'USD' }
    await fuzz((input) => {
      const reply = serveIldcp(input, info, 'test.parent', Date.UTC(2029, 0, 1))
      if (!isWellFormedReply(reply)) throw new Error('serveIldcp answered with a malformed reply')
      if (reply[0] === 14 && parseReject(reply).code !== 'F00') throw new Error('serveIldcp rejected with a code other than F00')
    }, never, 7)
  })

  it('the quick looks (isIldcpRequest, isWellFormedReply) never throw', async () => {
    await fuzz((input) => { isIldcpRequest(input); isWellFormedReply(input) }, never, 8)
  })

  it('isValidReply never throws, and is true exactly when parseFulfill or parseReject reads the reply', async () => {
    let valid = 0
    await fuzz((input) => {
      const parses = (() => { try { (input[0] === 13 ? parseFulfill : parseReject)(input); return true } catch { return false } })()
      if (isValidReply(input) !== parses) throw new Error(`isValidReply says ${String(!parses)}, the parser ${String(parses)}`)
      if (parses) valid++
    }, never, 9)
    expect(valid).to.be.greaterThan(10)
  })
})
