/**
 * Early evaluations from the end-offset watch: what the controller remembers of each ScaledObject's last
 * evaluation (per kafka trigger that names a topic: its lag, the log-end offsets of its partitions then,
 * lagThreshold, activationLagThreshold, the partition cap; and the replicas after it), and the rule that
 * turns one watch tick into "evaluate these objects now".
 *
 * The rule (core/scaling/early.ts gives the hint): a trigger's estimated lag is its lag at the last
 * evaluation plus the growth of its partitions' log-end offsets since; an object is evaluated at once when
 * the hint says activation or scale-up for that estimate and the last evaluation did not already answer it:
 *   - new messages arrived (growth > 0) and the recorded lag alone called for nothing, or
 *   - the last evaluation activated the target (0 → min), so the HPA step that follows is due now.
 * An object is called at most once per tick, never while it is being evaluated, and not again until the
 * evaluation it asked for has recorded. Everything here is pure bookkeeping; the controller does the I/O.
 */
import { connectionKey } from "../../core/kafka/connection.js";
import type { TopicEndOffsets, WatchedTopic, WatchTick } from "../../core/kafka/end-offset-watch.js";
import type { KafkaConnection, LagReadResult } from "../../core/kafka/types.js";
import { earlyEvaluationReason, estimateLag, type EarlyReason } from "../../core/scaling/index.js";
import type { ParsedKafkaTrigger } from "./spec.js";

/** One kafka trigger as its last evaluation left it. */
export interface TriggerMemory {
  metricName: string;
  cluster: KafkaConnection;
  clusterKey: string;
  topic: string;
  /** The trigger's lag at the evaluation (activation lag: persistent lag included, before the cap). */
  lag: number;
  /** Log-end offsets of the trigger's partitions (after partitionLimitation) read by the evaluation. */
  endOffsets: ReadonlyMap<number, number>;
  lagThreshold: number;
  activationLagThreshold: number;
  /** Replicas beyond this would idle (the lag cap); undefined with allowIdleConsumers. */
  partitions: number | undefined;
}

export interface ObjectMemory {
  /** The target's replicas after the evaluation. */
  replicas: number;
  maxReplicaCount: number;
  /** The evaluation activated the target: the HPA step on the same lag has not run yet. */
  activated: boolean;
  triggers: TriggerMemory[];
}

export interface EvaluatedKafkaTrigger {
  trigger: ParsedKafkaTrigger;
  read: LagReadResult | { ok: false; error: string };
  /** The outcome's lag, when the evaluation could compute one. */
  lag: number | undefined;
}

/** The memory of one evaluation; undefined when no trigger can be watched (no topic, or no lag read). */
export function memoryFromEvaluation(input: {
  replicas: number;
  maxReplicaCount: number;
  activated: boolean;
  kafka: readonly EvaluatedKafkaTrigger[];
}): ObjectMemory | undefined {
  const triggers: TriggerMemory[] = [];
  for (const { trigger, read, lag } of input.kafka) {
    const topic = trigger.meta.topic?.trim();
    const request = trigger.request;
    if (!topic || !request || !read.ok || lag === undefined) continue;
    const endOffsets = new Map<number, number>();
    for (const p of read.partitions)
      if (p.topic === topic && p.latest !== undefined) endOffsets.set(p.partition, p.latest);
    if (endOffsets.size === 0) continue;
    const meta = trigger.meta;
    const uncapped = meta.allowIdleConsumers && !meta.limitToPartitionsWithLag;
    triggers.push({
      metricName: trigger.metricName,
      cluster: request.cluster,
      clusterKey: connectionKey(request.cluster),
      topic,
      lag,
      endOffsets,
      lagThreshold: meta.lagThreshold,
      activationLagThreshold: meta.activationLagThreshold,
      partitions: uncapped ? undefined : endOffsets.size,
    });
  }
  if (triggers.length === 0) return undefined;
  return {
    replicas: input.replicas,
    maxReplicaCount: input.maxReplicaCount,
    activated: input.activated,
    triggers,
  };
}

export interface EarlyCall {
  reason: EarlyReason;
  trigger: string;
  topic: string;
  estimatedLag: number;
  growth: number;
}

/** Whether this tick calls for an evaluation of the object now, and why. */
export function earlyCall(
  memory: ObjectMemory,
  offsetsOf: (clusterKey: string, topic: string) => TopicEndOffsets | undefined,
): EarlyCall | undefined {
  for (const t of memory.triggers) {
    const now = offsetsOf(t.clusterKey, t.topic);
    const { lag, growth } = now
      ? estimateLag(t.lag, t.endOffsets, now.endOffsets)
      : { lag: t.lag, growth: 0 };
    const hint = (l: number) =>
      earlyEvaluationReason({
        lag: l,
        lagThreshold: t.lagThreshold,
        activationLagThreshold: t.activationLagThreshold,
        currentReplicas: memory.replicas,
        maxReplicaCount: memory.maxReplicaCount,
        ...(t.partitions !== undefined ? { partitions: t.partitions } : {}),
      });
    const reason = hint(lag);
    if (reason === undefined) continue;
    const answered = !memory.activated && (growth <= 0 || hint(t.lag) !== undefined);
    if (answered) continue;
    return { reason, trigger: t.metricName, topic: t.topic, estimatedLag: lag, growth };
  }
  return undefined;
}

interface Entry {
  memory: ObjectMemory | undefined;
  /** Evaluations of the object running now. */
  evaluating: number;
  /** An evaluation running now recorded its memory. */
  recorded: boolean;
  /** Why an early evaluation was asked for and has not recorded yet. */
  pending: EarlyCall | undefined;
}

/** The per-object memory and the rule applied to each watch tick. */
export class EarlyEvaluations {
  private readonly entries = new Map<string, Entry>();

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e)
      this.entries.set(key, (e = { memory: undefined, evaluating: 0, recorded: false, pending: undefined }));
    return e;
  }

  /** An evaluation of the key starts. */
  started(key: string): void {
    const e = this.entry(key);
    e.evaluating++;
    e.recorded = false;
  }

  /** The running evaluation's memory (undefined: nothing to watch for this object). */
  record(key: string, memory: ObjectMemory | undefined): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.memory = memory;
    e.recorded = true;
  }

  /**
   * The evaluation ended. One that recorded nothing (failed check, paused, error) leaves no memory, so a
   * failing object is not evaluated early again and again. Returns the early call it answered, if any.
   */
  ended(key: string): EarlyCall | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    e.evaluating = Math.max(0, e.evaluating - 1);
    if (e.evaluating > 0) return undefined;
    if (!e.recorded) e.memory = undefined;
    const answered = e.pending;
    e.pending = undefined;
    if (!e.memory) this.entries.delete(key);
    return answered;
  }

  /** The early call an evaluation running now answers, if any. */
  pendingCall(key: string): EarlyCall | undefined {
    return this.entries.get(key)?.pending;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Topics to watch: those of the kafka triggers remembered, once per cluster. */
  topics(): WatchedTopic[] {
    const out = new Map<string, WatchedTopic>();
    for (const e of this.entries.values()) {
      for (const t of e.memory?.triggers ?? [])
        out.set(`${t.clusterKey}\u0000${t.topic}`, { cluster: t.cluster, topic: t.topic });
    }
    return [...out.values()];
  }

  /** The objects this tick calls to evaluate now, each marked pending until its evaluation ends. */
  onTick(tick: WatchTick): { key: string; call: EarlyCall }[] {
    const byTopic = new Map<string, TopicEndOffsets>();
    for (const t of tick.topics) byTopic.set(`${t.clusterKey}\u0000${t.topic}`, t);
    const offsetsOf = (clusterKey: string, topic: string) => byTopic.get(`${clusterKey}\u0000${topic}`);
    const calls: { key: string; call: EarlyCall }[] = [];
    for (const [key, e] of this.entries) {
      if (!e.memory || e.evaluating > 0 || e.pending) continue;
      const call = earlyCall(e.memory, offsetsOf);
      if (!call) continue;
      e.pending = call;
      calls.push({ key, call });
    }
    return calls;
  }
}
