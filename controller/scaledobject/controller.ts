/**
 * The ScaledObject reconcile loop, run by the leader only.
 *
 * Watch events (informer → work queue, keys only) keep the finalizer on every ScaledObject, finalize deleted
 * ones (restoreToOriginalReplicaCount, then the finalizer goes even when the target is gone), and start,
 * re-arm or stop each object's evaluation loop (loops.ts). A change of the spec or of the annotations
 * evaluates at once; otherwise an object is evaluated every pollingInterval.
 *
 * One evaluation batch (every object due at the same time):
 *   1. per object, in parallel (prepare.ts): validate (core/crd), pause annotations, /scale of the target
 *      (current replicas as KEDA reads them), trigger inputs (controller/auth: TriggerAuthentication,
 *      `*FromEnv`), trigger parameters (core/triggers);
 *   2. every kafka read of the batch is issued in the same tick, so the lag reader serves them with one
 *      round per Kafka cluster;
 *   3. per object: lag math with each trigger's excludePersistentLag memory (trigger-values.ts), cron
 *      values, the decision (core/scaling) with the state kept from the previous evaluation (seeded from
 *      status after a start or a failover), the `/scale` write only when the decision says so, events,
 *      status (statusOfEvaluation in status.ts), metrics.
 *
 * Nothing here scales a target because something could not be read: an invalid object, a missing target,
 * an API error or an unreachable Kafka all end in a status and an event, and the replica count stays (or,
 * for Kafka, goes to fallback.replicas once failureThreshold is passed, as the decision says).
 *
 * One bad object cannot take the loop down: an evaluation that throws, or runs past its budget in either
 * stage, ends for that object alone in Ready=False (EvaluationFailed or EvaluationTimedOut), a Warning Event,
 * and polls skipped for a capped, jittered exponential backoff (backoff.ts); a spec or annotation change
 * tries again at once. An evaluation past its budget is not started again until it has ended.
 */
import type { ScaledObject } from "../../core/crd/index.js";
import { errorText } from "../../core/errors.js";
import type { EndOffsetWatch, WatchTick } from "../../core/kafka/end-offset-watch.js";
import type { LagReader, LagReadResult } from "../../core/kafka/types.js";
import type { PersistentLagMemory } from "../../core/lag/index.js";
import type { Logger } from "../../core/log.js";
import {
  decideScaledObject,
  type DecideInput,
  type ScalingEvent,
  type ScalingState,
} from "../../core/scaling/index.js";
import type { AuthSources } from "../auth/index.js";
import {
  EventReason,
  FINALIZER,
  hasFinalizer,
  objectKey,
  parseKey,
  SCALED_OBJECTS,
  scaleTargetKind,
  withoutBookkeeping,
  WorkQueue,
  type Informer,
  type KubeIO,
  type ReconcileResult,
  type TargetPod,
} from "../kube/index.js";
import type { ControllerMetrics } from "../metrics.js";
import { backoffDelay, EVALUATION_BACKOFF } from "./backoff.js";
import { EvaluationLoops, pollingIntervalMs, type DueKey } from "./loops.js";
import {
  clearMarks,
  evaluationReports,
  markForScaleIn,
  type EvaluatedTrigger,
  type EvaluationReports,
  type ObjectReportState,
  type ReportsSource,
  type ReportStore,
} from "../reports/index.js";
import { newStalls, stallKey } from "../../core/reports/summary.js";
import { EarlyEvaluations, memoryFromEvaluation } from "./early.js";
import {
  prepareEvaluation,
  ScaledObjectChecks,
  targetIsGone,
  type Prepared,
  type PrepareDeps,
  type ReadyEvaluation,
} from "./prepare.js";
import { seedStateFromStatus, statusAfterCheckFailure, statusOfEvaluation } from "./status.js";
import { triggerValues } from "./trigger-values.js";

export interface ScaledObjectControllerOptions {
  kube: KubeIO;
  reader: LagReader;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Where TriggerAuthentications, Secrets and the target's environment are read from. */
  authSources: AuthSources;
  /** Namespace whose Secrets ClusterTriggerAuthentications read. */
  clusterObjectNamespace?: string;
  /** ScaledObjects reconciled at once (watch events). Default 5. */
  concurrency?: number;
  /** Time one object's evaluation may take in each stage (before and after the Kafka reads). Default 60 s. */
  evaluationBudgetMs?: number;
  now?: () => number;
  /** In [0, 1): the backoff's jitter. Default Math.random. */
  random?: () => number;
  /** Sidecar reports kept by the receiver; absent: every evaluation is polling only (KEDA's). */
  reports?: ReportStore;
  /** Log-end offsets between polls: growth that calls for a scale-up evaluates at once (early.ts). */
  watch?: Pick<EndOffsetWatch, "start" | "stop">;
}

/** Longer than the API client's timeout (30 s) plus a Kafka round (10 s): only a hung evaluation hits it. */
const DEFAULT_EVALUATION_BUDGET_MS = 60_000;
/** Condition and Event messages are cut here: an error's text can be anything. */
const MAX_MESSAGE_CHARS = 1024;

/** How often at most the registered-objects gauges are recounted. */
const REGISTERED_RECOUNT_MS = 1000;

class EvaluationOverran extends Error {}

/** What the controller remembers of one ScaledObject between evaluations. */
interface ObjectState {
  uid: string;
  /** uid, generation and annotations: a change evaluates at once. */
  fingerprint: string;
  /** The decision's state after the last evaluation; undefined until the first (then seeded from status). */
  history: ScalingState | undefined;
  /** excludePersistentLag memory per kafka trigger (metric name). */
  memory: Map<string, PersistentLagMemory>;
  triggerTypes: string[];
  /**
   * status.originalReplicaCount as captured by this controller (the informer's copy may not show our own
   * status write yet when the next evaluation comes, and the value must never be captured twice).
   */
  originalReplicaCount: number | undefined;
  /** Unexpected failures (throws, overruns) since the last evaluation that ended normally. */
  failures: number;
  /** Polls before this time (epoch ms) are skipped: the backoff after a failure. */
  retryAt: number;
  /** Stages of this object's evaluations still running, including ones past their budget. */
  inflight: number;
  /** What the report receiver checks reports against, from the last evaluation. */
  reportState?: ObjectReportState;
  /** Stalled partitions already announced (stallKey), and pods this controller gave a deletion cost. */
  announcedStalls: Set<string>;
  markedPods: Set<string>;
}

function fingerprint(so: ScaledObject): string {
  const a = so.metadata.annotations ?? {};
  const sorted = Object.keys(a)
    .sort()
    .map((k) => [k, a[k]]);
  return `${so.metadata.uid ?? ""}|${so.metadata.generation ?? 0}|${JSON.stringify(sorted)}`;
}

export class ScaledObjectController implements ReportsSource {
  private readonly informer: Informer<ScaledObject>;
  private readonly queue: WorkQueue;
  private readonly loops: EvaluationLoops;
  private readonly early = new EarlyEvaluations();
  private readonly states = new Map<string, ObjectState>();
  private readonly checks = new ScaledObjectChecks();
  /** What the first stage of every evaluation reads from: built once, not per evaluation. */
  private readonly prepareDeps: PrepareDeps;
  private readonly log: Logger;
  private readonly now: () => number;
  private stopped = false;
  private queueStarted = false;
  private registeredTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ScaledObjectControllerOptions) {
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.prepareDeps = {
      kube: o.kube,
      authSources: o.authSources,
      clusterObjectNamespace: o.clusterObjectNamespace,
      log: o.logger,
    };
    this.informer = o.kube.informer(SCALED_OBJECTS, { transform: withoutBookkeeping });
    this.queue = new WorkQueue({ name: "scaledobjects", concurrency: o.concurrency ?? 5, logger: o.logger });
    this.loops = new EvaluationLoops({ run: (batch) => this.evaluateWatched(batch), logger: o.logger });
  }

  /** Starts watching; reconciles begin once the informer has listed. Returns at once. */
  start(): void {
    this.informer.onChange((key) => this.queue.add(key));
    this.o.kube.start();
    void this.o.kube.synced().then(() => {
      if (this.stopped) return;
      this.queueStarted = true;
      this.queue.start((key) => this.reconcile(key));
      this.log.info({ scaledObjects: this.informer.list().length }, "ScaledObject informer synced");
      this.o.watch?.start({ topics: () => this.early.topics(), onTick: (tick) => this.onWatchTick(tick) });
    });
  }

  /** True once the informers have listed (for /readyz). */
  synced(): boolean {
    return this.informer.hasSynced();
  }

  /** Stops evaluating: no new evaluations, running ones finish; then the watches close. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.registeredTimer);
    if (this.queueStarted) await this.queue.stop();
    await this.o.watch?.stop();
    await this.loops.stop();
    await this.o.kube.close();
    this.o.metrics.forgetAll();
  }

  // ---- watch events -------------------------------------------------------------------------------------

  private async reconcile(key: string): Promise<ReconcileResult> {
    const so = this.informer.get(key);
    if (!so) {
      await this.forget(key);
      return undefined;
    }
    const log = this.log.child({ scaledObject: key });
    if (so.metadata.deletionTimestamp) {
      await this.loops.remove(key);
      await this.finalize(so, log);
      await this.forget(key);
      return undefined;
    }
    if (!hasFinalizer(so)) {
      const { changed } = await this.o.kube.finalizers.add(SCALED_OBJECTS, so);
      if (changed) log.debug({ finalizer: FINALIZER }, "finalizer added");
    }
    const uid = so.metadata.uid ?? "";
    let st = this.states.get(key);
    if (!st || st.uid !== uid) {
      st = {
        uid,
        fingerprint: "",
        history: undefined,
        memory: new Map(),
        triggerTypes: [],
        originalReplicaCount: undefined,
        failures: 0,
        retryAt: 0,
        inflight: 0,
        announcedStalls: new Set(),
        markedPods: new Set(),
      };
      this.states.set(key, st);
    }
    st.triggerTypes = (so.spec?.triggers ?? []).map((t) => t.type);
    const fp = fingerprint(so);
    if (st.fingerprint !== fp) {
      st.fingerprint = fp;
      st.retryAt = 0; // the change may be the fix: try at once
      // Read before validation (which runs per evaluation): bounded whatever the object says.
      const intervalMs = pollingIntervalMs(so.spec?.pollingInterval ?? 30);
      if (this.loops.set(key, intervalMs)) {
        this.o.kube.events.event(so, "Normal", EventReason.KEDAScalersStarted, "Started scalers watch");
        log.info({ pollingInterval: intervalMs / 1000 }, "evaluation loop started");
      }
      this.loops.trigger(key);
    }
    this.updateRegistered();
    return undefined;
  }

  private async finalize(so: ScaledObject, log: Logger): Promise<void> {
    if (!hasFinalizer(so)) return;
    const ns = so.metadata.namespace ?? "default";
    const ref = so.spec?.scaleTargetRef;
    const original = so.status?.originalReplicaCount ?? this.states.get(objectKey(so))?.originalReplicaCount;
    if (so.spec?.advanced?.restoreToOriginalReplicaCount === true && ref && original !== undefined) {
      try {
        await this.o.kube.scale.setReplicas(ns, ref, original);
        log.info({ replicas: original }, "restored the target to its original replica count");
      } catch (err) {
        if (!targetIsGone(err)) {
          this.o.metrics.objectError(ns, so.metadata.name ?? "");
          throw new Error(
            `restore ${ref.kind ?? "Deployment"} ${ns}/${ref.name} to ${original} replicas: ${errorText(err)}`,
            {
              cause: err,
            },
          );
        }
        log.info({ err: errorText(err) }, "target is gone: nothing to restore");
      }
    }
    await this.o.kube.finalizers.remove(SCALED_OBJECTS, so);
    this.o.kube.events.event(so, "Warning", EventReason.ScaledObjectDeleted, "ScaledObject was deleted");
    log.info("finalized");
  }

  private async forget(key: string): Promise<void> {
    await this.loops.remove(key);
    this.states.delete(key);
    this.o.reports?.forget(key);
    this.early.forget(key);
    const { namespace, name } = parseKey(key);
    this.o.metrics.forgetObject(namespace ?? "", name);
    this.updateRegistered();
  }

  /**
   * The registered-objects gauges count every object: recounted at most once a second, not at each
   * reconcile (10,000 objects starting up made that quadratic).
   */
  private updateRegistered(): void {
    if (this.registeredTimer || this.stopped) return;
    this.registeredTimer = setTimeout(() => {
      this.registeredTimer = undefined;
      if (!this.stopped) this.countRegistered();
    }, REGISTERED_RECOUNT_MS);
    this.registeredTimer.unref();
  }

  private countRegistered(): void {
    this.o.metrics.setRegistered(
      [...this.states.entries()].map(([key, st]) => ({
        namespace: parseKey(key).namespace ?? "",
        triggerTypes: st.triggerTypes,
      })),
    );
  }

  // ---- sidecar reports (ReportsSource) ------------------------------------------------------------------

  reportState(key: string): ObjectReportState | "unknown" | "not-ready" {
    const so = this.informer.get(key);
    if (!so || so.metadata.deletionTimestamp || this.stopped) return "unknown";
    return this.states.get(key)?.reportState ?? "not-ready";
  }

  evaluateNow(key: string): void {
    if (this.loops.has(key)) this.loops.trigger(key);
  }

  /** The reports' part of this evaluation; undefined when the object has no kept reports. */
  private async reportsFor(
    p: ReadyEvaluation,
    key: string,
    triggers: EvaluatedTrigger[],
    now: number,
  ): Promise<{ er: EvaluationReports; pods: TargetPod[] } | undefined> {
    const kept = this.o.reports?.list(key, now) ?? [];
    if (kept.length === 0 || p.scale.replicas <= 0) return undefined;
    const pods = await this.o.kube.pods.forTarget(p.scale);
    const drain = p.resolved.spec.advanced?.lagscale?.drainTimeSeconds;
    const er = evaluationReports({
      kept,
      pods,
      triggers,
      now,
      maxReplicaCount: p.spec.maxReplicaCount,
      ...(drain !== undefined ? { drainTimeSeconds: drain } : {}),
    });
    return { er, pods };
  }

  /** An Event and a metric per newly stalled partition, naming pod and partition. */
  private announceStalls(
    so: ScaledObject,
    st: ObjectState,
    er: EvaluationReports | undefined,
    log: () => Logger,
  ): void {
    const stalls = er?.summary ? er.view.stalls : [];
    const ns = so.metadata.namespace ?? "default";
    const fresh = newStalls(stalls, st.announcedStalls);
    for (const s of fresh) {
      const msg = `pod ${s.pod}: partition ${s.topic}/${s.partition} of consumer group ${s.consumerGroup} has lag ${s.lag} and its committed offset has not moved for ${Math.round(s.stalledForMs / 1000)} s; this lag is not counted as work for more replicas`;
      log().warn({ pod: s.pod, topic: s.topic, partition: s.partition, lag: s.lag }, "partition stalled");
      this.o.kube.events.event(so, "Warning", EventReason.KafkaPartitionStalled, msg);
    }
    st.announcedStalls = new Set(stalls.map(stallKey));
    this.o.metrics.recordStalls(ns, so.metadata.name ?? "", stalls, fresh.length);
  }

  // ---- early evaluations (end-offset watch) --------------------------------------------------------------

  private evaluateWatched(batch: DueKey[]): Map<string, Promise<void>> {
    for (const d of batch) this.early.started(d.key);
    const t0 = performance.now();
    const started = this.evaluateBatch(batch);
    // The batch's duration: from its start until the last of its objects is evaluated.
    void started
      .then((own) => Promise.allSettled(own.values()))
      .then(() => this.o.metrics.evaluationBatch(batch.length, (performance.now() - t0) / 1000));
    return new Map(
      batch.map((d) => [d.key, started.then((own) => own.get(d.key)).finally(() => this.early.ended(d.key))]),
    );
  }

  private onWatchTick(tick: WatchTick): void {
    this.o.metrics.watchTick();
    if (this.stopped) return;
    for (const { key, call } of this.early.onTick(tick)) {
      this.o.metrics.earlyEvaluation(call.reason);
      this.log.info({ scaledObject: key, ...call }, "early evaluation: log-end offsets grew between polls");
      this.loops.trigger(key);
    }
  }

  // ---- evaluations --------------------------------------------------------------------------------------

  /**
   * Prepares every object of the batch, starts all their reads together (one round per Kafka cluster), and
   * answers with one promise per object that ends with its own evaluation, not the slowest of the batch.
   */
  private async evaluateBatch(batch: DueKey[]): Promise<Map<string, Promise<void>>> {
    const own = new Map<string, Promise<void>>();
    if (this.stopped) return own;
    const now = this.now();
    const runnable = batch.filter((due) => {
      const st = this.states.get(due.key);
      if (!st) return true;
      if (st.inflight > 0) {
        this.log.warn(
          { scaledObject: due.key },
          "previous evaluation still running past its budget; skipped",
        );
        return false;
      }
      if (due.cause === "poll" && now < st.retryAt) {
        this.log.debug({ scaledObject: due.key, retryAt: new Date(st.retryAt) }, "backing off; skipped");
        return false;
      }
      return true;
    });
    const prepared = await Promise.all(
      runnable.map((due) =>
        this.budgeted(due.key, "reading the object and its inputs", this.prepare(due)).catch(
          async (err: unknown): Promise<Prepared> => {
            await this.evaluationFailed(due.key, this.informer.get(due.key), err);
            return { kind: "skip" };
          },
        ),
      ),
    );
    if (this.stopped) return own;
    // Every read of the batch in this tick: one round per Kafka cluster.
    for (const p of prepared) {
      if (p.kind !== "ready" || p.pause.paused) continue;
      for (const t of p.triggers) {
        if (t.kind === "kafka" && t.request) {
          let result: Promise<LagReadResult>;
          try {
            result = this.o.reader.read(t.request, `${p.due.key}#${t.index}`);
          } catch (err) {
            // A reader that throws fails this object's evaluation in finish, not the batch.
            result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
            result.catch(() => undefined);
          }
          p.reads.set(t.index, { started: performance.now(), result });
        }
      }
    }
    for (const p of prepared) {
      if (p.kind === "skip") continue;
      const key = objectKey(p.so);
      own.set(
        key,
        (async () => {
          try {
            await this.budgeted(key, "reading lag and deciding", this.finish(p));
            const st = this.states.get(key);
            if (st && p.kind === "ready") st.failures = 0;
          } catch (err) {
            await this.evaluationFailed(key, p.so, err);
          }
        })(),
      );
    }
    return own;
  }

  /** `work`, or an EvaluationOverran once the budget is spent; the object counts it as running until it ends. */
  private budgeted<T>(key: string, stage: string, work: Promise<T>): Promise<T> {
    const st = this.states.get(key);
    if (st) st.inflight++;
    const settled = work.finally(() => {
      if (st) st.inflight--;
    });
    const budgetMs = this.o.evaluationBudgetMs ?? DEFAULT_EVALUATION_BUDGET_MS;
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EvaluationOverran(`${stage} took longer than ${budgetMs / 1000} s`)),
        budgetMs,
      );
    });
    return Promise.race([settled, overran]).finally(() => clearTimeout(timer));
  }

  /**
   * An evaluation threw or overran: Ready=False, a Warning Event, and the next polls skipped for the backoff.
   * Nothing is scaled. Never throws (it runs in the batch's error path).
   */
  private async evaluationFailed(key: string, so: ScaledObject | undefined, err: unknown): Promise<void> {
    const overran = err instanceof EvaluationOverran;
    const reason = overran ? "EvaluationTimedOut" : "EvaluationFailed";
    const text = errorText(err);
    const message = `evaluation ${overran ? "overran its budget" : "failed"}: ${text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text}`;
    const st = this.states.get(key);
    let retryInMs: number | undefined;
    if (st) {
      st.failures++;
      retryInMs = backoffDelay(st.failures, EVALUATION_BACKOFF, (this.o.random ?? Math.random)());
      st.retryAt = this.now() + retryInMs;
      if (st.history) {
        st.history = {
          ...st.history,
          conditions: {
            ...st.history.conditions,
            Ready: { status: "False", reason, message },
            Active: { status: "Unknown", reason: "UnknownState", message: "ScaledObject evaluation failed" },
          },
        };
      }
    }
    this.log.error(
      { scaledObject: key, reason, err: text, failures: st?.failures, retryInMs },
      "evaluation failed; backing off",
    );
    if (!so || this.stopped) return;
    const { namespace = "", name = "" } = so.metadata;
    this.o.metrics.objectError(namespace, name);
    this.o.kube.events.event(so, "Warning", EventReason.ScaledObjectCheckFailed, message);
    try {
      await this.o.kube.status.patch(SCALED_OBJECTS, so, statusAfterCheckFailure(reason, message));
    } catch (patchErr) {
      this.log.warn({ scaledObject: key, err: errorText(patchErr) }, "could not write the failure to status");
    }
  }

  private prepare(due: DueKey): Promise<Prepared> {
    const so = this.informer.get(due.key);
    if (!so || so.metadata.deletionTimestamp || this.stopped) return Promise.resolve({ kind: "skip" });
    return prepareEvaluation(this.prepareDeps, this.checks, so, due);
  }

  private async finish(p: Prepared): Promise<void> {
    if (p.kind === "skip") return;
    const so = p.so;
    const key = objectKey(so);
    const ns = so.metadata.namespace ?? "default";
    const name = so.metadata.name ?? "";
    // Made on first use: most evaluations log nothing at info, and a child logger per evaluation costs.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= this.log.child({ scaledObject: key }));
    const { kube, metrics } = this.o;
    const started = this.now();
    const loopLatencySeconds = (started - p.due.expectedAt) / 1000;

    if (p.kind === "failed") {
      log().warn({ reason: p.reason, err: p.message }, "ScaledObject check failed; not scaling");
      kube.events.event(so, "Warning", EventReason.ScaledObjectCheckFailed, p.message);
      metrics.recordObject(ns, name, { paused: false, error: true, loopLatencySeconds });
      const st = this.states.get(key);
      if (st?.history) {
        st.history = {
          ...st.history,
          conditions: {
            ...st.history.conditions,
            Ready: { status: "False", reason: p.reason, message: p.message },
            Active: { status: "Unknown", reason: "UnknownState", message: "ScaledObject check failed" },
          },
        };
      }
      await kube.status.patch(SCALED_OBJECTS, so, statusAfterCheckFailure(p.reason, p.message));
      return;
    }

    const st = this.states.get(key);
    if (!st || st.uid !== (so.metadata.uid ?? "")) return; // deleted meanwhile
    const history = st.history ?? seedStateFromStatus(so.status);
    // Captured once, before lagscale first scales the target (KEDA: the first time the target is resolved).
    st.originalReplicaCount ??= so.status?.originalReplicaCount ?? p.scale.replicas;

    // Trigger values: kafka reads issued by the batch, cron from the clock.
    const values = await triggerValues(p, st.memory, new Date(this.now()));
    const { outcomes, samples, lagSum, evaluated, reportTriggers } = values;
    for (const { metricName, reason } of values.inactive) {
      // D3: say why the trigger is inactive where people look, not only in the log.
      log().info({ trigger: metricName }, reason);
      kube.events.event(so, "Normal", EventReason.KEDAScalerInfo, `${metricName}: ${reason}`);
    }

    const now = this.now();
    const target = p.scale.target;
    const input: DecideInput = {
      spec: p.spec,
      triggers: outcomes.map((o) => o.input),
      currentReplicas: p.scale.replicas,
      statusReplicas: p.scale.statusReplicas,
      pause: p.pause,
      now,
      targetRef: `${scaleTargetKind(target)} ${ns}/${p.scale.name}`,
      history,
    };
    if (p.readyReplicas !== undefined) input.readyReplicas = p.readyReplicas;
    const reports = await this.reportsFor(p, key, evaluated, now).catch((err: unknown) => {
      log().warn({ err: errorText(err) }, "could not read the target's pods: deciding without reports");
      return undefined;
    });
    if (reports?.er.summary) input.reports = reports.er.summary;
    const created = Date.parse(so.metadata.creationTimestamp ?? "");
    if (Number.isFinite(created)) input.createdAt = created;
    const result = decideScaledObject(input);
    this.announceStalls(so, st, reports?.er, log);

    const events: ScalingEvent[] = [...result.events];
    let state = result.state;
    let replicas = p.scale.replicas;
    let scaleError: string | undefined;
    if (result.decision.kind === "scale") {
      const n = result.decision.replicas;
      if (reports?.er.summary && n > 0 && n < p.scale.replicas) {
        // Before a scale-in, the idle consumers get the lowest deletion cost so the ReplicaSet removes them.
        await markForScaleIn(
          kube.pods,
          reports.pods,
          reports.er.view,
          p.scale.replicas - result.decision.replicas,
          st.markedPods,
          log(),
        ).catch((err: unknown) =>
          log().warn({ err: errorText(err) }, "could not mark pods for the scale-in"),
        );
      }
      try {
        const after = await kube.scale.setReplicas(
          ns,
          p.resolved.spec.scaleTargetRef,
          result.decision.replicas,
        );
        replicas = after.replicas;
        events.push(...result.eventsIfScaled);
        if (result.eventsIfScaled.length === 0) {
          // The HPA steps (and min-replicas, paused-replicas) have no KEDA event; the HPA itself would say this.
          events.push({
            type: "Normal",
            reason: "SuccessfulRescale",
            message: `New size: ${result.decision.replicas}; reason: ${result.decision.message}`,
          });
        }
        log().info(
          {
            from: p.scale.replicas,
            to: result.decision.replicas,
            reason: result.decision.reason,
            why: result.decision.message,
            early: this.early.pendingCall(key)?.reason,
          },
          "scaled",
        );
      } catch (err) {
        scaleError = errorText(err);
        state = result.stateIfScaleFails;
        if (result.eventIfScaleFails) events.push(result.eventIfScaleFails);
        else
          events.push({ type: "Warning", reason: EventReason.ScaledObjectUpdateFailed, message: scaleError });
        log().error({ to: result.decision.replicas, err: scaleError }, "scale write failed");
      }
    } else {
      if (this.log.isLevelEnabled("debug"))
        log().debug({ replicas, reason: result.decision.reason, why: result.decision.message }, "holding");
      if (st.markedPods.size > 0) {
        // No scale-in under way: the marks this controller set earlier come off the pods that stayed.
        const marked = st.markedPods;
        await (reports ? Promise.resolve(reports.pods) : kube.pods.forTarget(p.scale))
          .then((pods) => clearMarks(kube.pods, pods, marked))
          .catch((err: unknown) => log().warn({ err: errorText(err) }, "could not clear deletion costs"));
      }
    }
    st.reportState = {
      scale: p.scale,
      context: {
        currentReplicas: replicas,
        maxReplicaCount: p.spec.maxReplicaCount,
        triggers: reportTriggers,
      },
    };
    if (history.conditions.Ready.status !== "True" && state.conditions.Ready.status === "True") {
      events.unshift({
        type: "Normal",
        reason: EventReason.ScaledObjectReady,
        message: state.conditions.Ready.message,
      });
    }
    st.history = state;
    this.early.record(
      key,
      memoryFromEvaluation({
        replicas,
        maxReplicaCount: p.spec.maxReplicaCount,
        activated: result.decision.kind === "scale" && result.decision.reason === "activate" && !scaleError,
        kafka: values.kafka,
      }),
    );
    for (const e of events) kube.events.event(so, e.type, e.reason, e.message);

    const changes = statusOfEvaluation(p, {
      state,
      activeTriggers: result.activeTriggers,
      originalReplicaCount: st.originalReplicaCount,
      currentReplicas: replicas,
      lagSum,
    });
    await kube.status.patch(SCALED_OBJECTS, so, changes);

    const desired = result.decision.kind === "scale" ? result.decision.replicas : replicas;
    if (!p.pause.paused) metrics.recordTriggers(ns, name, samples);
    metrics.recordObject(ns, name, {
      paused: p.pause.paused,
      desired,
      current: replicas,
      error: result.isError || scaleError !== undefined,
      loopLatencySeconds,
    });
    if (!this.log.isLevelEnabled("debug")) return; // its arguments are built only when someone reads them
    log().debug(
      {
        cause: p.due.cause,
        replicas,
        desired,
        active: result.isActive,
        triggers: outcomes.map((o) => ({
          name: o.input.name,
          value: o.input.metricValue,
          active: o.input.active,
          error: o.input.error,
        })),
        ms: this.now() - started,
      },
      "evaluated",
    );
  }
}
