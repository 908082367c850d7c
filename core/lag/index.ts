/** Kafka lag math shared by the controller and the sidecar: pure functions, no I/O, no clock. */
export { INVALID_OFFSET, hasNoTopic, type LagOptions, type OffsetResetPolicy } from "./options.js";
export {
  noCommittedTopicsReason,
  selectPartitions,
  topicsToDescribe,
  type PartitionDiscovery,
  type PartitionSelection,
  type TopicPartition,
} from "./partitions.js";
export {
  needsLogStart,
  partitionLag,
  type LagRule,
  type PartitionLagOptions,
  type PartitionLagResult,
  type PartitionOffsets,
} from "./partition-lag.js";
export {
  capTotalLag,
  desiredReplicasForLag,
  findFactors,
  nextBalancedFactor,
  type CapOptions,
  type CappedLag,
} from "./total-lag.js";
export {
  EMPTY_LAG_MEMORY,
  evaluateKafkaLag,
  partitionKey,
  type LagEvaluation,
  type LagEvaluationError,
  type LagEvaluationOk,
  type LagInput,
  type PartitionLagEntry,
  type PersistentLagMemory,
} from "./evaluate.js";
