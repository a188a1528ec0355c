// The one place conn/core imports the CommonJS ilp-packet library.
import * as IlpPacket from 'ilp-packet'

export const serializeIlpPrepare: (prepare: {
  amount: string
  expiresAt: Date
  executionCondition: Buffer
  destination: string
  data: Buffer
}) => Buffer = IlpPacket.serializeIlpPrepare

export const isValidIlpAddress: (address: unknown) => boolean = IlpPacket.isValidIlpAddress
