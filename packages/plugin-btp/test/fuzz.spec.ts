/**
 * The BTP decoder under fuzzing: any bytes decode to a frame that encodes back to the same bytes, or throw a
 * BtpFormatError, within a second; never a TypeError or RangeError. The corpus (test/corpus/*.hex) is
 * btp-packet's encodings. A failure names its seed and input; replay with FUZZ_SEED=<seed>.
 */
import { expect } from 'chai'
import { fileURLToPath } from 'node:url'
import { Rng, fuzzDecoder, mutate, readHexCorpus } from '@conn/testkit'
import { BtpPlugin } from '../src/index.ts'
import {
  BtpFormatError, TYPE_ERROR, TYPE_MESSAGE, TYPE_RESPONSE, TYPE_TRANSFER, decode, encode, encodeIlp, type BtpFrame
} from '../src/codec.ts'
import { RawSocket, authMessage, freePort, fulfiller, newFulfillment, prepare, waitFor } from './helpers.ts'

const corpus = readHexCorpus(fileURLToPath(new URL('./corpus', import.meta.url)))
const isFormatError = (err: unknown): boolean => err instanceof BtpFormatError

/** Frames whose every field has one encoding: all but an ERROR with an unreadable time or non-UTF-8 data. */
function roundTrips (frame: BtpFrame): boolean {
  if (frame.type !== TYPE_ERROR) return true
  return !Number.isNaN(frame.error!.triggeredAt.getTime()) && !frame.error!.data.includes('\ufffd')
}

describe('BTP decoder under fuzzing (random and mutated frames)', () => {
  it('has a corpus of MESSAGE (auth, ilp), RESPONSE, ERROR and TRANSFER frames that decode and encode back', () => {
    expect(corpus).to.have.length.greaterThan(6)
    for (const { name, bytes } of corpus) {
      if (name.startsWith('found-')) continue // inputs fuzzing found: they must only not crash
      else expect(encode(decode(bytes)).equals(bytes), name).to.equal(true)
    }
  })

  it('decode: a BtpFormatError, or a frame that encodes back to exactly its bytes', async () => {
    const report = await fuzzDecoder({
      corpus,
      isTypedError: isFormatError,
      cases: 4000,
      decode: (input) => {
        const frame = decode(input)
        if (roundTrips(frame) && !encode(frame).equals(input)) {
          throw new Error('decoded but encodes to ' + encode(frame).toString('hex'))
        }
      }
    })
    expect(report.decoded).to.be.greaterThan(20)
    expect(report.typedErrors).to.be.greaterThan(2000)
  })

  it('protocol names, error codes and error names are strict ASCII: a byte of 0x80 or more is a BtpFormatError', () => {
    const auth = corpus.find((e) => e.name === 'auth.hex')!.bytes
    const at = auth.indexOf('auth_token')
    const bad = Buffer.from(auth)
    bad[at + 5] = 0xf4 // 't' | 0x80: read as ASCII by btp-packet it is "auth_token" again
    expect(() => decode(bad)).to.throw(BtpFormatError, /protocol name/)
    const error = Buffer.from(corpus.find((e) => e.name === 'error.hex')!.bytes)
    const codeAt = error.indexOf('F00')
    error[codeAt] = 0xc6 // 'F' | 0x80
    expect(() => decode(error)).to.throw(BtpFormatError, /error code/)
    const named = Buffer.from(corpus.find((e) => e.name === 'error.hex')!.bytes)
    named[named.indexOf('NotAccepted')] = 0xce
    expect(() => decode(named)).to.throw(BtpFormatError, /error name/)
  })
})

describe('BTP server under fuzzing (mutated frames on an authenticated socket)', function () {
  this.timeout(60000) // about a second alone
  let server: BtpPlugin | undefined
  const sockets: RawSocket[] = []
  afterEach(async () => {
    for (const raw of sockets.splice(0)) raw.destroy()
    await server?.disconnect()
  })

  it('answers every request frame with a RESPONSE or ERROR of its id, or closes the socket; the session goes on', async () => {
    const port = await freePort()
    const { fulfillment, executionCondition } = newFulfillment()
    server = new BtpPlugin({ listener: { port, secret: 'hunter2', wsOpts: { host: '127.0.0.1', port } }, authTimeout: 500, responseTimeout: 500 })
    server.registerDataHandler(fulfiller(new Map([[executionCondition.toString('hex'), fulfillment]])))
    server.registerMoneyHandler(async () => {})
    const open = async (): Promise<RawSocket> => {
      const raw = await RawSocket.open(port)
      sockets.push(raw)
      raw.send(authMessage('hunter2'))
      await waitFor(() => raw.received.length > 0)
      raw.received.length = 0
      return raw
    }
    const connecting = server.connect()
    let raw = await open()
    await connecting
    const rng = new Rng(Number(process.env.FUZZ_SEED ?? 1))
    const outcomes = { answered: 0, closed: 0, notRequests: 0 }
    for (let i = 0; i < 300; i++) {
      const frame = mutate(rng.pick(corpus).bytes, rng)
      const isRequest = frame.length >= 5 && (frame[0] === TYPE_MESSAGE || frame[0] === TYPE_TRANSFER)
      raw.send(frame)
      if (!isRequest) { outcomes.notRequests++; continue }
      const id = frame.readUInt32BE(1)
      const answered = (): boolean => raw.received.some((b) => b.length >= 5 && b.readUInt32BE(1) === id && (b[0] === TYPE_RESPONSE || b[0] === TYPE_ERROR))
      await waitFor(() => answered() || raw.closed, 2000, `an answer to frame ${frame.toString('hex')} (seed ${rng.seed}, case ${i})`)
      if (answered()) outcomes.answered++
      raw.received.length = 0
      if (raw.closed) { outcomes.closed++; raw = await open() }
    }
    expect(outcomes.answered).to.be.greaterThan(50)
    // and a real request still goes through
    raw.send(encodeIlp(TYPE_MESSAGE, 77, prepare({ destination: 'test.bob', executionCondition })))
    await waitFor(() => raw.received.some((b) => b.readUInt32BE(1) === 77))
    expect(decode(raw.received.find((b) => b.readUInt32BE(1) === 77)!).type).to.equal(TYPE_RESPONSE)
    expect(server.isConnected()).to.equal(true)
  })
})
