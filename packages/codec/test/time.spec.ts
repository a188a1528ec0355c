import { expect } from 'chai'
import fc from 'fast-check'
import { MAX_INTERLEDGER_TIME, MIN_INTERLEDGER_TIME, readInterledgerTime, writeInterledgerTime } from '../src/index.ts'

/** The 17 digits of `time` from Date's UTC getters: an independent reference for years 0000 to 9999. */
function digitsOf (time: number): string {
  const d = new Date(time)
  const pad = (n: number, w: number): string => String(n).padStart(w, '0')
  return pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1, 2) + pad(d.getUTCDate(), 2) + pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) + pad(d.getUTCSeconds(), 2) + pad(d.getUTCMilliseconds(), 3)
}

function write (time: number): string {
  const buf = Buffer.alloc(17)
  writeInterledgerTime(buf, 0, time)
  return buf.toString('latin1')
}

function read (text: string): number {
  return readInterledgerTime(Buffer.from(text, 'latin1'), 0)
}

describe('interledger time', () => {
  it('writes the 17-digit UTC timestamp YYYYMMDDHHmmssSSS at an offset', () => {
    const buf = Buffer.alloc(20, 0x2e)
    writeInterledgerTime(buf, 2, Date.UTC(2026, 0, 5, 3, 4, 5, 6))
    expect(buf.toString('ascii')).to.equal('..20260105030405006.')
  })

  it('round-trips the first and last times it can hold, the epoch and leap days', () => {
    for (const time of [
      MIN_INTERLEDGER_TIME, MAX_INTERLEDGER_TIME, 0, -1, Date.UTC(2000, 1, 29, 0, 0, 0, 1), Date.UTC(2028, 1, 29, 12),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999)
    ]) {
      expect(read(write(time)), digitsOf(time)).to.equal(time)
      expect(write(time)).to.equal(digitsOf(time))
    }
    expect(write(MIN_INTERLEDGER_TIME)).to.equal('00000101000000000')
    expect(write(MAX_INTERLEDGER_TIME)).to.equal('99991231235959999')
  })

  it('reads years 0000-0099 as written (Date.UTC, and so ilp-packet, would read 1900-1999)', () => {
    expect(new Date(read('00500615120000000')).toISOString()).to.equal('0050-06-15T12:00:00.000Z')
    expect(read('00000229000000000')).to.equal(Date.parse('0000-02-29T00:00:00.000Z')) // year 0 is a leap year
  })

  it('reads an impossible or cut-short timestamp as NaN', () => {
    for (const text of ['20260230000000000', '21000229120000000', '20261301000000000', '20260115240000000', '20260115125960000', '+0260115125959000', '2026011512595900']) {
      expect(read(text), text).to.be.NaN
    }
  })

  it('refuses to write a time it cannot hold: before 0000, after 9999, fractional ms, NaN (RangeError)', () => {
    for (const time of [MIN_INTERLEDGER_TIME - 1, MAX_INTERLEDGER_TIME + 1, 1.5, NaN, Infinity]) {
      expect(() => write(time), String(time)).to.throw(RangeError)
    }
  })

  it('property: every time from 0000 to 9999 is written as Date prints it and reads back', () => {
    fc.assert(fc.property(fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME }), (time) => {
      expect(write(time)).to.equal(digitsOf(time))
      expect(read(write(time))).to.equal(time)
    }), { numRuns: 2000 })
  })

  it('property: times written one after another, on the same day or not, are each written right (the date is cached per day)', () => {
    const day = 86_400_000
    const times = fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME - day }).chain((t) =>
      fc.array(fc.oneof(fc.integer({ min: t, max: t + day }), fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME })), { minLength: 2, maxLength: 20 }))
    fc.assert(fc.property(times, (list) => {
      for (const time of list) expect(write(time), String(time)).to.equal(digitsOf(time))
    }), { numRuns: 300 })
  })

  it('property: 17 bytes either read as NaN or as a time that writes back the same 17 bytes', () => {
    // valid timestamps with up to three bytes replaced by digits or their neighbours '/' and ':', or any byte
    const near = fc.tuple(
      fc.integer({ min: MIN_INTERLEDGER_TIME, max: MAX_INTERLEDGER_TIME }),
      fc.array(fc.tuple(fc.nat(16), fc.oneof(fc.integer({ min: 0x2f, max: 0x3a }), fc.integer({ min: 0, max: 255 }))), { maxLength: 3 })
    ).map(([time, changes]) => {
      const bytes = Buffer.from(write(time), 'latin1')
      for (const [at, byte] of changes) bytes[at] = byte
      return bytes
    })
    let valid = 0
    fc.assert(fc.property(near, (bytes) => {
      const time = readInterledgerTime(bytes, 0)
      if (Number.isNaN(time)) return
      valid++
      expect(write(time)).to.equal(bytes.toString('latin1'))
    }), { numRuns: 2000 })
    expect(valid).to.be.greaterThan(200) // the property was tested on valid input, not only on NaN
  })

  it('property: a valid calendar timestamp is read as Date.UTC reads it (years 100 and later)', () => {
    fc.assert(fc.property(fc.date({ min: new Date('0100-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (date) => {
      const d = date
      expect(read(digitsOf(d.getTime()))).to.equal(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()))
    }), { numRuns: 500 })
  })
})
