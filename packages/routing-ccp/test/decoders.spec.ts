/**
 * The CCP decoders under fuzzing: any `peer.route.control` / `peer.route.update` payload decodes or throws a
 * CcpFormatError (F01), within a second, never the library reader's RangeError or Error; and through the whole
 * handler, any payload from a peer ends in a Fulfill or a typed ILP error (a Reject), never anything else. The
 * corpus (test/corpus/*.hex) is ilp-protocol-ccp's encodings. Replay a failure with FUZZ_SEED=<seed>.
 */
import { expect } from 'chai'
import { fileURLToPath } from 'node:url'
import { fuzzDecoder, readHexCorpus, rejectionOf } from '@conn/testkit'
import { isIlpError, InvalidPacketError, type IlpError } from '@conn/types'
import { CcpFormatError, CcpRouting } from '../src/index.ts'
import { parseControl, parseUpdate } from '../src/vendor/ccp.ts'
import { ccpContext, fakeRouting } from './helpers.ts'

const corpus = readHexCorpus(fileURLToPath(new URL('./corpus', import.meta.url)))
const controls = corpus.filter((e) => e.name.startsWith('control'))
const updates = corpus.filter((e) => e.name.startsWith('update'))
const isFormatError = (err: unknown): boolean => err instanceof CcpFormatError

describe('CCP decoders under fuzzing (random and mutated payloads)', function () {
  this.timeout(60000) // well under a second each alone
  it('has a corpus of route control and route update payloads that decode', () => {
    expect(controls).to.have.length.greaterThan(1)
    expect(updates).to.have.length.greaterThan(1)
    for (const { bytes } of controls) parseControl(bytes)
    for (const { bytes } of updates) parseUpdate(bytes)
  })

  it('a malformed payload is a CcpFormatError, an F01 Invalid Packet with the reader\'s reason', () => {
    const err = (() => { try { parseControl(Buffer.from([1, 2, 3])) } catch (e) { return e } })() as CcpFormatError
    expect(err).to.be.instanceOf(CcpFormatError).and.instanceOf(InvalidPacketError)
    expect(err.ilpErrorCode).to.equal('F01')
    expect(err.message).to.equal('invalid route control request: Tried to read 16 bytes, but only 2 bytes available')
  })

  it('parseControl: a CcpFormatError or a request (3,000 cases)', async () => {
    const report = await fuzzDecoder({ corpus: controls, decode: parseControl, isTypedError: isFormatError, cases: 3000, seed: 1 })
    expect(report.decoded).to.be.greaterThan(10)
  })

  it('parseUpdate: a CcpFormatError or an update (3,000 cases)', async () => {
    const report = await fuzzDecoder({ corpus: updates, decode: parseUpdate, isTypedError: isFormatError, cases: 3000, seed: 2 })
    expect(report.decoded).to.be.greaterThan(10)
  })

  describe('through the peer.route handler', () => {
    // real timers: the fuzzer's time limit needs them; the routing is stopped at the end
    it('any payload from a peer is answered with a Fulfill or rejected with a typed ILP error (2,000 cases each way)', async () => {
      const fake = fakeRouting({ routeBroadcastInterval: 1000, routeExpiry: 3000, routeCleanupInterval: 100 })
      const bob = fake.addAccount('bob', 'peer')
      fake.table.setLocal('test.me', { nextHop: '', path: [] })
      const routing = new CcpRouting(fake.api)
      routing.start()
      const codes = new Map<string, number>()
      for (const [destination, entries, seed] of [['peer.route.control', controls, 3], ['peer.route.update', updates, 4]] as const) {
        await fuzzDecoder({
          corpus: entries,
          seed,
          cases: 2000,
          isTypedError: isIlpError,
          decode: async (data) => {
            try {
              await fake.handler(ccpContext(bob, destination, data))
              codes.set('fulfill', (codes.get('fulfill') ?? 0) + 1)
            } catch (err) {
              if (isIlpError(err)) codes.set((err as IlpError).ilpErrorCode, (codes.get((err as IlpError).ilpErrorCode) ?? 0) + 1)
              throw err
            }
          }
        })
      }
      expect(codes.get('F01')).to.be.greaterThan(1000)
      expect(codes.get('fulfill')).to.be.greaterThan(10)
      expect([...codes.keys()].every((c) => c === 'fulfill' || /^F0[01]$/.test(c))).to.equal(true, [...codes.keys()].join())
      expect(await rejectionOf<IlpError>(fake.handler(ccpContext(bob, 'peer.route.update', Buffer.alloc(0))))).to.have.property('ilpErrorCode', 'F01')
      expect(routing.getStatus().peers).to.have.property('bob') // and the routing is still whole
      await routing.stop()
    })
  })
})
