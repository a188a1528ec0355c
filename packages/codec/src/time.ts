/**
 * Interledger time (RFC 27): the expiry of a Prepare as 17 ASCII digits `YYYYMMDDHHmmssSSS`, UTC.
 * Read and written with integer arithmetic on the calendar (no Date object per packet), exactly for every
 * year 0000 to 9999; Date.UTC would read years 0000-0099 as 1900-1999.
 */

export const INTERLEDGER_TIME_LENGTH = 17
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the times the 17 digits can hold, in ms since the epoch. */
export const MIN_INTERLEDGER_TIME = -62167219200000
export const MAX_INTERLEDGER_TIME = 253402300799999

const MS_PER_DAY = 86_400_000

function isLeapYear (year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

function daysInMonth (year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** Days from 1970-01-01 to year-month-day (proleptic Gregorian; H. Hinnant's days_from_civil). */
function daysFromCivil (year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146097 + dayOfEra - 719468
}

/** `count` ASCII digits at `start` as a number, or -1 if any byte is not a digit. */
function digits (buf: Uint8Array, start: number, count: number): number {
  let value = 0
  for (let i = start; i < start + count; i++) {
    const c = buf[i]! - 48
    if (!(c >= 0 && c <= 9)) return -1
    value = value * 10 + c
  }
  return value
}

/**
 * The 17 digits at `offset` as ms since the epoch, or NaN if they are not a real UTC time (a non-digit, month 13,
 * 31 April, 29 February of a common year, hour 24, second 60: there are no leap seconds in ILP) or cut short.
 */
export function readInterledgerTime (buf: Uint8Array, offset: number): number {
  if (offset < 0 || offset + INTERLEDGER_TIME_LENGTH > buf.length) return NaN
  const year = digits(buf, offset, 4)
  const month = digits(buf, offset + 4, 2)
  const day = digits(buf, offset + 6, 2)
  const hour = digits(buf, offset + 8, 2)
  const minute = digits(buf, offset + 10, 2)
  const second = digits(buf, offset + 12, 2)
  const ms = digits(buf, offset + 14, 3)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) {
    return NaN
  }
  return daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms
}

// The date digits of the last day written: expiries written one after another are mostly on the same day.
let cachedDay = NaN
const cachedDate = new Uint8Array(8)

function cacheDate (days: number): void {
  // civil_from_days (H. Hinnant)
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const dayOfEra = z - era * 146097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const mp = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const hi = (year / 100) | 0
  writeTwo(cachedDate, 0, hi)
  writeTwo(cachedDate, 2, year - hi * 100)
  writeTwo(cachedDate, 4, month)
  writeTwo(cachedDate, 6, day)
  cachedDay = days
}

/** Two digits of `value` (0..99) at `offset`. */
function writeTwo (buf: Uint8Array, offset: number, value: number): void {
  const tens = (value / 10) | 0
  buf[offset] = 48 + tens
  buf[offset + 1] = 48 + value - tens * 10
}

/**
 * Writes `time` (integer ms since the epoch, MIN_INTERLEDGER_TIME .. MAX_INTERLEDGER_TIME) as the 17 digits at
 * `offset`. A RangeError for any other time: it has no 17-digit form.
 */
export function writeInterledgerTime (buf: Uint8Array, offset: number, time: number): void {
  if (!(time >= MIN_INTERLEDGER_TIME && time <= MAX_INTERLEDGER_TIME) || !Number.isInteger(time)) {
    throw new RangeError(`time has no Interledger time form (years 0000-9999, whole ms): ${time}`)
  }
  const days = Math.floor(time / MS_PER_DAY)
  if (days !== cachedDay) cacheDate(days)
  for (let i = 0; i < 8; i++) buf[offset + i] = cachedDate[i]!
  let rest = time - days * MS_PER_DAY // 0 .. 86,399,999: small integer arithmetic from here
  const ms = rest % 1000
  rest = (rest - ms) / 1000
  const second = rest % 60
  rest = (rest - second) / 60
  const minute = rest % 60
  writeTwo(buf, offset + 8, (rest - minute) / 60)
  writeTwo(buf, offset + 10, minute)
  writeTwo(buf, offset + 12, second)
  const hundreds = (ms / 100) | 0
  buf[offset + 14] = 48 + hundreds
  writeTwo(buf, offset + 15, ms - hundreds * 100)
}
