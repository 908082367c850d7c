/**
 * When the sidecar reads and reports, and how long it waits after a failure. Pure functions, table-tested.
 *
 * - Interval: fast while the pod has lag, its lag changed since the previous report, or the group rebalances
 *   (the controller wants to hear when that ends); slow otherwise.
 * - Urgent: a report whose lag crosses the trigger's lagThreshold upwards goes out at once, past any backoff
 *   the previous failures set (except after a refusal: a 400/401/403 will not change because of lag).
 * - Backoff: exponential with jitter (half fixed, half random, so that the sidecars of one Deployment do not
 *   retry in step), by kind of failure:
 *   - unavailable (503, the replica is not the leader, or leadership is changing): soon, 200 ms doubling to 2 s;
 *   - error (network, timeout, other 5xx, Kafka): 500 ms doubling to 30 s;
 *   - refused (400, 401, 403, other 4xx: the request or the pod is wrong): 5 s doubling to 60 s.
 */
import type { ReportedPodState } from "../core/reports/schema.js";

export type FailureKind = "unavailable" | "error" | "refused";

export interface IntervalInput {
  readonly lag: number;
  /** The lag of the previous report; undefined before the first. */
  readonly previousLag: number | undefined;
  readonly state: ReportedPodState;
}

export function nextInterval(input: IntervalInput, fastMs: number, slowMs: number): number {
  const changing = input.previousLag !== undefined && input.previousLag !== input.lag;
  return input.lag > 0 || changing || input.state === "rebalancing" ? fastMs : slowMs;
}

/** True when the lag went from at most the threshold (or no report yet) to above it. */
export function crossesThreshold(
  previousLag: number | undefined,
  lag: number,
  lagThreshold: number,
): boolean {
  return lag > lagThreshold && (previousLag === undefined || previousLag <= lagThreshold);
}

const BACKOFF: Record<FailureKind, { baseMs: number; maxMs: number }> = {
  unavailable: { baseMs: 200, maxMs: 2_000 },
  error: { baseMs: 500, maxMs: 30_000 },
  refused: { baseMs: 5_000, maxMs: 60_000 },
};

/**
 * The wait before retry number `attempt` (1 for the first retry).
 * @param random a number in [0, 1), Math.random in production.
 */
export function backoffMs(kind: FailureKind, attempt: number, random: number): number {
  const { baseMs, maxMs } = BACKOFF[kind];
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** The kind of failure an HTTP status is; undefined for a success. */
export function failureKind(status: number): FailureKind | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 503) return "unavailable";
  // 429: the receiver's per-pod rate limit; waiting a while is what it asks for.
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return "refused";
  return "error";
}
