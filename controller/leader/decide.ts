/**
 * The pure decisions of leader election, after client-go's `tryAcquireOrRenew` and `Check`. Nothing here reads
 * a clock or talks to the API server: every time is a number of milliseconds on the LOCAL clock, passed in.
 *
 * The rule that makes this tolerate clock skew: a holder's lease is judged by when WE last saw its record
 * change (observedAtMs, our clock), never by comparing the holder's renewTime (its clock) with ours.
 */

/** The part of a Lease's spec that election reads and writes (client-go's LeaderElectionRecord). */
export interface LeaderRecord {
  /** "" when nobody holds the lease (never created, or released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** RFC 3339 with microseconds, as the API server stores MicroTime; undefined when absent. */
  acquireTime: string | undefined;
  renewTime: string | undefined;
  leaseTransitions: number;
}

/** A record and the local time at which it was first seen with exactly this content. */
export interface Observation {
  record: LeaderRecord;
  key: string;
  observedAtMs: number;
}

/** The record's content as one string, to tell whether it changed (client-go compares the raw record). */
export function recordKey(r: LeaderRecord): string {
  return JSON.stringify([
    r.holderIdentity,
    r.leaseDurationSeconds,
    r.acquireTime,
    r.renewTime,
    r.leaseTransitions,
  ]);
}

/**
 * What we know after reading `record` at `nowMs`: a changed record restarts the holder's time from now; the
 * same record keeps the time we first saw it.
 */
export function observe(previous: Observation | undefined, record: LeaderRecord, nowMs: number): Observation {
  const key = recordKey(record);
  if (previous && previous.key === key) return previous;
  return { record, key, observedAtMs: nowMs };
}

/**
 * When the observed holder's lease runs out on our clock. The holder's own leaseDurationSeconds counts (it is
 * what the holder promised to renew within), as in client-go's `isLeaseValid`; a record without one gets ours.
 */
export function leaseExpiresAtMs(observation: Observation, ownLeaseDurationMs: number): number {
  const seconds = observation.record.leaseDurationSeconds;
  const durationMs = seconds > 0 ? seconds * 1000 : ownLeaseDurationMs;
  return observation.observedAtMs + durationMs;
}

export type Attempt =
  /** Someone else holds a lease that has not run out: do not write. */
  | { kind: "respect"; holder: string; expiresAtMs: number }
  /** The record is ours: write a new renewTime, keep acquireTime and leaseTransitions. */
  | { kind: "renew" }
  /** Nobody holds it, or the holder's lease ran out: write ourselves in, leaseTransitions + 1. */
  | { kind: "takeover" };

/** Should this candidate write the lease now, and how (client-go `tryAcquireOrRenew` step 2). */
export function decideAttempt(
  observation: Observation,
  identity: string,
  nowMs: number,
  ownLeaseDurationMs: number,
): Attempt {
  const holder = observation.record.holderIdentity;
  if (holder === identity) return { kind: "renew" };
  if (holder !== "") {
    const expiresAtMs = leaseExpiresAtMs(observation, ownLeaseDurationMs);
    if (expiresAtMs > nowMs) return { kind: "respect", holder, expiresAtMs };
  }
  return { kind: "takeover" };
}

/** The record to write for a renewal or a takeover (client-go `tryAcquireOrRenew` step 3). */
export function nextRecord(
  attempt: { kind: "renew" } | { kind: "takeover" },
  old: LeaderRecord,
  identity: string,
  leaseDurationSeconds: number,
  nowIso: string,
): LeaderRecord {
  if (attempt.kind === "renew") {
    return {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: old.acquireTime ?? nowIso,
      renewTime: nowIso,
      leaseTransitions: old.leaseTransitions,
    };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: nowIso,
    renewTime: nowIso,
    leaseTransitions: old.leaseTransitions + 1,
  };
}

/** The record written when no lease exists yet. */
export function initialRecord(identity: string, leaseDurationSeconds: number, nowIso: string): LeaderRecord {
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: nowIso,
    renewTime: nowIso,
    leaseTransitions: 0,
  };
}

/**
 * The record a leader writes when it steps down gracefully (client-go `release` with ReleaseOnCancel): no
 * holder, a 1 s lease, transitions kept, so the next candidate takes over at its next attempt.
 */
export function releasedRecord(old: LeaderRecord, nowIso: string): LeaderRecord {
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: nowIso,
    renewTime: nowIso,
    leaseTransitions: old.leaseTransitions,
  };
}

/** Whole seconds for leaseDurationSeconds, rounded up so the lease never claims less than configured. */
export function leaseSeconds(leaseDurationMs: number): number {
  return Math.max(1, Math.ceil(leaseDurationMs / 1000));
}

/**
 * client-go `Check`: a leader whose last successful write is older than leaseDuration + maxTolerableExpired
 * has stopped renewing without noticing (a deadlock, a stuck event loop) and should be restarted. A replica
 * that does not lead is always healthy. Returns the problem, or undefined.
 */
export function leaderHealth(input: {
  leading: boolean;
  lastRenewAtMs: number | undefined;
  leaseDurationMs: number;
  maxTolerableExpiredMs: number;
  nowMs: number;
  lease: string;
}): string | undefined {
  if (!input.leading || input.lastRenewAtMs === undefined) return undefined;
  const sinceMs = input.nowMs - input.lastRenewAtMs;
  if (sinceMs > input.leaseDurationMs + input.maxTolerableExpiredMs) {
    return `failed election to renew leadership on lease ${input.lease}: last renewed ${Math.round(sinceMs)} ms ago`;
  }
  return undefined;
}
