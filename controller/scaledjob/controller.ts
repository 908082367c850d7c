/**
 * The ScaledJob loop, run by the leader only: KEDA's ScaledJob (keda-semantics.md §3) in count mode, and the
 * per-message dispatcher (dispatcher.ts) for ScaledJobs with `spec.dispatch.mode: perMessage`.
 *
 * Watch events (informer → work queue, keys only) start, re-arm or stop each ScaledJob's poll loop
 * (../scaledobject/loops.ts, the same schedule as ScaledObjects); a spec or annotation change polls at once.
 *
 * One poll of a ScaledJob:
 *   1. validate (core/crd) and the pause annotation: paused stops the poll (Paused=True, an Event on entry);
 *   2. list its Jobs (label scaledjob.keda.sh/name); on an immediate rollout delete those of older generations;
 *      delete finished Jobs past the history limits (in per-message mode never one whose offset the consumer
 *      group has not committed yet);
 *   3. count mode: read the triggers (TriggerAuthentication, the lag reader in one round, cron from the clock),
 *      count running and pending Jobs, decide (core/scaledjob) and create that many Jobs;
 *      per-message mode: hand the trigger to the dispatcher, which creates one Job per message by itself;
 *   4. conditions (Ready, Active, Paused), Events on transitions, lastActiveTime, metrics.
 * Nothing is created because something could not be read: a failed poll ends in Ready=False and an Event.
 */
import { parsePauseAnnotations, validateScaledJob, type ScaledJob } from "../../core/crd/index.js";
import { errorText, MAX_ERROR_CHARS } from "../../core/errors.js";
import type { LagReader } from "../../core/kafka/types.js";
import type { Logger } from "../../core/log.js";
import {
  countRunningAndPendingJobs,
  scaledJobDecision,
  selectJobsForHistoryCleanup,
  type JobSnapshot,
  type PodSnapshot,
  type TriggerReading,
} from "../../core/scaledjob/index.js";
import {
  jobForScaledJob,
  jobsOfPreviousGenerations,
  rolloutStrategy,
  type BatchJob,
} from "../../core/scaledjob/job-object.js";
import { resolveScaledJobInputs, type AuthSources } from "../auth/index.js";
import {
  EventReason,
  isNotFound,
  parseKey,
  SCALED_JOBS,
  WorkQueue,
  type Informer,
  type KubeIO,
} from "../kube/index.js";
import type { Condition, ReconcileResult } from "../kube/index.js";
import { EvaluationLoops, pollingIntervalMs, type DueKey } from "../scaledobject/loops.js";
import {
  parseTriggers,
  type ParsedKafkaTrigger,
  type ParsedTrigger,
  type TriggerAuthInput,
} from "../scaledobject/spec.js";
import { cronOutcome, kafkaOutcome } from "../scaledobject/triggers.js";
import { dispatchSettings, protectUncommitted, type CommittedOffsets } from "../../core/scaledjob/message.js";
import type { JobClient } from "./jobs-client.js";
import type { ScaledJobMetrics } from "./metrics.js";

/** The per-message side the loop drives (dispatcher.ts); absent: per-message ScaledJobs only report an error. */
export interface MessageDispatch {
  /** Starts or updates the dispatch of a ScaledJob (idempotent). */
  ensure(key: string, sj: ScaledJob, trigger: ParsedKafkaTrigger): void;
  /** Stops creating Jobs for the ScaledJob (its partitions paused) until the next `ensure`. */
  pause(key: string): void;
  remove(key: string): Promise<void>;
  /** The consumer group's committed offsets of the dispatched topic (history clean-up keeps the rest). */
  committed(key: string): Promise<CommittedOffsets | undefined>;
  /** Why dispatch is blocked now (a Job that cannot be created), for status; undefined when flowing. */
  blocked(key: string): string | undefined;
  stop(): Promise<void>;
}

export interface ScaledJobControllerOptions {
  kube: KubeIO;
  jobs: JobClient;
  reader: LagReader;
  metrics: ScaledJobMetrics;
  logger: Logger;
  authSources: AuthSources;
  clusterObjectNamespace?: string;
  dispatch?: MessageDispatch;
  now?: () => number;
}

interface ObjectState {
  uid: string;
  fingerprint: string;
  /** Active status at the last poll (undefined: not known yet, seeded from status). */
  active: boolean | undefined;
  paused: boolean | undefined;
}

function fingerprint(sj: ScaledJob): string {
  const a = sj.metadata.annotations ?? {};
  const sorted = Object.keys(a)
    .sort()
    .map((k) => [k, a[k]]);
  return `${sj.metadata.uid ?? ""}|${sj.metadata.generation ?? 0}|${JSON.stringify(sorted)}`;
}

function snapshot(job: BatchJob, pods: Map<string, PodSnapshot[]>): JobSnapshot {
  const name = job.metadata.name ?? "";
  const failed = job.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  const finishedAt = job.status?.completionTime ?? failed?.lastTransitionTime;
  const t = finishedAt ? Date.parse(finishedAt) : NaN;
  return {
    name,
    conditions: job.status?.conditions,
    ...(Number.isFinite(t) ? { completionTime: t } : {}),
    pods: pods.get(name) ?? [],
  };
}

const condition = (type: string, status: string, reason: string, message: string): Condition => ({
  type,
  status,
  reason,
  message,
});

export class ScaledJobController {
  private readonly informer: Informer<ScaledJob>;
  private readonly queue: WorkQueue;
  private readonly loops: EvaluationLoops;
  private readonly states = new Map<string, ObjectState>();
  private readonly log: Logger;
  private readonly now: () => number;
  private stopped = false;
  private queueStarted = false;

  constructor(private readonly o: ScaledJobControllerOptions) {
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.informer = o.kube.informer(SCALED_JOBS);
    this.queue = new WorkQueue({ name: "scaledjobs", concurrency: 5, logger: o.logger });
    this.loops = new EvaluationLoops({
      run: (batch) => this.pollBatch(batch),
      logger: o.logger,
    });
  }

  /** Starts watching (call before kube.start(), or after: the informer starts with it). Returns at once. */
  start(): void {
    this.informer.onChange((key) => this.queue.add(key));
    this.o.kube.start();
    void this.informer.synced().then(() => {
      if (this.stopped) return;
      this.queueStarted = true;
      this.queue.start((key) => this.reconcile(key));
      this.log.info({ scaledJobs: this.informer.list().length }, "ScaledJob informer synced");
    });
  }

  synced(): boolean {
    return this.informer.hasSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.queueStarted) await this.queue.stop();
    await this.loops.stop();
    await this.o.dispatch?.stop();
    await this.o.kube.close();
    this.o.metrics.forgetAll();
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    const sj = this.informer.get(key);
    if (!sj || sj.metadata.deletionTimestamp) {
      // The Jobs go with their owner (garbage collection); only the loop and the consumer end here.
      await this.loops.remove(key);
      await this.o.dispatch?.remove(key);
      this.states.delete(key);
      const { namespace, name } = parseKey(key);
      this.o.metrics.forget(namespace ?? "", name);
      return undefined;
    }
    const uid = sj.metadata.uid ?? "";
    let st = this.states.get(key);
    if (!st || st.uid !== uid) {
      st = { uid, fingerprint: "", active: undefined, paused: undefined };
      this.states.set(key, st);
    }
    const fp = fingerprint(sj);
    if (st.fingerprint !== fp) {
      st.fingerprint = fp;
      if (this.loops.set(key, pollingIntervalMs(sj.spec?.pollingInterval ?? 30))) {
        this.o.kube.events.event(sj, "Normal", EventReason.KEDAScalersStarted, "Started scalers watch");
        this.log.info({ scaledJob: key }, "poll loop started");
      }
      this.loops.trigger(key);
    }
    return undefined;
  }

  private async pollBatch(batch: DueKey[]): Promise<void> {
    await Promise.all(
      batch.map(async (due) => {
        const sj = this.informer.get(due.key);
        if (!sj || sj.metadata.deletionTimestamp || this.stopped) return;
        try {
          await this.poll(due.key, sj);
        } catch (err) {
          await this.checkFailed(due.key, sj, `poll failed: ${errorText(err, MAX_ERROR_CHARS)}`);
        }
      }),
    );
  }

  private async checkFailed(key: string, sj: ScaledJob, message: string): Promise<void> {
    const { namespace = "", name = "" } = sj.metadata;
    this.log.warn({ scaledJob: key, err: message }, "ScaledJob check failed; no Jobs created");
    this.o.kube.events.event(sj, "Warning", EventReason.ScaledJobCheckFailed, message);
    this.o.metrics.poll(namespace, name, { paused: false, error: true });
    try {
      await this.o.kube.status.patch(SCALED_JOBS, sj, {
        conditions: [
          condition("Ready", "False", "ScaledJobCheckFailed", message),
          condition("Active", "Unknown", "UnknownState", "ScaledJob check failed"),
        ],
      });
    } catch (err) {
      this.log.warn(
        { scaledJob: key, err: errorText(err, MAX_ERROR_CHARS) },
        "could not write the failure to status",
      );
    }
  }

  private async poll(key: string, sj: ScaledJob): Promise<void> {
    const { kube, jobs, metrics } = this.o;
    const ns = sj.metadata.namespace ?? "default";
    const name = sj.metadata.name ?? "";
    const log = this.log.child({ scaledJob: key });
    const st = this.states.get(key);
    if (!st) return;

    const v = validateScaledJob({
      apiVersion: sj.apiVersion,
      kind: sj.kind,
      metadata: sj.metadata,
      spec: sj.spec,
    });
    if (!v.ok) return this.checkFailed(key, sj, v.errors.map((e) => `${e.path}: ${e.message}`).join("; "));
    const spec = v.resolved.spec;
    const settings = dispatchSettings(spec);
    const pause = parsePauseAnnotations(sj.metadata.annotations, "ScaledJob");
    const paused = pause.ok && pause.value.paused;
    const wasPaused = st.paused ?? sj.status?.Paused === "true";
    st.paused = paused;
    if (paused) {
      if (!wasPaused) {
        kube.events.event(sj, "Normal", EventReason.ScaledJobPaused, "ScaledJob is paused");
        log.info("paused");
      }
      this.o.dispatch?.pause(key);
      metrics.poll(ns, name, { paused: true, error: false });
      await kube.status.patch(SCALED_JOBS, sj, {
        Paused: "true",
        conditions: [condition("Paused", "True", "ScaledJobPaused", "ScaledJob is paused")],
      });
      return;
    }
    const pausedCondition = wasPaused
      ? condition("Paused", "False", "ScaledJobUnpaused", "ScaledJob is unpaused")
      : undefined;
    if (wasPaused) kube.events.event(sj, "Normal", EventReason.ScaledJobUnpaused, "ScaledJob is unpaused");

    // ---- the Jobs: rollout, history ----
    let all = await jobs.list(ns, name);
    const generation = sj.metadata.generation ?? 0;
    if (settings.mode === "count" && rolloutStrategy(spec) === "immediate") {
      const stale = jobsOfPreviousGenerations(all, generation);
      if (stale.length > 0) {
        const propagation = spec.rollout?.propagationPolicy === "foreground" ? "Foreground" : "Background";
        kube.events.event(
          sj,
          "Normal",
          EventReason.ScaledJobRolloutCleanupStarted,
          `Rollout: deleting ${stale.length} Jobs of previous generations`,
        );
        const failed = await this.deleteJobs(ns, name, stale, propagation, log);
        if (failed.length > 0) {
          kube.events.event(
            sj,
            "Warning",
            EventReason.ScaledJobRolloutCleanupFailed,
            `Rollout: could not delete ${failed.join(", ")}`,
          );
        } else {
          kube.events.event(
            sj,
            "Normal",
            EventReason.ScaledJobRolloutCleanupCompleted,
            "Rollout cleanup completed",
          );
        }
        const gone = new Set(stale);
        all = all.filter((j) => !gone.has(j.metadata.name ?? ""));
      }
    }
    const pods = await jobs.podsByJob(ns, name).catch((err: unknown) => {
      log.warn(
        { err: errorText(err, MAX_ERROR_CHARS) },
        "could not list the Jobs' pods: counting every running Job as pending",
      );
      return new Map<string, PodSnapshot[]>();
    });
    const snapshots = all.filter((j) => !j.metadata.deletionTimestamp).map((j) => snapshot(j, pods));
    let cleanup = selectJobsForHistoryCleanup(snapshots, spec);
    if (settings.mode === "perMessage") {
      const committed = await this.o.dispatch?.committed(key);
      cleanup = protectUncommitted(cleanup, all, committed);
    }
    const toDelete = [...cleanup.completed, ...cleanup.failed];
    if (toDelete.length > 0) await this.deleteJobs(ns, name, toDelete, "Background", log);
    const deleted = new Set(toDelete);
    const counts = countRunningAndPendingJobs(
      snapshots.filter((s) => !deleted.has(s.name)),
      spec.scalingStrategy?.pendingPodConditions ?? [],
    );

    // ---- triggers ----
    const inputs = await resolveScaledJobInputs(
      this.o.authSources,
      sj,
      this.o.clusterObjectNamespace ? { clusterObjectNamespace: this.o.clusterObjectNamespace } : {},
    );
    const authErrors = inputs.triggers.flatMap((t) => (t.ok ? [] : t.errors));
    if (authErrors.length > 0) return this.checkFailed(key, sj, authErrors.join("; "));
    const auth: TriggerAuthInput[] = inputs.triggers.map((t) =>
      t.ok ? { authParams: t.input.authParams, resolvedEnv: t.input.resolvedEnv } : {},
    );
    const parsed = parseTriggers(
      spec.triggers.map((t) => ({ ...t, metricType: "AverageValue" as const })),
      auth,
    );
    if (!parsed.ok) return this.checkFailed(key, sj, parsed.errors.join("; "));

    if (settings.mode === "perMessage") {
      const problem = perMessageTrigger(parsed.triggers);
      if (!problem.ok) return this.checkFailed(key, sj, problem.error);
      if (!this.o.dispatch) return this.checkFailed(key, sj, "per-message dispatch is not available here");
      this.o.dispatch.ensure(key, sj, problem.trigger);
      const blocked = this.o.dispatch?.blocked(key);
      metrics.poll(ns, name, {
        paused: false,
        running: counts.running,
        pending: counts.pending,
        error: !!blocked,
      });
      await kube.status.patch(SCALED_JOBS, sj, {
        triggersTypes: parsed.triggers.map((t) => t.kind).join(","),
        conditions: [
          blocked
            ? condition("Ready", "False", "JobCreateFailed", blocked)
            : condition(
                "Ready",
                "True",
                "ScaledJobReady",
                "ScaledJob is defined correctly and is ready for scaling",
              ),
          condition("Active", "True", "DispatchingMessages", "One Job per message of the trigger's topic"),
          ...(pausedCondition ? [pausedCondition] : []),
        ],
        ...(wasPaused ? { Paused: null } : {}),
      });
      return;
    }

    const readings: TriggerReading[] = await Promise.all(
      parsed.triggers.map(async (t): Promise<TriggerReading> => {
        if (t.kind === "cron") {
          const o = cronOutcome(t, new Date(this.now()));
          return {
            queueLength: o.input.metricValue ?? 0,
            targetAverageValue: 1,
            active: o.input.active === true,
          };
        }
        const read = t.request
          ? await this.o.reader.read(t.request, `${key}#${t.index}`)
          : { ok: false as const, error: t.connectError ?? "no lag request for this trigger" };
        const o = kafkaOutcome(t, read);
        if (o.input.error !== undefined) return { error: o.input.error };
        return {
          queueLength: o.input.metricValue ?? 0,
          targetAverageValue: t.meta.lagThreshold,
          active: o.input.active === true,
        };
      }),
    );
    const d = scaledJobDecision(spec, readings, counts);
    let created = 0;
    for (let i = 0; i < d.jobsToCreate; i++) {
      try {
        await jobs.create(ns, jobForScaledJob(sj));
        created++;
      } catch (err) {
        metrics.createFailed(ns, name);
        kube.events.event(
          sj,
          "Warning",
          "KEDAJobCreateFailed",
          `Failed to create a Job: ${errorText(err, MAX_ERROR_CHARS)}`,
        );
        log.warn({ err: errorText(err, MAX_ERROR_CHARS) }, "Job create failed");
      }
    }
    if (created > 0) {
      metrics.jobsCreated(ns, name, created);
      kube.events.event(sj, "Normal", "KEDAJobsCreated", `Created ${created} jobs`);
      log.info(
        { created, queueLength: d.queueLength, running: counts.running, pending: counts.pending },
        "Jobs created",
      );
    }
    const wasActive =
      st.active ?? sj.status?.conditions?.some((c) => c.type === "Active" && c.status === "True");
    if (d.isActive !== wasActive && wasActive !== undefined) {
      kube.events.event(
        sj,
        "Normal",
        d.isActive ? EventReason.ScaledJobActive : EventReason.ScaledJobInactive,
        d.active.message,
      );
    }
    st.active = d.isActive;
    for (const r of readings) if ("error" in r) log.warn({ err: r.error }, "trigger failed");
    metrics.poll(ns, name, {
      paused: false,
      queueLength: d.queueLength,
      running: counts.running + created,
      pending: counts.pending + created,
      error: d.isError,
    });
    await kube.status.patch(SCALED_JOBS, sj, {
      triggersTypes: parsed.triggers.map((t) => t.kind).join(","),
      authenticationsTypes:
        spec.triggers.flatMap((t) => (t.authenticationRef ? [t.authenticationRef.name] : [])).join(",") ||
        undefined,
      ...(d.isActive ? { lastActiveTime: new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z") } : {}),
      ...(wasPaused ? { Paused: null } : {}),
      conditions: [
        condition("Ready", d.ready.status, d.ready.reason, d.ready.message),
        condition("Active", d.active.status, d.active.reason, d.active.message),
        ...(pausedCondition ? [pausedCondition] : []),
      ],
    });
    log.debug({ decision: { ...d, strategy: d.strategy.kind }, counts, created }, "polled");
  }

  /** Deletes Jobs; returns the names that could not be deleted (already gone counts as deleted). */
  private async deleteJobs(
    ns: string,
    name: string,
    names: readonly string[],
    propagation: "Background" | "Foreground",
    log: Logger,
  ): Promise<string[]> {
    const failed: string[] = [];
    let n = 0;
    for (const job of names) {
      try {
        await this.o.jobs.delete(ns, job, propagation);
        n++;
      } catch (err) {
        if (isNotFound(err)) continue;
        failed.push(job);
        log.warn({ job, err: errorText(err, MAX_ERROR_CHARS) }, "could not delete a Job");
      }
    }
    this.o.metrics.jobsDeleted(ns, name, n);
    if (n > 0) log.info({ deleted: n }, "Jobs deleted");
    return failed;
  }
}

/** Per-message dispatch needs exactly one kafka trigger with one topic: the Job name has no room for more. */
export function perMessageTrigger(
  triggers: readonly ParsedTrigger[],
): { ok: true; trigger: ParsedKafkaTrigger } | { ok: false; error: string } {
  const t = triggers[0];
  if (triggers.length !== 1 || t?.kind !== "kafka") {
    return { ok: false, error: "spec.dispatch.mode perMessage needs exactly one trigger, of type kafka" };
  }
  if (!t.meta.topic) {
    return {
      ok: false,
      error: "spec.dispatch.mode perMessage needs the kafka trigger's topic parameter (one topic)",
    };
  }
  if (t.connectError) return { ok: false, error: `spec.triggers[0] (kafka): ${t.connectError}` };
  return { ok: true, trigger: t };
}
