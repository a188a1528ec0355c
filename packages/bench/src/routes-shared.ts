/** What the routing benchmark's processes share: the routes the speaker teaches, the reports they send the runner. */
export const SPEAKER_ADDRESS = 'test.speaker'

/** The prefix of route i: fixed width, so that no prefix starts another. */
export function routePrefix (i: number): string {
  return `${SPEAKER_ADDRESS}.r${String(i).padStart(7, '0')}`
}

export interface TaughtReport {
  type: 'taught'
  /** routes accepted */
  learnt: number
  updates: number
  /** first update sent to last one answered, ms */
  totalMs: number
  /** round trip of each update, ms, in order */
  rtts: number[]
  /** updates answered with a Reject (code: count) */
  rejects: Record<string, number>
  stopped: boolean
}

export interface PhaseResult {
  phase: string
  sent: number
  fulfilled: number
  rejected: Record<string, number>
  /** sent in this phase and not answered when it was reported */
  unanswered: number
  seconds: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}
