/**
 * Authorization both ways, as ilp-plugin-http does it: a static token (compared in constant time; we send it
 * as `Bearer <token>`) or an HS256 JWT signed with a shared secret (we send it bare, as ilp-plugin-http does, and
 * take it with or without `Bearer `). A verified JWT is remembered until it expires, so a peer reusing its token
 * costs one verification, not one per packet.
 */
import { timingSafeEqual } from 'node:crypto'
import { SignJWT, jwtVerify } from 'jose'

const BEARER = 'Bearer '
/** Verified tokens remembered at most (a peer signs a new one every tokenExpiry / 2). */
const VERIFIED_LIMIT = 64

export class IncomingAuth {
  private readonly token: Buffer | undefined
  private readonly key: Uint8Array | undefined
  /** JWTs verified: token -> expiry (ms). */
  private readonly verified = new Map<string, number>()

  constructor (staticToken: string | undefined, jwtSecret: string | undefined) {
    this.token = staticToken === undefined ? undefined : Buffer.from(staticToken, 'utf8')
    this.key = jwtSecret === undefined ? undefined : new TextEncoder().encode(jwtSecret)
  }

  /** Whether an Authorization header value is good: true at once for a static token or a remembered JWT. */
  check (header: string | undefined): boolean | Promise<boolean> {
    if (header === undefined || header === '') return false
    const token = header.startsWith(BEARER) ? header.slice(BEARER.length) : header
    if (this.token !== undefined) {
      const given = Buffer.from(token, 'utf8')
      if (given.length === this.token.length && timingSafeEqual(given, this.token)) return true
    }
    if (this.key === undefined) return false
    const expiry = this.verified.get(token)
    if (expiry !== undefined) {
      if (expiry > Date.now()) return true
      this.verified.delete(token)
    }
    return this.verifyJwt(token)
  }

  private async verifyJwt (token: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.key!, { algorithms: ['HS256'] })
      if (this.verified.size >= VERIFIED_LIMIT) this.verified.clear()
      // without an expiry a token is good for a minute here, then verified again
      this.verified.set(token, typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now() + 60_000)
      return true
    } catch {
      return false
    }
  }
}

export class OutgoingAuth {
  private header: string | undefined
  private renewAt = 0
  private readonly key: Uint8Array | undefined

  constructor (staticToken: string | undefined, jwtSecret: string | undefined, private readonly tokenExpiry: number) {
    this.key = jwtSecret === undefined ? undefined : new TextEncoder().encode(jwtSecret)
    if (this.key === undefined) this.header = BEARER + staticToken!
  }

  /** The Authorization header value: the static one, or the current JWT (signed again halfway to its expiry). */
  value (): string | Promise<string> {
    if (this.key === undefined || (this.header !== undefined && Date.now() < this.renewAt)) return this.header!
    return this.sign()
  }

  private async sign (): Promise<string> {
    const now = Date.now()
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + this.tokenExpiry) / 1000))
      .sign(this.key!)
    this.header = token
    this.renewAt = now + this.tokenExpiry / 2
    return token
  }
}
