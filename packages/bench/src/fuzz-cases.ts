/**
 * The fuzzer's cases. Each case is drawn from its own seeded generator (seed and case number), so a failing case
 * can be run again alone (`FUZZ_SEED=<seed> FUZZ_ONLY=<n>`). A case runs against a live conn and returns how conn
 * answered (`ilp:F01`, `btp-error:F00`, `ws-close:1009`, `http:401`, `closed`, ...); it throws Hang when conn
 * neither answered nor closed in time, and Unexpected when the answer is one conn must never give (an
 * authenticated session for a wrong secret, an admin request honoured without the token, ...).
 *
 * Kinds: before authentication, TCP garbage, idle TCP and WebSocket sessions with bad auth on every BTP port, the admin API
 * without (or with) its token, connect bursts; after authenticating as the victim account, malformed BTP, malformed
 * ILP inside valid BTP, hostile-but-valid Prepares and oversized frames.
 */
import { randomBytes } from 'node:crypto'
import { lengthPrefix } from '@conn/codec'
import { BTP_ERROR, BTP_MESSAGE, BTP_RESPONSE, btpErrorCode, encodeBtp, findIlp, readLength, type ProtocolData } from './btp-ws.ts'
import { Hang, OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, WsConn, frame, httpStatus, rawExchange, tcpConnect } from './fuzz-net.ts'

const BTP_TRANSFER = 7

/** What a case is aimed at. */
export interface Target {
  ilpAddress: string
  /** Every BTP listener, by account id. */
  btpPorts: Record<string, number>
  /** The account whose secret the attacker has (its session may be replaced, its balance may move). */
  victim: string
  victimSecret: string
  adminPort: number
  adminToken: string
  /** ms a case waits for any one answer. */
  timeout: number
}

/** A target as one case sees it. */
interface CaseTarget extends Target {
  lastRequestId: number
}

/** An answer conn must never give. */
export class Unexpected extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'Unexpected'
  }
}

export const KINDS = [
  'tcp-garbage', 'tcp-idle', 'ws-bad-auth', 'btp-malformed', 'ilp-malformed', 'ilp-hostile', 'oversized', 'connect-burst', 'admin'
] as const
export type Kind = typeof KINDS[number]
const WEIGHTS: Record<Kind, number> = {
  'tcp-garbage': 12, 'tcp-idle': 1, 'ws-bad-auth': 14, 'btp-malformed': 16, 'ilp-malformed': 18, 'ilp-hostile': 18, oversized: 5, 'connect-burst': 3, admin: 14
}

export interface FuzzCase {
  index: number
  kind: Kind
  /** Which variant of the kind, for the failure report. */
  variant: string
  run: (target: Target) => Promise<string>
}

// ---- seeded randomness ---------------------------------------------------------------------------------

/** sfc32, seeded from (seed, case number): small, fast, good enough to pick bytes and variants. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number, stream = 0) {
    this.a = seed >>> 0
    this.b = (stream * 0x9e3779b9) >>> 0
    this.c = 0x243f6a88
    this.d = 1
    for (let i = 0; i < 16; i++) this.u32()
  }

  u32 (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) >>> 0
    return t
  }

  /** An integer in [0, n). */
  int (n: number): number { return Math.floor((this.u32() / 0x100000000) * n) }
  /** An integer in [lo, hi]. */
  range (lo: number, hi: number): number { return lo + this.int(hi - lo + 1) }
  chance (p: number): boolean { return this.u32() / 0x100000000 < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)]! }
  bytes (n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }

  u64 (): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()) }

  /** A copy of `buf` with a few bytes flipped, cut, or inserted. */
  mutate (buf: Buffer): Buffer {
    let out = Buffer.from(buf)
    const edits = this.range(1, 4)
    for (let e = 0; e < edits; e++) {
      const at = out.length === 0 ? 0 : this.int(out.length)
      switch (this.int(5)) {
        case 0: if (out.length > 0) out[at] = out[at]! ^ (1 << this.int(8)); break
        case 1: if (out.length > 0) out[at] = this.u32() & 0xff; break
        case 2: out = out.subarray(0, at); break
        case 3: out = Buffer.concat([out.subarray(0, at), this.bytes(this.range(1, 8)), out.subarray(at)]); break
        default: if (out.length > 0) out[at] = this.pick([0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x88, 0xff])
      }
    }
    return out
  }
}

// ---- ILP and BTP bytes ----------------------------------------------------------------------------------

/** An ILP timestamp (17 digits, UTC). */
export function ilpTime (date: Date): string {
  return date.toISOString().replace(/[-:T.Z]/g, '')
}

export interface PrepareFields {
  amount: bigint
  expiresAt: string
  condition: Buffer
  destination: Buffer
  data: Buffer
}

/** An ILP Prepare written field by field, so any field can hold anything. */
export function encodePrepare (p: PrepareFields): Buffer {
  const amount = Buffer.alloc(8)
  amount.writeBigUInt64BE(p.amount & 0xffffffffffffffffn)
  const body = Buffer.concat([
    amount, Buffer.from(p.expiresAt, 'latin1'), p.condition,
    lengthPrefix(p.destination.length), p.destination, lengthPrefix(p.data.length), p.data
  ])
  return Buffer.concat([Buffer.from([12]), lengthPrefix(body.length), body])
}

/** A well-formed Prepare to `destination` that nobody will fulfil (a random condition). */
export function validPrepare (destination: string, amount = 10n, data: Buffer = Buffer.alloc(0)): Buffer {
  return encodePrepare({
    amount,
    expiresAt: ilpTime(new Date(Date.now() + 5000)),
    condition: randomBytes(32),
    destination: Buffer.from(destination, 'ascii'),
    data
  })
}

function reject (code: string, triggeredBy: string): Buffer {
  const body = Buffer.concat([Buffer.from(code, 'ascii'), lengthPrefix(triggeredBy.length), Buffer.from(triggeredBy, 'ascii'), lengthPrefix(0), lengthPrefix(0)])
  return Buffer.concat([Buffer.from([14]), lengthPrefix(body.length), body])
}

const ilpData = (ilp: Buffer): ProtocolData[] => [{ name: 'ilp', contentType: 0, data: ilp }]
export const btpMessage = (requestId: number, ilp: Buffer): Buffer => encodeBtp(BTP_MESSAGE, requestId, ilpData(ilp))

/** The label of an ILP reply: `ilp:fulfill`, `ilp:<code>`, or `ilp:unreadable`. */
function ilpLabel (ilp: Buffer): string {
  try {
    if (ilp[0] === 13) return 'ilp:fulfill'
    if (ilp[0] === 14) {
      const [, start] = readLength(ilp, 1)
      const code = ilp.toString('latin1', start, start + 3)
      return /^[A-Z][0-9A-Z]{2}$/.test(code) ? `ilp:${code}` : 'ilp:reject-odd-code'
    }
  } catch {}
  return 'ilp:unreadable'
}

function btpLabel (btp: Buffer): string {
  try {
    if (btp[0] === BTP_ERROR) return `btp-error:${btpErrorCode(btp)}`
    if (btp[0] === BTP_RESPONSE) {
      const at = findIlp(btp)
      return at === undefined ? 'btp-response' : ilpLabel(btp.subarray(at[0], at[1]))
    }
  } catch {}
  return 'btp-unreadable'
}

/**
 * Waits for the answer to request `requestId`: its label, or `ws-close:<code>` / `closed`. Requests conn sends us
 * meanwhile (a Prepare routed back to the victim) are rejected at once, so they never hold anything up.
 */
async function answerTo (conn: WsConn, requestId: number, timeout: number): Promise<string> {
  const deadline = Date.now() + timeout
  for (;;) {
    const event = await conn.next(Math.max(1, deadline - Date.now()), `answer to request ${requestId}`)
    if (event.kind === 'closed') return event.code === undefined ? 'closed' : `ws-close:${event.code}`
    const btp = event.data
    if (btp.length < 5) continue
    const id = btp.readUInt32BE(1)
    if (btp[0] === BTP_MESSAGE) {
      conn.send(encodeBtp(BTP_RESPONSE, id, ilpData(reject('F99', 'test.fuzz.victim'))))
      continue
    }
    if (id === requestId && (btp[0] === BTP_RESPONSE || btp[0] === BTP_ERROR)) return btpLabel(btp)
  }
}

const AUTH_ID = 1

function authMessage (token: Buffer | string, username = '', requestId = AUTH_ID): Buffer {
  return encodeBtp(BTP_MESSAGE, requestId, [
    { name: 'auth', contentType: 0, data: Buffer.alloc(0) },
    { name: 'auth_username', contentType: 1, data: Buffer.from(username) },
    { name: 'auth_token', contentType: 1, data: typeof token === 'string' ? Buffer.from(token) : token }
  ])
}

/**
 * A session authenticated as the victim (it replaces the victim's previous one), or `session-refused:1013` when the
 * listener already has its fill of sockets waiting to authenticate (a connect burst running at the same time).
 */
async function victimSession (t: Target): Promise<WsConn | string> {
  const conn = await WsConn.open(t.btpPorts[t.victim]!, t.timeout)
  if (!(conn instanceof WsConn)) throw new Unexpected(`victim's BTP port refused the WebSocket handshake: ${conn.status}`)
  conn.send(authMessage(t.victimSecret))
  const answer = await answerTo(conn, AUTH_ID, t.timeout)
  if (answer === 'ws-close:1013') return 'session-refused:1013'
  if (answer !== 'btp-response') {
    conn.destroy()
    throw new Unexpected(`the victim's own secret was not accepted: ${answer}`)
  }
  return conn
}

/** Runs `body` on a fresh victim session and always closes it. */
async function withVictim (t: CaseTarget, body: (conn: WsConn) => Promise<string>): Promise<string> {
  const conn = await victimSession(t)
  if (typeof conn === 'string') return conn
  try {
    return await body(conn)
  } finally {
    conn.destroy()
  }
}

/** The next request id of this case (ids restart with each case, so a replayed case sends the same bytes). */
const requestId = (t: CaseTarget): number => ++t.lastRequestId

/**
 * Sends bytes that may be no valid request, then a valid probe Prepare (to an unreachable address) on the same
 * session. The label is conn's first reaction to the bad bytes: its ERROR or answer, a close, or `ignored` when
 * only the probe was answered (so the session survived them).
 */
async function badThenProbe (conn: WsConn, t: CaseTarget, bad: Buffer[], badId: number | undefined): Promise<string> {
  for (const bytes of bad) conn.write(bytes)
  const probeId = requestId(t)
  conn.send(btpMessage(probeId, validPrepare(`${t.ilpAddress}.nobody.probe`)))
  const deadline = Date.now() + t.timeout
  let first: string | undefined
  for (;;) {
    const event = await conn.next(Math.max(1, deadline - Date.now()), 'answer to the probe after bad bytes')
    if (event.kind === 'closed') return first ?? (event.code === undefined ? 'closed' : `ws-close:${event.code}`)
    const btp = event.data
    if (btp.length < 5) continue
    const id = btp.readUInt32BE(1)
    if (btp[0] === BTP_MESSAGE) {
      conn.send(encodeBtp(BTP_RESPONSE, id, ilpData(reject('F99', 'test.fuzz.victim'))))
      continue
    }
    if (id === probeId && btp[0] === BTP_ERROR && first === undefined) {
      // a mutated frame whose request id became the probe's: its ERROR comes first, the probe's answer after it
      first = btpLabel(btp)
      continue
    }
    if (id === probeId) {
      const probe = btpLabel(btp)
      if (probe !== 'ilp:F02') throw new Unexpected(`probe after bad bytes answered ${probe}, expected ilp:F02`)
      return first ?? 'ignored'
    }
    if (first === undefined && (badId === undefined || id === badId)) first = btpLabel(btp)
  }
}

// ---- the kinds ------------------------------------------------------------------------------------------

type Maker = (rng: Rng) => { variant: string, run: (t: CaseTarget) => Promise<string> }

const anyBtpPort = (rng: Rng, t: Target): number => rng.pick(Object.values(t.btpPorts))

/** Random bytes, or an HTTP-looking request gone wrong, on a BTP port; then our FIN. */
const tcpGarbage: Maker = (rng) => {
  const variant = rng.pick(['random', 'http-garbage-headers', 'upgrade-bad-key', 'upgrade-bad-version', 'slow-bytes', 'null-bytes', 'no-upgrade'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      const port = anyBtpPort(r, t)
      let chunks: Buffer[]
      switch (variant) {
        case 'random': chunks = [r.bytes(r.range(1, 4096))]; break
        case 'http-garbage-headers': chunks = [Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), r.bytes(r.range(1, 2000)), Buffer.from('\r\n\r\n')])]; break
        case 'upgrade-bad-key': chunks = [Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${r.bytes(5).toString('hex')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)]; break
        case 'upgrade-bad-version': {
          // any version but the two that exist (8 and 13)
          const version = r.pick([0, 1, 7, 9, 12, 14, 99, -1, 1300, 0.5])
          chunks = [Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n\r\n`)]
          break
        }
        case 'slow-bytes': chunks = Array.from({ length: r.range(2, 20) }, () => r.bytes(r.range(1, 3))); break
        case 'null-bytes': chunks = [Buffer.alloc(r.range(1, 8192))]; break
        default: chunks = [Buffer.from(`${r.pick(['GET', 'POST', 'PUT', 'OPTIONS', 'CONNECT', 'BREW'])} /${r.bytes(4).toString('hex')} HTTP/1.${r.int(2)}\r\nHost: x\r\n\r\n`)]
      }
      const answer = await rawExchange(port, chunks, t.timeout)
      const status = httpStatus(answer)
      if (status === 101) throw new Unexpected('a BTP port upgraded a request that was no valid WebSocket handshake')
      return status === undefined ? (answer.received === 0 ? 'closed' : 'closed-after-bytes') : `http:${status}`
    }
  }
}

/**
 * A TCP connection to any BTP port that sends nothing, or half an upgrade request, and stays open: conn must close
 * it (after the listener's `authTimeout`; the runner sets 1 s), else the case hangs.
 */
const tcpIdle: Maker = (rng) => {
  const variant = rng.pick(['silent', 'half-request', 'request-line'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      const bytes = variant === 'silent' ? [] : variant === 'half-request' ? [Buffer.from('GET / HTTP/1.1\r\nUpgrade: websocket\r\n')] : [Buffer.from('GET / HTTP/1.1')]
      const answer = await rawExchange(anyBtpPort(r, t), bytes, t.timeout, false)
      const status = httpStatus(answer)
      return status === undefined ? (answer.received === 0 ? 'closed' : 'closed-after-bytes') : `http:${status}`
    }
  }
}

/** A WebSocket session on any BTP port that authenticates wrongly; it must never be authenticated. */
const wsBadAuth: Maker = (rng) => {
  const variant = rng.pick(['wrong-token', 'empty-token', 'victim-token-other-port', 'token-prefix', 'token-extra', 'no-auth-protocol',
    'username', 'prepare-first', 'random-frame', 'text-frame', 'ping-then-wrong', 'close-frame', 'response-type', 'fragmented-wrong',
    'bad-handshake'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      const others = Object.keys(t.btpPorts).filter((id) => id !== t.victim)
      const account = variant === 'victim-token-other-port' ? r.pick(others) : r.pick(Object.keys(t.btpPorts))
      const port = t.btpPorts[account]!
      if (variant === 'bad-handshake') {
        const answer = await WsConn.open(port, t.timeout, r.chance(0.5) ? { noKey: true } : { headers: ['Sec-WebSocket-Version: 7'] })
        if (answer instanceof WsConn) { answer.destroy(); throw new Unexpected('a handshake without a valid key or version was upgraded') }
        return `handshake:${/^HTTP\/1\.1 (\d{3})/.exec(answer.status)?.[1] ?? answer.status}`
      }
      const conn = await WsConn.open(port, t.timeout)
      if (!(conn instanceof WsConn)) return `handshake:${/^HTTP\/1\.1 (\d{3})/.exec(conn.status)?.[1] ?? conn.status}`
      try {
        const secret = account === t.victim ? t.victimSecret : 'not-the-secret'
        let bytes: Buffer
        switch (variant) {
          case 'wrong-token': bytes = frame(authMessage(r.bytes(r.range(1, 40)).toString('base64'))); break
          case 'empty-token': bytes = frame(authMessage('')); break
          case 'victim-token-other-port': bytes = frame(authMessage(t.victimSecret)); break
          case 'token-prefix': bytes = frame(authMessage(secret.slice(0, r.range(0, secret.length - 1)))); break
          case 'token-extra': bytes = frame(authMessage(secret + r.bytes(r.range(1, 4)).toString('hex'))); break
          case 'no-auth-protocol': bytes = frame(encodeBtp(BTP_MESSAGE, AUTH_ID, [{ name: 'auth_token', contentType: 1, data: Buffer.from('x') }])); break
          case 'username': bytes = frame(authMessage('wrong', r.bytes(6).toString('hex'))); break
          case 'prepare-first': bytes = frame(btpMessage(AUTH_ID, validPrepare(`${t.ilpAddress}.bob`))); break
          case 'random-frame': bytes = frame(r.bytes(r.range(0, 300))); break
          case 'text-frame': bytes = frame(Buffer.from('{"auth":"' + r.bytes(8).toString('hex') + '"}'), { opcode: OP_TEXT }); break
          case 'ping-then-wrong': bytes = Buffer.concat([frame(Buffer.from('hi'), { opcode: OP_PING }), frame(authMessage('nope'))]); break
          case 'close-frame': bytes = frame(Buffer.from([0x03, 0xe8]), { opcode: OP_CLOSE }); break
          case 'response-type': bytes = frame(encodeBtp(BTP_RESPONSE, AUTH_ID, [])); break
          default: {
            const whole = authMessage('wrong-' + r.bytes(4).toString('hex'))
            const cut = r.range(1, whole.length - 1)
            bytes = Buffer.concat([frame(whole.subarray(0, cut), { fin: false }), frame(whole.subarray(cut), { opcode: 0 })])
          }
        }
        conn.write(bytes)
        const deadline = Date.now() + t.timeout
        let label: string | undefined
        for (;;) {
          const event = await conn.next(Math.max(1, deadline - Date.now()), 'answer to a bad auth')
          if (event.kind === 'closed') return label ?? (event.code === undefined ? 'closed' : `ws-close:${event.code}`)
          if (event.data[0] === BTP_RESPONSE) throw new Unexpected(`${variant}: conn accepted the authentication (BTP RESPONSE) on ${account}'s port`)
          label ??= btpLabel(event.data)
        }
      } finally {
        conn.destroy()
      }
    }
  }
}

/** After a valid auth: frames that are no valid BTP (or BTP nobody asked for), then a probe. */
const btpMalformed: Maker = (rng) => {
  const variant = rng.pick(['random', 'mutated-message', 'truncated', 'unknown-type', 'length-lie', 'stray-response', 'stray-error',
    'zero-protocols', 'many-protocols', 'huge-count', 'transfer-junk', 'transfer', 'ws-protocol-error', 'several'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => await withVictim(t, async (conn) => {
      const r = new Rng(seed)
      const id = requestId(t)
      const message = (): Buffer => btpMessage(id, validPrepare(`${t.ilpAddress}.nobody`))
      let bad: Buffer
      let badId: number | undefined = id
      switch (variant) {
        case 'random': bad = r.bytes(r.range(0, 200)); badId = undefined; break
        case 'mutated-message': bad = r.mutate(message()); break
        case 'truncated': { const m = message(); bad = m.subarray(0, r.range(0, m.length - 1)); break }
        case 'unknown-type': { bad = message(); bad[0] = r.pick([0, 3, 4, 5, 8, 9, 100, 255]); break }
        case 'length-lie': { bad = message(); bad[5] = r.pick([0, 1, 0x7f, 0x80, 0x81, 0x84, 0xff]); break }
        case 'stray-response': bad = encodeBtp(BTP_RESPONSE, r.u32(), ilpData(r.bytes(r.range(0, 64)))); badId = undefined; break
        case 'stray-error': bad = Buffer.concat([Buffer.from([BTP_ERROR]), r.bytes(4), lengthPrefix(3), Buffer.from('F00')]); badId = undefined; break
        case 'zero-protocols': bad = encodeBtp(BTP_MESSAGE, id, []); break
        case 'many-protocols': bad = encodeBtp(BTP_MESSAGE, id, Array.from({ length: r.range(2, 200) }, (_, i) => ({ name: `p${i}`, contentType: r.int(3), data: r.bytes(r.range(0, 20)) }))); break
        case 'huge-count': { bad = encodeBtp(BTP_MESSAGE, id, [{ name: 'ilp', contentType: 0, data: Buffer.alloc(0) }]); const at = 5 + 1; bad[at + 1] = 0xff; break }
        case 'transfer-junk': bad = Buffer.concat([Buffer.from([BTP_TRANSFER]), Buffer.from([0, 0, 0, 1]), r.bytes(r.range(0, 20))]); bad.writeUInt32BE(id, 1); break
        case 'transfer': {
          // a well-formed TRANSFER of a random amount: the victim says it paid us (its balance may move)
          const amount = Buffer.alloc(8)
          amount.writeBigUInt64BE(r.chance(0.5) ? BigInt(r.range(0, 1000)) : r.u64())
          const contents = Buffer.concat([amount, Buffer.from([1, 0])])
          bad = Buffer.concat([Buffer.from([BTP_TRANSFER]), Buffer.alloc(4), lengthPrefix(contents.length), contents])
          bad.writeUInt32BE(id, 1)
          break
        }
        case 'ws-protocol-error': {
          const how = r.int(4)
          const bytes = how === 0
            ? frame(message(), { mask: false })
            : how === 1 ? frame(message(), { rsv: r.range(1, 7) }) : how === 2 ? frame(message(), { opcode: r.pick([3, 4, 5, 0xb, 0xf]) }) : frame(message(), { opcode: 0 })
          return await badThenProbe(conn, t, [bytes], undefined)
        }
        default: {
          const frames = Array.from({ length: r.range(2, 10) }, () => frame(r.mutate(message())))
          return await badThenProbe(conn, t, frames, undefined)
        }
      }
      return await badThenProbe(conn, t, [frame(bad)], badId)
    })
  }
}

/** After a valid auth: a valid BTP MESSAGE whose `ilp` data is a broken ILP packet. */
const ilpMalformed: Maker = (rng) => {
  const variant = rng.pick(['random', 'mutated-prepare', 'truncated', 'wrong-type', 'bad-expiry', 'bad-destination', 'envelope-lie',
    'trailing', 'empty', 'fulfill-as-request', 'reject-as-request', 'data-too-long'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => await withVictim(t, async (conn) => {
      const r = new Rng(seed)
      const good = (): Buffer => validPrepare(`${t.ilpAddress}.${r.pick(['bob', 'carol', 'nobody'])}`, BigInt(r.range(0, 1000)), r.bytes(r.range(0, 40)))
      let ilp: Buffer
      switch (variant) {
        case 'random': ilp = r.bytes(r.range(1, 300)); break
        case 'mutated-prepare': ilp = r.mutate(good()); break
        case 'truncated': { const p = good(); ilp = p.subarray(0, r.range(1, p.length - 1)); break }
        case 'wrong-type': { ilp = good(); ilp[0] = r.pick([0, 1, 11, 13, 14, 15, 255]); break }
        case 'bad-expiry': {
          ilp = good()
          ilp.write(r.pick(['99999999999999999', '20261399999999999', '2026111111111111x', 'abcdefghijklmnopq', '00000000000000000', '20260230000000000']), 2 + 8, 'latin1')
          break
        }
        case 'bad-destination': {
          const destinations = ['', 'x', 'test', 'not an address', 'test..x', 'test.', '.test', 'test.fuzz.bob\x00', 'tést.fuzz', 'test.fuzz.' + 'a'.repeat(1100), 'g', '\xff\xfe']
          ilp = encodePrepare({ amount: 10n, expiresAt: ilpTime(new Date(Date.now() + 5000)), condition: randomBytes(32), destination: Buffer.from(r.pick(destinations), 'latin1'), data: Buffer.alloc(0) })
          break
        }
        case 'envelope-lie': { ilp = good(); ilp[1] = r.pick([0, 1, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff]); break }
        case 'trailing': ilp = Buffer.concat([good(), r.bytes(r.range(1, 10))]); break
        case 'empty': ilp = Buffer.alloc(0); break
        case 'fulfill-as-request': ilp = Buffer.concat([Buffer.from([13, 34]), r.bytes(32), Buffer.from([0])]); break
        case 'reject-as-request': ilp = reject('F00', 'test.x'); break
        default: ilp = validPrepare(`${t.ilpAddress}.bob`, 1n, r.bytes(32768 + r.int(100)))
      }
      const id = requestId(t)
      conn.send(btpMessage(id, ilp))
      const answer = await answerTo(conn, id, t.timeout)
      if (answer === 'ilp:fulfill' && variant !== 'mutated-prepare') throw new Unexpected(`${variant}: a broken ILP packet was fulfilled`)
      return answer
    })
  }
}

const MAX_U64 = 0xffffffffffffffffn
/** The condition of peer protocol requests (ILDCP, CCP): SHA-256 of 32 zero bytes. */
const PEER_PROTOCOL_CONDITION = Buffer.from('Zmh6rfhivXdsj8GLjp+OIAiXFIVu4jOzkCpZHQ1fKSU=', 'base64')

/** After a valid auth: well-formed Prepares with odd destinations, amounts, expiries and data. */
const ilpHostile: Maker = (rng) => {
  const seed = rng.u32()
  const destinationKind = rng.pick(['canary', 'bystander', 'offline', 'self', 'connector', 'unknown', 'ildcp', 'ccp-control', 'ccp-update',
    'peer-other', 'long', 'odd-chars', 'other-scheme', 'sub-of-canary'])
  return {
    variant: destinationKind,
    run: async (t) => await withVictim(t, async (conn) => {
      const r = new Rng(seed)
      const a = t.ilpAddress
      const destinations: Record<string, string> = {
        canary: `${a}.${r.pick(['alice', 'bob'])}`,
        bystander: `${a}.carol`,
        offline: `${a}.dave`,
        self: `${a}.${t.victim}`,
        connector: a,
        unknown: `${a}.nobody${r.int(1000)}`,
        ildcp: 'peer.config',
        'ccp-control': 'peer.route.control',
        'ccp-update': 'peer.route.update',
        'peer-other': `peer.${r.pick(['balance', 'settle', 'x', 'config.x'])}`,
        long: `${a}.bob.${'x'.repeat(r.range(900, 1010))}`.slice(0, 1023),
        'odd-chars': `${a}.${r.pick(['~', '_-~', 'A-Z_', '0', '---', 'bob~', 'bob_'])}`,
        'other-scheme': `${r.pick(['g', 'private', 'example', 'local', 'self', 'test1', 'test2', 'test3'])}.${r.bytes(3).toString('hex')}`,
        'sub-of-canary': `${a}.bob.${r.bytes(4).toString('hex')}`
      }
      const destination = destinations[destinationKind]!
      const amount = r.pick([0n, 1n, BigInt(r.range(2, 1_000_000)), 2n ** 53n + 1n, 2n ** 63n, MAX_U64 - 1n, MAX_U64, r.u64()])
      const now = Date.now()
      const expiry = r.pick([
        ilpTime(new Date(now - r.range(1, 10_000_000))), ilpTime(new Date(now)), ilpTime(new Date(now + r.range(1, 1500))),
        ilpTime(new Date(now + r.range(1500, 4000))), '99991231235959999', '00010101000000000', ilpTime(new Date(now + 3_600_000))
      ])
      const data = r.pick([Buffer.alloc(0), r.bytes(r.range(1, 64)), r.bytes(32767), Buffer.from('ECHOECHOECHOECHOECHOECHOECHOECHO\x00')])
      // half the ILDCP requests carry the peer protocols' condition, so conn answers them (a Fulfill)
      const condition = destinationKind === 'ildcp' && r.chance(0.5) ? PEER_PROTOCOL_CONDITION : r.bytes(32)
      const ilp = encodePrepare({ amount, expiresAt: expiry, condition, destination: Buffer.from(destination, 'ascii'), data })
      const id = requestId(t)
      conn.send(btpMessage(id, ilp))
      const answer = await answerTo(conn, id, t.timeout)
      if (answer === 'ilp:fulfill' && amount > 0n && destinationKind !== 'ildcp') {
        throw new Unexpected(`a Prepare of ${amount} to ${destination.slice(0, 60)} with a random condition was fulfilled`)
      }
      return answer
    })
  }
}

/** Frames over the 1 MiB limit (announced or real), before or after auth; a big but allowed ILP packet; a flood of requests in one write. */
const oversized: Maker = (rng) => {
  const variant = rng.pick(['announced-64MiB', 'announced-64MiB-unauth', 'real-1MiB+1', 'msb-length', 'fragments-over-limit', 'big-ilp', 'request-flood'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      if (variant === 'announced-64MiB-unauth') {
        const conn = await WsConn.open(anyBtpPort(r, t), t.timeout)
        if (!(conn instanceof WsConn)) return `handshake:${conn.status}`
        try {
          conn.write(frame(r.bytes(16), { announced: 64n << 20n }))
          const code = await conn.closed(t.timeout)
          return code === undefined ? 'closed' : `ws-close:${code}`
        } finally { conn.destroy() }
      }
      return await withVictim(t, async (conn) => {
        switch (variant) {
          case 'announced-64MiB': conn.write(frame(r.bytes(16), { announced: 64n << 20n })); break
          case 'real-1MiB+1': conn.write(frame(Buffer.alloc((1 << 20) + 1, 7))); break
          case 'msb-length': conn.write(frame(r.bytes(16), { announced: (1n << 63n) | 16n })); break
          case 'fragments-over-limit': {
            const piece = Buffer.alloc(256 * 1024, 3)
            for (let i = 0; i < 5; i++) conn.write(frame(piece, { fin: false, opcode: i === 0 ? OP_BINARY : 0 }))
            conn.write(frame(piece, { opcode: 0 }))
            break
          }
          case 'request-flood': {
            // hundreds of Prepares in one write: every one must be answered
            const n = r.range(200, 2000)
            const ids = new Set<number>()
            const frames: Buffer[] = []
            for (let i = 0; i < n; i++) {
              const id = requestId(t)
              ids.add(id)
              frames.push(frame(btpMessage(id, validPrepare(`${t.ilpAddress}.${r.pick(['nobody', 'carol', 'dave', 'bob'])}`, BigInt(r.range(0, 100))))))
            }
            conn.write(Buffer.concat(frames))
            const deadline = Date.now() + t.timeout
            while (ids.size > 0) {
              const event = await conn.next(Math.max(1, deadline - Date.now()), `answers to ${ids.size} of ${n} Prepares sent at once`)
              if (event.kind === 'closed') return `flood:closed-after-${n - ids.size === 0 ? 'none' : 'some'}`
              if (event.data.length >= 5 && (event.data[0] === BTP_RESPONSE || event.data[0] === BTP_ERROR)) ids.delete(event.data.readUInt32BE(1))
            }
            return 'flood:all-answered'
          }
          default: {
            const id = requestId(t)
            conn.send(btpMessage(id, validPrepare(`${t.ilpAddress}.bob`, 1n, r.bytes(r.range(40_000, 600_000)))))
            return await answerTo(conn, id, t.timeout)
          }
        }
        const code = await conn.closed(t.timeout)
        return code === undefined ? 'closed' : `ws-close:${code}`
      })
    }
  }
}

/**
 * Many connections at once: TCP connects that leave at once, WebSocket handshakes that never authenticate (more
 * than the 100 a listener lets wait), wrong auths, or valid auths racing for the victim's session. Every socket
 * must be answered (upgraded, refused, closed) in time; we close the rest ourselves.
 */
const connectBurst: Maker = (rng) => {
  const variant = rng.pick(['tcp', 'ws-idle', 'ws-wrong-auth', 'ws-victim-auth', 'admin-tcp'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      const port = variant === 'admin-tcp' ? t.adminPort : variant === 'ws-victim-auth' ? t.btpPorts[t.victim]! : anyBtpPort(r, t)
      const n = variant === 'ws-victim-auth' ? r.range(3, 12) : variant === 'ws-idle' ? r.range(90, 160) : r.range(20, 120)
      if (variant === 'tcp' || variant === 'admin-tcp') {
        await Promise.all(Array.from({ length: n }, async () => {
          const socket = await tcpConnect(port, t.timeout)
          if (r.chance(0.5)) socket.write(r.bytes(r.range(1, 32)))
          socket.destroy()
        }))
        return 'all-connected'
      }
      const conns: WsConn[] = []
      try {
        const opened = await Promise.all(Array.from({ length: n }, async () => await WsConn.open(port, t.timeout)))
        for (const c of opened) if (c instanceof WsConn) conns.push(c)
        const refused = opened.length - conns.length
        if (variant === 'ws-idle') {
          // give conn a moment to close those over its limit, then count them
          await new Promise((resolve) => setTimeout(resolve, 50))
          const closed = conns.filter((c) => c.isClosed).length
          return closed + refused > 0 ? 'some-refused' : 'all-waiting'
        }
        const token = variant === 'ws-victim-auth' ? t.victimSecret : 'wrong'
        for (const c of conns) c.send(authMessage(token))
        const labels = await Promise.all(conns.map(async (c) => await answerTo(c, AUTH_ID, t.timeout)))
        if (variant === 'ws-wrong-auth' && labels.includes('btp-response')) throw new Unexpected('a wrong token was accepted in a burst')
        return labels.includes('btp-response') ? 'some-authenticated' : 'none-authenticated'
      } finally {
        for (const c of conns) c.destroy()
      }
    }
  }
}

/** The admin API: no token or a wrong one (must be 401 whatever the route), bad JSON with the right one, garbage. */
const admin: Maker = (rng) => {
  const variant = rng.pick(['wrong-token-get', 'wrong-token-post-balance', 'wrong-token-add-account', 'wrong-token-delete', 'no-token',
    'odd-scheme', 'bad-json-balance', 'bad-shape-balance', 'bad-json-add-account', 'bad-add-account', 'too-big', 'garbage', 'unknown-route',
    'health-open'])
  const seed = rng.u32()
  return {
    variant,
    run: async (t) => {
      const r = new Rng(seed)
      const wrong = r.pick(['', t.adminToken.slice(0, -1), t.adminToken + 'x', t.adminToken.toUpperCase(), r.bytes(16).toString('hex'), 'null'])
      const request = (method: string, path: string, auth: string | undefined, body?: Buffer): Buffer => Buffer.concat([
        Buffer.from([`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close',
          ...(auth === undefined ? [] : [`Authorization: ${auth}`]),
          ...(body === undefined ? [] : ['Content-Type: application/json', `Content-Length: ${body.length}`]), '', ''].join('\r\n'), 'latin1'),
        body ?? Buffer.alloc(0)
      ])
      const bearer = `Bearer ${t.adminToken}`
      const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
      let bytes: Buffer
      let allowed: number[]
      let closedOk = false
      switch (variant) {
        case 'wrong-token-get': bytes = request('GET', r.pick(['/balance', '/accounts', '/status', '/metrics', '/settlements', '/routing']), `Bearer ${wrong}`); allowed = [401]; break
        case 'wrong-token-post-balance': bytes = request('POST', '/balance', `Bearer ${wrong}`, json({ accountId: r.pick(['carol', 'dave', 'alice', 'bob']), amountDiff: String(r.range(1, 1e9)) })); allowed = [401]; break
        case 'wrong-token-add-account': bytes = request('POST', '/addAccount', `Bearer ${wrong}`, json({ id: 'mallory', options: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: { listener: { port: 1, secret: 'x' } } } })); allowed = [401]; break
        case 'wrong-token-delete': bytes = request('DELETE', `/accounts/${r.pick(['carol', 'dave', 'bob'])}`, `Bearer ${wrong}`); allowed = [401]; break
        case 'no-token': bytes = request(r.pick(['GET', 'POST', 'DELETE']), r.pick(['/balance', '/accounts/carol', '/alerts/x', '/settlements/carol']), undefined); allowed = [401]; break
        case 'odd-scheme': bytes = request('GET', '/balance', r.pick([`Basic ${Buffer.from('admin:' + t.adminToken).toString('base64')}`, t.adminToken, `Bearer  ${t.adminToken}x`, `Token ${t.adminToken}`, 'Bearer'])); allowed = [401]; break
        case 'bad-json-balance': {
          const good = JSON.stringify({ accountId: 'carol', amountDiff: '1000' })
          bytes = request('POST', '/balance', bearer, Buffer.from(r.chance(0.5) ? good.slice(0, r.range(1, good.length - 1)) : r.bytes(r.range(1, 100)).toString('latin1'), 'latin1'))
          allowed = [400]
          break
        }
        case 'bad-shape-balance': {
          const bodies: unknown[] = [
            { accountId: 'carol', amountDiff: r.pick(['12abc', '1e3', '', '-', '+5', '0x10', ' 5', '5 ', '1.5', '--1']) },
            { accountId: 'carol', amountDiff: r.pick([1, 1.5, null, true, [1], { n: 1 }]) },
            { accountId: r.pick(['', 'mallory', '__proto__', 'constructor', 'toString']), amountDiff: '1' },
            { accountId: ['carol'], amountDiff: '1' },
            { accountId: 'carol', amountDiff: '1', extra: true },
            r.pick([[], 'carol', 1, null])
          ]
          bytes = request('POST', '/balance', bearer, json(r.pick(bodies)))
          allowed = [400]
          break
        }
        case 'bad-json-add-account': bytes = request('POST', '/addAccount', bearer, Buffer.from('{"id":"mallory","options":' + r.bytes(8).toString('hex'))); allowed = [400]; break
        case 'bad-add-account': bytes = request('POST', '/addAccount', bearer, json(r.pick([{ id: 'carol', options: {} }, { id: 'bad id!', options: {} }, { id: 'm', options: 'x' }, {}, { id: '__proto__', options: null }]))); allowed = [400, 409]; break
        case 'too-big': bytes = request('POST', '/balance', bearer, Buffer.alloc((1 << 20) + r.range(1, 1000), 0x20)); allowed = [413]; closedOk = true; break
        case 'garbage': bytes = r.chance(0.5) ? r.bytes(r.range(1, 2000)) : Buffer.from(`GET /${r.bytes(3).toString('hex')} HTTP/1.1\r\n${r.bytes(r.range(1, 200)).toString('latin1')}\r\n\r\n`, 'latin1'); allowed = [400, 401, 404, 431, 505]; closedOk = true; break
        case 'unknown-route': bytes = request(r.pick(['GET', 'PATCH', 'PUT', 'HEAD', 'OPTIONS']), `/${r.bytes(4).toString('hex')}/../balance`, bearer); allowed = [404]; break
        default: bytes = request('GET', r.pick(['/health/live', '/health/ready']), undefined); allowed = [200]
      }
      const answer = await rawExchange(t.adminPort, [bytes], t.timeout, variant === 'garbage')
      const status = httpStatus(answer)
      if (status === undefined) {
        if (closedOk) return 'closed'
        throw new Unexpected(`${variant}: no HTTP answer (${answer.firstLine ?? 'closed'})`)
      }
      if (!allowed.includes(status)) throw new Unexpected(`${variant}: HTTP ${status}, expected ${allowed.join(' or ')}`)
      return `http:${status}`
    }
  }
}

const MAKERS: Record<Kind, Maker> = {
  'tcp-garbage': tcpGarbage,
  'tcp-idle': tcpIdle,
  'ws-bad-auth': wsBadAuth,
  'btp-malformed': btpMalformed,
  'ilp-malformed': ilpMalformed,
  'ilp-hostile': ilpHostile,
  oversized,
  'connect-burst': connectBurst,
  admin
}

const TOTAL_WEIGHT = KINDS.reduce((s, k) => s + WEIGHTS[k], 0)

/** Case number `index` of the run seeded `seed` (the same case every time). */
export function makeCase (seed: number, index: number): FuzzCase {
  const rng = new Rng(seed, index + 1)
  let roll = rng.int(TOTAL_WEIGHT)
  let kind: Kind = KINDS[0]
  for (const k of KINDS) {
    if (roll < WEIGHTS[k]) { kind = k; break }
    roll -= WEIGHTS[k]
  }
  const { variant, run } = MAKERS[kind](rng)
  return { index, kind, variant, run: async (t) => await run({ ...t, lastRequestId: 100 }) }
}

export { Hang }
