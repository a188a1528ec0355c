/**
 * The built-in `one-to-one` backend: every asset is worth the same, so the rate only shifts the scale
 * and takes the spread, (1 - spread) x 10^(destinationScale - sourceScale), as an exact fraction.
 */
import { BadRequestError, type Backend, type BackendApi, type BackendOptions } from '@conn/types'
import { scaleRate, type Fraction } from '../rate.ts'

export class OneToOneBackend implements Backend {
  private readonly spread: number
  /** rates by source scale and destination scale; there are at most 256 x 256 */
  private readonly cache = new Map<number, Fraction>()

  constructor (options: BackendOptions, private readonly api: BackendApi) {
    this.spread = options.spread ?? 0
  }

  getRate (sourceAccount: string, destinationAccount: string): Fraction {
    const source = this.api.getInfo(sourceAccount)
    if (source === undefined) throw new BadRequestError('unknown account. accountId=' + sourceAccount)
    const destination = this.api.getInfo(destinationAccount)
    if (destination === undefined) throw new BadRequestError('unknown account. accountId=' + destinationAccount)
    const key = source.assetScale * 256 + destination.assetScale
    let rate = this.cache.get(key)
    if (rate === undefined) this.cache.set(key, rate = scaleRate(source.assetScale, destination.assetScale, this.spread))
    return rate
  }
}
