/**
 * The HTTP plumbing of the admin API, kept apart from the routes: errors that carry a status, the request body
 * read with a size limit and parsed as JSON, and the bearer-token check in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/**
 * An error with the HTTP status to answer. Its name stays `Error`, so the body (`String(err)`) reads
 * `Error: <message>` as the reference's does.
 */
export class HttpError extends Error {
  constructor (readonly status: number, message: string) {
    super(message)
  }
}

/** Default request body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

/**
 * Reads the request body (at most `limit` bytes, else HttpError 413) and parses it as JSON; an empty body is
 * `undefined`, a body that does not parse is HttpError 400.
 */
export async function readJsonBody (req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let size = 0
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        req.off('data', onData)
        req.resume() // discard the rest; the response closes the connection
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => resolve())
    req.once('error', (err) => reject(new HttpError(400, `request body could not be read: ${err.message}`)))
  })
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new HttpError(400, `invalid JSON body: ${(err as Error).message}`)
  }
}

function tooLarge (limit: number): HttpError {
  return new HttpError(413, `request body too large. limit=${limit} bytes`)
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/**
 * Checks `Authorization: Bearer <token>`. Both sides are hashed first so the comparison is constant-time and
 * takes equal-length inputs whatever the length of what was sent.
 */
export class BearerToken {
  private readonly expected: Buffer

  constructor (token: string) {
    this.expected = digest(token)
  }

  matches (header: string | undefined): boolean {
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
    const given = digest(match?.[1] ?? '')
    return timingSafeEqual(given, this.expected) && match !== null
  }
}
