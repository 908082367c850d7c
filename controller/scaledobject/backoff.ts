/**
 * When to try again an object whose evaluation failed unexpectedly (threw, or overran its budget): an
 * exponential backoff, capped and jittered, so that one bad ScaledObject costs the leader a few evaluations
 * an hour, not one per poll, and many failing together do not retry in step. Pure arithmetic.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** No delay is longer. */
  maxMs: number;
  /** Fraction (0..1) taken off at random, so that failures that began together spread out. */
  jitter: number;
}

/**
 * The controller's policy: 10 s, doubling up to 5 minutes (KEDA's default cooldownPeriod), up to 20% shorter
 * at random. A poll that falls within the delay is skipped; a spec or annotation change tries at once.
 */
export const EVALUATION_BACKOFF: BackoffPolicy = { baseMs: 10_000, maxMs: 5 * 60_000, jitter: 0.2 };

/**
 * The delay before the next attempt after `failures` consecutive failures (1 = the first), with `random`
 * in [0, 1). Never above `maxMs`, never below `(1 - jitter) × baseMs`.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: number): number {
  const n = Number.isFinite(failures) ? Math.max(1, Math.floor(failures)) : 1;
  // 2^30 × any sane base is past any cap: stop doubling there, so a huge count stays a finite number.
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 30));
  const r = Math.min(1, Math.max(0, Number.isFinite(random) ? random : 0));
  return Math.round(exp * (1 - policy.jitter * r));
}
