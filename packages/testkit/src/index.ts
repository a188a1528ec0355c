export { RecordingLogger, type LogLevel, type LogRecord, type RecordingLoggerOptions } from './logger.ts'
export { RecordingMetrics, type DeclaredMetric, type MetricSeries, type MetricType } from './metrics.ts'
export { MapBalances } from './balances.ts'
export { MapStore } from './store.ts'
export { FakePlugin, fakePlugin, fakePluginPair, type FakePluginOptions } from './plugin.ts'
export { fakeAccount, type FakeAccountOptions } from './account.ts'
export { fakeApi, type FakeApi, type FakeApiOptions } from './api.ts'
export {
  DEFAULT_CONDITION, DEFAULT_FULFILLMENT, condition, fulfill, fulfillFor, packetContext, reject,
  type PacketContextOptions, type RejectOptions
} from './packet.ts'
export { deferred, rejectionOf, type Deferred } from './async.ts'
export { middlewareConformance, type HandlerName, type MiddlewareConformanceOptions } from './conformance/middleware.ts'
export { storeConformance, type StoreConformanceOptions } from './conformance/store.ts'
export { backendConformance, type BackendConformanceOptions } from './conformance/backend.ts'
export { pluginConformance, type PluginConformanceOptions, type PluginPair } from './conformance/plugin.ts'
export { freePort } from './net.ts'
export {
  FuzzFailure, Rng, fuzzDecoder, mutate, randomJson, randomString, readHexCorpus,
  type CorpusEntry, type FuzzDecoderOptions, type FuzzReport
} from './fuzz.ts'
