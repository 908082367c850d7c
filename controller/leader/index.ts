/** Leader election for the controller: see docs/leader-election.md. */
export {
  LeaderElector,
  combineCallbacks,
  defaultIdentity,
  realSleep,
  systemClock,
  type Clock,
  type LeaderCallbacks,
  type LeaderElectorOptions,
  type LeaderMetrics,
  type Sleep,
} from "./elector.js";
export { LeaseLock, type LeaderLock, type LockedRecord } from "./lease-lock.js";
export { DEFAULT_TIMINGS, JITTER_FACTOR, resolveTimings, type LeaderTimings } from "./options.js";
export {
  LEADER_LABEL,
  labelLeaderPod,
  peerSelectorFor,
  type LeaderPodLabel,
  type LeaderPodLabelOptions,
} from "./pod-label.js";
export type { LeaderRecord } from "./decide.js";
