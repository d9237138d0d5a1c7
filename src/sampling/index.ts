/**
 * Trace sampling (DESIGN §7): OpenTelemetry samplers and a tail-sampling span processor. Depends
 * only on OpenTelemetry (and the shared error types). See docs/sampling.md.
 */
export { SYSTEM_CLOCK, ManualClock, SeededIdGenerator, seededRandom, type Clock, type RandomSource } from "./clock.ts";
export {
  DEFAULT_SAMPLING_CONFIG,
  DEFAULT_DYNAMIC,
  DEFAULT_HEAD_CONTROLS,
  DEFAULT_PARENT,
  DEFAULT_TAIL,
  resolveSamplingConfig,
  type DynamicRateConfig,
  type HeadControlPolicy,
  type HeadControlsConfig,
  type ParentConfig,
  type ProbabilityConfig,
  type RemoteParentPolicy,
  type SamplingConfig,
  type SamplingConfigPatch,
  type TailSamplingConfig,
} from "./config.ts";
export { ConsistentProbabilitySampler, type SamplerOptions } from "./consistent.ts";
export { isRootSampler, type RootSampler } from "./decision.ts";
export { DynamicRateSampler, OTHER_OPERATION, nextRate, type DynamicRateOptions, type OperationRate } from "./dynamic.ts";
export {
  HEADER_FORCE_TRACE,
  HEADER_SAMPLING_PRIORITY,
  HEADER_SAMPLING_RATE,
  HEAD_CONTROLS_KEY,
  HeadControlSampler,
  HeadControls,
  getHeadControls,
  parseHeadControls,
  withHeadControls,
  type HeadControlOptions,
  type HeadMetadata,
  type SamplingPriority,
} from "./head-controls.ts";
export { ParentBasedSampler, type ParentBasedOptions } from "./parent-based.ts";
export { SamplingStack, createSamplingStack, type SamplingStackOptions } from "./stack.ts";
export {
  SAMPLING_OUTCOMES,
  SAMPLING_REASONS,
  SamplingOutcome,
  SamplingReason,
  SamplingStats,
  type SamplingStatsListener,
  type SamplingStatsSnapshot,
} from "./stats.ts";
export { TailSamplingProcessor, asSampled, estimateSpanBytes, type TailEviction, type TailSamplingOptions } from "./tail.ts";
export { DEFAULT_PRECISION, MIN_PROBABILITY, Threshold, probabilityToTValue, traceIdRandomHi, traceIdRandomLo } from "./threshold.ts";
export { OT_KEY, eraseThreshold, otInfo, parseOtValue, setThreshold, type OtInfo } from "./tracestate.ts";
