/** ScaledJob job counts, as KEDA decides them: pure functions, no I/O, no clock. */
export {
  DEFAULT_SCALEDJOB_MAX_REPLICA_COUNT,
  DEFAULT_SCALEDJOB_MIN_REPLICA_COUNT,
  effectiveMaxReplicaCount,
  effectiveMinReplicaCount,
  type ScaledJobReplicaSpec,
} from "./bounds.js";
export {
  MULTIPLE_SCALERS_CALCULATIONS,
  aggregateScaledJobMetrics,
  averageTargetValue,
  scalerMetrics,
  type AggregatedMetrics,
  type MultipleScalersCalculation,
  type ScalerMetrics,
  type TriggerReading,
} from "./metrics.js";
export {
  effectiveMaxScale,
  parseRunningJobPercentage,
  resolveScalingStrategy,
  type EffectiveMaxScale,
  type ScalingStrategy,
  type ScalingStrategySpec,
} from "./strategy.js";
export {
  scaledJobDecision,
  scalingDecision,
  type ConditionValue,
  type JobCounts,
  type ScaledJobDecision,
  type ScaledJobScalingSpec,
} from "./decision.js";
export {
  DEFAULT_FAILED_JOBS_HISTORY_LIMIT,
  DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
  countRunningAndPendingJobs,
  isJobPending,
  jobFinishedAs,
  selectJobsForHistoryCleanup,
  type ConditionSnapshot,
  type HistoryLimits,
  type JobSnapshot,
  type PodSnapshot,
} from "./jobs.js";
