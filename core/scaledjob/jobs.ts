/**
 * What a ScaledJob's existing Jobs count for: running and pending jobs and
 * which finished Jobs the history limits delete. Pure: the caller lists the Jobs and their pods.
 */

export interface ConditionSnapshot {
  readonly type: string;
  /** "True", "False" or "Unknown". */
  readonly status: string;
}

export interface PodSnapshot {
  /** Pending, Running, Succeeded, Failed or Unknown. */
  readonly phase?: string | undefined;
  readonly conditions?: readonly ConditionSnapshot[] | undefined;
}

export interface JobSnapshot {
  readonly name: string;
  readonly conditions?: readonly ConditionSnapshot[] | undefined;
  /**
   * When the Job finished, in ms since the epoch: `status.completionTime`, or for a failed Job (which has
   * none) the Failed condition's lastTransitionTime. Jobs without it sort as the oldest.
   */
  readonly completionTime?: number | undefined;
  /** The Job's pods (label `job-name`); only needed for the pending count. */
  readonly pods?: readonly PodSnapshot[] | undefined;
}

/** The first True Complete or Failed condition's type, or undefined while the Job runs. */
export function jobFinishedAs(job: JobSnapshot): "Complete" | "Failed" | undefined {
  for (const c of job.conditions ?? []) {
    if ((c.type === "Complete" || c.type === "Failed") && c.status === "True") return c.type;
  }
  return undefined;
}

/**
 * A running Job is pending when none of its pods is Running or Succeeded; with `pendingPodConditions`, when
 * none of its pods has every listed condition True.
 */
export function isJobPending(job: JobSnapshot, pendingPodConditions: readonly string[] = []): boolean {
  const pods = job.pods ?? [];
  if (pendingPodConditions.length > 0) {
    const required = new Set(pendingPodConditions);
    const started = pods.some((pod) => {
      const met = new Set(
        (pod.conditions ?? []).filter((c) => required.has(c.type) && c.status === "True").map((c) => c.type),
      );
      // As KEDA: compared with the length of the list as given.
      return met.size === pendingPodConditions.length;
    });
    return !started;
  }
  return !pods.some((pod) => pod.phase === "Running" || pod.phase === "Succeeded");
}

export function countRunningAndPendingJobs(
  jobs: readonly JobSnapshot[],
  pendingPodConditions: readonly string[] = [],
): { running: number; pending: number } {
  let running = 0;
  let pending = 0;
  for (const job of jobs) {
    if (jobFinishedAs(job) !== undefined) continue;
    running++;
    if (isJobPending(job, pendingPodConditions)) pending++;
  }
  return { running, pending };
}

export const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 100;
export const DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 100;

export interface HistoryLimits {
  readonly successfulJobsHistoryLimit?: number | undefined;
  readonly failedJobsHistoryLimit?: number | undefined;
}

/**
 * The finished Jobs to delete so that at most the limits remain of each kind: the oldest by completion
 * time first (ties keep the given order). Delete them with Background propagation, as KEDA.
 */
export function selectJobsForHistoryCleanup(
  jobs: readonly JobSnapshot[],
  limits: HistoryLimits = {},
): { completed: string[]; failed: string[] } {
  const byAge = (kind: "Complete" | "Failed") =>
    jobs
      .filter((j) => jobFinishedAs(j) === kind)
      .map((j, i) => ({ j, i, t: j.completionTime ?? Number.NEGATIVE_INFINITY }))
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map(({ j }) => j.name);
  const excess = (names: string[], limit: number) => names.slice(0, Math.max(0, names.length - limit));
  return {
    completed: excess(
      byAge("Complete"),
      limits.successfulJobsHistoryLimit ?? DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
    ),
    failed: excess(byAge("Failed"), limits.failedJobsHistoryLimit ?? DEFAULT_FAILED_JOBS_HISTORY_LIMIT),
  };
}
