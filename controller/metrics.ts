/**
 * The controller's Prometheus metrics (prom-client). KEDA's operator metrics (keda-semantics.md §5.1) under
 * the `lagscale_` prefix with KEDA's label names, plus lagscale's own: the Kafka lag per trigger, desired and
 * current replicas, and the Kafka requests the lag reader sent. The leader gauge is registered by the leader
 * elector on the same registry.
 *
 * Per-object series are remembered and deleted when the object goes away or its triggers change, so a
 * deleted ScaledObject leaves no stale series behind.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** KEDA's common label set L. */
export interface TriggerLabels {
  namespace: string;
  /** The ScaledObject (or ScaledJob) name. */
  scaledObject: string;
  /** The trigger's `name`, or KEDA's scaler type name (`kafkaScaler`, `cronScaler`) when unnamed. */
  scaler: string;
  triggerIndex: string;
  /** The metric name, e.g. `s0-kafka-orders`. */
  metric: string;
  /** `scaledobject` or `scaledjob`. */
  type: string;
}

const TRIGGER_LABELS = ["namespace", "metric", "scaledObject", "scaler", "triggerIndex", "type"] as const;
const OBJECT_LABELS = ["namespace", "scaledObject"] as const;
const LAG_LABELS = ["namespace", "scaledObject", "trigger"] as const;
const STALL_LABELS = ["namespace", "scaledObject", "pod", "topic", "partition"] as const;

export interface TriggerSample {
  labels: TriggerLabels;
  /** The metric value the decision used (Kafka: the capped lag); absent when the read failed. */
  value?: number;
  active: boolean;
  /** Seconds the read took. */
  latencySeconds?: number;
  error: boolean;
  /** Kafka only: the total lag (before capping); absent for other triggers or when the read failed. */
  lag?: number;
}

export interface BuildInfo {
  version: string;
  gitCommit: string;
}

/** The version in package.json and the commit from GIT_COMMIT (set by the image build), else "unknown". */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  let version = "unknown";
  try {
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "package.json");
    version = (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    // a build without package.json next to it: the version stays unknown
  }
  return { version, gitCommit: env.GIT_COMMIT?.trim() || "unknown" };
}

/** One trigger series' identity, cheaper than JSON per evaluation (label values are Kubernetes names). */
function triggerSeriesKey(l: TriggerLabels): string {
  return `${l.namespace}\u0000${l.scaledObject}\u0000${l.scaler}\u0000${l.triggerIndex}\u0000${l.metric}\u0000${l.type}`;
}

interface ObjectSeries {
  triggers: TriggerLabels[];
  lag: Record<(typeof LAG_LABELS)[number], string>[];
  stalls?: Record<(typeof STALL_LABELS)[number], string>[];
}

export class ControllerMetrics {
  readonly registry: Registry;
  readonly scalerMetricsValue: Gauge<(typeof TRIGGER_LABELS)[number]>;
  readonly scalerActive: Gauge<(typeof TRIGGER_LABELS)[number]>;
  readonly scalerLatency: Gauge<(typeof TRIGGER_LABELS)[number]>;
  readonly scalerErrors: Counter<(typeof TRIGGER_LABELS)[number]>;
  readonly objectErrors: Counter<(typeof OBJECT_LABELS)[number]>;
  readonly objectPaused: Gauge<(typeof OBJECT_LABELS)[number]>;
  readonly resourceRegistered: Gauge<"type" | "namespace">;
  readonly triggerRegistered: Gauge<"type">;
  readonly loopLatency: Gauge<"namespace" | "type" | "resource">;
  readonly kafkaLag: Gauge<(typeof LAG_LABELS)[number]>;
  readonly desiredReplicas: Gauge<(typeof OBJECT_LABELS)[number]>;
  readonly currentReplicas: Gauge<(typeof OBJECT_LABELS)[number]>;
  readonly kafkaRequests: Counter<"api">;
  readonly evaluations: Counter<(typeof OBJECT_LABELS)[number]>;
  readonly stalledPartitionLag: Gauge<(typeof STALL_LABELS)[number]>;
  readonly partitionStalls: Counter<(typeof OBJECT_LABELS)[number]>;
  readonly watchTicks: Counter;
  readonly watchRequests: Counter<"api">;
  readonly earlyEvaluations: Counter<"reason">;
  readonly batchSeconds: Histogram;
  readonly batchObjects: Counter;
  private readonly series = new Map<string, ObjectSeries>();
  private readonly registeredResources = new Set<string>();
  private readonly registeredTriggers = new Set<string>();

  constructor(registry: Registry = new Registry(), build: BuildInfo = buildInfo()) {
    this.registry = registry;
    const registers = [registry];
    new Gauge({
      name: "lagscale_build_info",
      help: "Build information: version, git commit, Node.js version, platform",
      labelNames: ["version", "git_commit", "nodeversion", "goos", "goarch"] as const,
      registers,
    }).set(
      {
        version: build.version,
        git_commit: build.gitCommit,
        nodeversion: process.version,
        goos: process.platform,
        goarch: process.arch,
      },
      1,
    );
    this.scalerMetricsValue = new Gauge({
      name: "lagscale_scaler_metrics_value",
      help: "The metric value a trigger gave the scaling decision (kafka: the capped lag)",
      labelNames: TRIGGER_LABELS,
      registers,
    });
    this.scalerActive = new Gauge({
      name: "lagscale_scaler_active",
      help: "1 when the trigger is active, else 0",
      labelNames: TRIGGER_LABELS,
      registers,
    });
    this.scalerLatency = new Gauge({
      name: "lagscale_scaler_metrics_latency_seconds",
      help: "Seconds the last read of the trigger's metric took",
      labelNames: TRIGGER_LABELS,
      registers,
    });
    this.scalerErrors = new Counter({
      name: "lagscale_scaler_detail_errors_total",
      help: "Failed reads of the trigger's metric",
      labelNames: TRIGGER_LABELS,
      registers,
    });
    this.objectErrors = new Counter({
      name: "lagscale_scaled_object_errors_total",
      help: "Evaluations of the ScaledObject that ended in an error (check failed, a trigger failed, a write failed)",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.objectPaused = new Gauge({
      name: "lagscale_scaled_object_paused",
      help: "1 while the ScaledObject is paused, else 0",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.resourceRegistered = new Gauge({
      name: "lagscale_resource_registered_total",
      help: "Objects the controller evaluates, by type (scaled_object) and namespace",
      labelNames: ["type", "namespace"] as const,
      registers,
    });
    this.triggerRegistered = new Gauge({
      name: "lagscale_trigger_registered_total",
      help: "Triggers of the evaluated objects, by trigger type",
      labelNames: ["type"] as const,
      registers,
    });
    this.loopLatency = new Gauge({
      name: "lagscale_internal_scale_loop_latency_seconds",
      help: "Delay between the expected and the actual start of the last evaluation",
      labelNames: ["namespace", "type", "resource"] as const,
      registers,
    });
    this.kafkaLag = new Gauge({
      name: "lagscale_kafka_lag",
      help: "Total lag of a kafka trigger at the last evaluation, before capping",
      labelNames: LAG_LABELS,
      registers,
    });
    this.desiredReplicas = new Gauge({
      name: "lagscale_desired_replicas",
      help: "Replicas the last decision asked for",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.currentReplicas = new Gauge({
      name: "lagscale_current_replicas",
      help: "Replicas of the scale target (spec.replicas of /scale) after the last evaluation",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.kafkaRequests = new Counter({
      name: "lagscale_kafka_requests_total",
      help: "Kafka requests the lag reader sent, by API (Metadata, OffsetFetch, ListOffsets, ...)",
      labelNames: ["api"] as const,
      registers,
    });
    this.stalledPartitionLag = new Gauge({
      name: "lagscale_stalled_partition_lag",
      help: "Lag of a partition a sidecar reports stalled (its committed offset does not move), by pod and partition",
      labelNames: STALL_LABELS,
      registers,
    });
    this.partitionStalls = new Counter({
      name: "lagscale_partition_stalls_total",
      help: "Stalled partitions reported by sidecars (each stall counted once, when it begins)",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.evaluations = new Counter({
      name: "lagscale_scaled_object_evaluations_total",
      help: "Evaluations of the ScaledObject",
      labelNames: OBJECT_LABELS,
      registers,
    });
    this.watchTicks = new Counter({
      name: "lagscale_end_offset_watch_ticks_total",
      help: "Ticks of the end-offset watch (log-end offsets of every watched topic read once)",
      registers,
    });
    this.watchRequests = new Counter({
      name: "lagscale_end_offset_watch_requests_total",
      help: "Kafka requests the end-offset watch sent, by API (ListOffsets, Metadata, ...)",
      labelNames: ["api"] as const,
      registers,
    });
    this.earlyEvaluations = new Counter({
      name: "lagscale_early_evaluations_total",
      help: "Evaluations asked for between polls because log-end offsets grew, by reason (activation, scale-up)",
      labelNames: ["reason"] as const,
      registers,
    });
    // A histogram, not a summary: two scrapes' bucket counts give the quantiles of any window between them
    // (a steady state apart from the start-up), and a summary's quantiles cannot be aggregated.
    this.batchSeconds = new Histogram({
      name: "lagscale_evaluation_batch_duration_seconds",
      help: "Seconds from the start of an evaluation batch (the objects due at one moment) until its last object is evaluated",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 10, 20, 30, 60],
      registers,
    });
    this.batchObjects = new Counter({
      name: "lagscale_evaluation_batch_objects_total",
      help: "ScaledObjects evaluated in batches (with the summary's count: the mean batch size)",
      registers,
    });
  }

  /** One evaluation batch ended: its size and duration. */
  evaluationBatch(objects: number, seconds: number): void {
    this.batchSeconds.observe(seconds);
    this.batchObjects.inc(objects);
  }

  /**
   * The partitions sidecars report stalled (lag, by pod and partition; series of ended stalls removed), and
   * how many stalls began in this evaluation.
   */
  recordStalls(
    namespace: string,
    scaledObject: string,
    stalls: readonly { pod: string; topic: string; partition: number; lag: number }[],
    newStalls: number,
  ): void {
    const key = `${namespace}/${scaledObject}`;
    const series = this.series.get(key) ?? { triggers: [], lag: [] };
    this.series.set(key, series);
    for (const l of series.stalls ?? []) this.stalledPartitionLag.remove(l);
    series.stalls = stalls.map((s) => {
      const l = { namespace, scaledObject, pod: s.pod, topic: s.topic, partition: String(s.partition) };
      this.stalledPartitionLag.set(l, s.lag);
      return l;
    });
    if (newStalls > 0) this.partitionStalls.inc({ namespace, scaledObject }, newStalls);
  }

  /** One Kafka request sent (the lag reader's onRequest). */
  kafkaRequest(api: string): void {
    this.kafkaRequests.inc({ api });
  }

  /** One tick of the end-offset watch. */
  watchTick(): void {
    this.watchTicks.inc();
  }

  /** One Kafka request of the end-offset watch. */
  watchRequest(api: string): void {
    this.watchRequests.inc({ api });
  }

  /** One evaluation asked for by the end-offset watch. */
  earlyEvaluation(reason: string): void {
    this.earlyEvaluations.inc({ reason });
  }

  /**
   * One evaluation's trigger samples. Series of triggers the object no longer has (a spec change) are
   * deleted.
   */
  recordTriggers(namespace: string, scaledObject: string, samples: readonly TriggerSample[]): void {
    const key = `${namespace}/${scaledObject}`;
    const next: ObjectSeries = { triggers: [], lag: [] };
    for (const s of samples) {
      next.triggers.push(s.labels);
      if (s.value !== undefined) this.scalerMetricsValue.set(s.labels, s.value);
      this.scalerActive.set(s.labels, s.active ? 1 : 0);
      if (s.latencySeconds !== undefined) this.scalerLatency.set(s.labels, s.latencySeconds);
      if (s.error) this.scalerErrors.inc(s.labels);
      else this.scalerErrors.inc(s.labels, 0);
      if (s.lag !== undefined) {
        const l = { namespace, scaledObject, trigger: s.labels.metric };
        this.kafkaLag.set(l, s.lag);
        next.lag.push(l);
      }
    }
    const prev = this.series.get(key);
    if (prev) {
      const keep = new Set(next.triggers.map(triggerSeriesKey));
      for (const l of prev.triggers) if (!keep.has(triggerSeriesKey(l))) this.removeTrigger(l);
      const keepLag = new Set(next.lag.map((l) => l.trigger));
      // a trigger whose read failed has no lag to show: its series goes until a read succeeds again
      for (const l of prev.lag) if (!keepLag.has(l.trigger)) this.kafkaLag.remove(l);
      if (prev.stalls) next.stalls = prev.stalls;
    }
    this.series.set(key, next);
  }

  recordObject(
    namespace: string,
    scaledObject: string,
    sample: {
      paused: boolean;
      desired?: number;
      current?: number;
      error?: boolean;
      loopLatencySeconds?: number;
    },
  ): void {
    const l = { namespace, scaledObject };
    const key = `${namespace}/${scaledObject}`;
    if (!this.series.has(key)) this.series.set(key, { triggers: [], lag: [] });
    this.evaluations.inc(l);
    this.objectPaused.set(l, sample.paused ? 1 : 0);
    if (sample.desired !== undefined) this.desiredReplicas.set(l, sample.desired);
    if (sample.current !== undefined) this.currentReplicas.set(l, sample.current);
    if (sample.error) this.objectErrors.inc(l);
    else this.objectErrors.inc(l, 0);
    if (sample.loopLatencySeconds !== undefined) {
      this.loopLatency.set(
        { namespace, type: "scaledobject", resource: scaledObject },
        Math.max(0, sample.loopLatencySeconds),
      );
    }
  }

  /** Counts an error of the object outside an evaluation (e.g. a failed finalizer). */
  objectError(namespace: string, scaledObject: string): void {
    this.objectErrors.inc({ namespace, scaledObject });
  }

  /**
   * The registered objects and their trigger types, in full (recomputed from the informer's cache): sets
   * lagscale_resource_registered_total and lagscale_trigger_registered_total, zeroing types that went away.
   */
  setRegistered(objects: readonly { namespace: string; triggerTypes: readonly string[] }[]): void {
    const perNs = new Map<string, number>();
    const perType = new Map<string, number>();
    for (const o of objects) {
      perNs.set(o.namespace, (perNs.get(o.namespace) ?? 0) + 1);
      for (const t of o.triggerTypes) perType.set(t, (perType.get(t) ?? 0) + 1);
    }
    for (const ns of this.registeredResources) {
      if (!perNs.has(ns)) this.resourceRegistered.remove({ type: "scaled_object", namespace: ns });
    }
    for (const t of this.registeredTriggers) if (!perType.has(t)) this.triggerRegistered.set({ type: t }, 0);
    this.registeredResources.clear();
    for (const [ns, n] of perNs) {
      this.resourceRegistered.set({ type: "scaled_object", namespace: ns }, n);
      this.registeredResources.add(ns);
    }
    for (const [t, n] of perType) {
      this.triggerRegistered.set({ type: t }, n);
      this.registeredTriggers.add(t);
    }
  }

  /** Deletes every per-object series of a ScaledObject that went away. */
  forgetObject(namespace: string, scaledObject: string): void {
    const key = `${namespace}/${scaledObject}`;
    const prev = this.series.get(key);
    if (prev) {
      for (const l of prev.triggers) this.removeTrigger(l);
      for (const l of prev.lag) this.kafkaLag.remove(l);
      for (const l of prev.stalls ?? []) this.stalledPartitionLag.remove(l);
    }
    this.series.delete(key);
    const l = { namespace, scaledObject };
    for (const g of [this.objectPaused, this.desiredReplicas, this.currentReplicas]) g.remove(l);
    this.objectErrors.remove(l);
    this.evaluations.remove(l);
    this.partitionStalls.remove(l);
    this.loopLatency.remove({ namespace, type: "scaledobject", resource: scaledObject });
  }

  /** Every per-object series (leadership lost: another replica reports them now). */
  forgetAll(): void {
    for (const key of [...this.series.keys()]) {
      const i = key.indexOf("/");
      this.forgetObject(key.slice(0, i), key.slice(i + 1));
    }
    this.setRegistered([]);
  }

  private removeTrigger(l: TriggerLabels): void {
    this.scalerMetricsValue.remove(l);
    this.scalerActive.remove(l);
    this.scalerLatency.remove(l);
    this.scalerErrors.remove(l);
  }
}
