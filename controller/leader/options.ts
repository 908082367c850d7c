/**
 * Timing of leader election, with client-go's defaults and its validation rule
 * (leaseDuration > renewDeadline > jitterFactor × retryPeriod > 0).
 */

/** client-go's `JitterFactor`: acquire retries wait retryPeriod × (1 + random × 1.2). */
export const JITTER_FACTOR = 1.2;

export interface LeaderTimings {
  /** How long a holder is respected after its record was last seen to change. client-go default 15 s. */
  leaseDurationMs: number;
  /** How long the leader keeps retrying a failed renewal before it stops leading. client-go default 10 s. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or renew. client-go default 2 s. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMINGS: Readonly<LeaderTimings> = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/** Fills in defaults and checks the ordering; throws with the offending values so a person can fix them. */
export function resolveTimings(partial: Partial<LeaderTimings> = {}): LeaderTimings {
  const t: LeaderTimings = { ...DEFAULT_TIMINGS };
  for (const key of ["leaseDurationMs", "renewDeadlineMs", "retryPeriodMs"] as const) {
    const v = partial[key];
    if (v !== undefined) t[key] = v;
  }
  for (const [key, v] of Object.entries(t)) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`leader election: ${key} must be > 0, got ${v}`);
  }
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new Error(
      `leader election: leaseDuration (${t.leaseDurationMs} ms) must be greater than renewDeadline (${t.renewDeadlineMs} ms)`,
    );
  }
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs) {
    throw new Error(
      `leader election: renewDeadline (${t.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × retryPeriod ` +
        `(${t.retryPeriodMs} ms)`,
    );
  }
  // The lease is written in whole seconds.
  if (t.leaseDurationMs < 1_000) {
    throw new Error(`leader election: leaseDuration must be at least 1 s, got ${t.leaseDurationMs} ms`);
  }
  return t;
}

/** client-go's `wait.Jitter`: d + random × factor × d, in [d, d × (1 + factor)). */
export function jittered(durationMs: number, factor: number, random: () => number): number {
  return durationMs + random() * factor * durationMs;
}
