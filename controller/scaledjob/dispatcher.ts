/**
 * Per-message dispatch (`spec.dispatch.mode: perMessage`), run by the leader: for each such ScaledJob one
 * kafkajs consumer in the trigger's consumer group reads the trigger's topic and creates one Job per message.
 *
 * Exactly one Job per message, across crashes and leader changes:
 * - the Job's name comes from (ScaledJob, partition, offset) (core/scaledjob/message.ts): a message read again
 *   after a crash gets AlreadyExists, which counts as created;
 * - a partition's offset is committed after its message's Job exists, in order (messages of one partition are
 *   handled one after the other), so a crash loses nothing: the uncommitted messages are read again;
 * - history clean-up keeps Jobs whose offset is not committed (controller.ts, protectUncommitted).
 *
 * maxReplicaCount bounds the Jobs running at once: at the bound the partition is paused (the consumer stays in
 * its group: no rebalance) and resumed when a Job has finished. A Job the API server refuses (invalid template,
 * quota, admission) is retried with backoff, the partition paused meanwhile; the reason is kept for status,
 * sent as a Warning Event and counted. Nothing is skipped.
 */
import {
  Kafka,
  logLevel,
  type Batch,
  type Consumer,
  type EachBatchPayload,
  type KafkaMessage,
} from "kafkajs";
import { errorText, MAX_ERROR_CHARS } from "../../core/errors.js";
import { kafkajsConfig } from "../../core/kafka/connection.js";
import { kafkaConnection } from "../../core/kafka/from-trigger.js";
import type { ScaledJob } from "../../core/crd/index.js";
import type { Logger } from "../../core/log.js";
import { effectiveMaxReplicaCount } from "../../core/scaledjob/bounds.js";
import { jobFinishedAs } from "../../core/scaledjob/jobs.js";
import { jobForScaledJob } from "../../core/scaledjob/job-object.js";
import {
  dispatchSettings,
  messageEnv,
  messageJobName,
  OFFSET_LABEL,
  PARTITION_LABEL,
  TOPIC_ANNOTATION,
  type CommittedOffsets,
} from "../../core/scaledjob/message.js";
import { backoffDelay, type BackoffPolicy } from "../scaledobject/backoff.js";
import { isAlreadyExists, type EventRecorder } from "../kube/index.js";
import type { ParsedKafkaTrigger } from "../scaledobject/spec.js";
import type { MessageDispatch } from "./controller.js";
import type { JobClient } from "./jobs-client.js";
import type { ScaledJobMetrics } from "./metrics.js";

/** Retries of a Job the API server refuses: 1 s doubling to 1 minute. */
export const CREATE_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 };
/** How often, at the bound, the running Jobs are counted again. */
const BOUND_RECHECK_MS = 1000;

export interface DispatcherOptions {
  jobs: JobClient;
  events: Pick<EventRecorder, "event">;
  metrics: ScaledJobMetrics;
  logger: Logger;
  /** The consumers' client id; default lagscale-dispatch. */
  clientId?: string;
  /** Session timeout of the consumers (ms): how soon a dead leader's partitions move. Default 10 s. */
  sessionTimeoutMs?: number;
}

/** The consumer calls the dispatcher makes: narrow, so tests can give a fake. */
export type DispatchConsumer = Pick<Consumer, "commitOffsets" | "pause" | "resume" | "disconnect">;

/** One ScaledJob's dispatch: its consumer and what it knows of the running Jobs. */
export interface DispatchEntry {
  key: string;
  identity: string;
  sj: ScaledJob;
  trigger: ParsedKafkaTrigger;
  kafka: Pick<Kafka, "admin">;
  consumer: DispatchConsumer;
  paused: boolean;
  /** Running Jobs as last counted plus those created since. */
  running: number;
  /** Jobs this consumer created (or found) and has not seen finish: a list a moment old may lack them. */
  unfinished: Set<string>;
  /** Slots taken by creates under way (partitions are handled concurrently). */
  inflight: number;
  countedAt: number;
  blocked: string | undefined;
  failures: number;
  timers: Set<NodeJS.Timeout>;
  stopped: boolean;
}

/** A fresh entry (nothing counted, nothing blocked). */
export function dispatchEntry(
  key: string,
  identity: string,
  sj: ScaledJob,
  trigger: ParsedKafkaTrigger,
  kafka: Pick<Kafka, "admin">,
  consumer: DispatchConsumer,
): DispatchEntry {
  return {
    key,
    identity,
    sj,
    trigger,
    kafka,
    consumer,
    paused: false,
    running: 0,
    inflight: 0,
    unfinished: new Set(),
    countedAt: 0,
    blocked: undefined,
    failures: 0,
    timers: new Set(),
    stopped: false,
  };
}

function headersOf(m: KafkaMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map((x) => x.toString()) : v.toString();
  }
  return out;
}

export class KafkaMessageDispatch implements MessageDispatch {
  private readonly entries = new Map<string, DispatchEntry>();

  constructor(private readonly o: DispatcherOptions) {}

  ensure(key: string, sj: ScaledJob, trigger: ParsedKafkaTrigger): void {
    const identity = JSON.stringify([
      trigger.meta.bootstrapServers,
      trigger.meta.consumerGroup,
      trigger.meta.topic,
      trigger.meta.offsetResetPolicy,
      trigger.request?.cluster,
    ]);
    const e = this.entries.get(key);
    if (e && e.identity === identity) {
      e.sj = sj;
      e.trigger = trigger;
      if (e.paused) {
        e.paused = false;
        e.consumer.resume([{ topic: trigger.meta.topic ?? "" }]);
      }
      return;
    }
    if (e) void this.remove(key);
    this.start(key, identity, sj, trigger);
  }

  pause(key: string): void {
    const e = this.entries.get(key);
    if (!e || e.paused) return;
    e.paused = true;
    e.consumer.pause([{ topic: e.trigger.meta.topic ?? "" }]);
  }

  blocked(key: string): string | undefined {
    return this.entries.get(key)?.blocked;
  }

  async committed(key: string): Promise<CommittedOffsets | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const admin = e.kafka.admin();
    try {
      await admin.connect();
      const topic = e.trigger.meta.topic ?? "";
      const res = await admin.fetchOffsets({ groupId: e.trigger.meta.consumerGroup, topics: [topic] });
      const out = new Map<number, bigint>();
      for (const p of res.find((r) => r.topic === topic)?.partitions ?? []) {
        if (/^\d+$/.test(p.offset)) out.set(p.partition, BigInt(p.offset));
      }
      return out;
    } catch (err) {
      this.o.logger.warn(
        { scaledJob: key, err: errorText(err, MAX_ERROR_CHARS) },
        "could not read the committed offsets",
      );
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async remove(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    e.stopped = true;
    for (const t of e.timers) clearTimeout(t);
    await e.consumer.disconnect().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.remove(k)));
  }

  private start(key: string, identity: string, sj: ScaledJob, trigger: ParsedKafkaTrigger): void {
    const c = kafkaConnection(trigger.meta);
    if (!c.ok) throw new Error(c.error);
    const log = this.o.logger.child({ scaledJob: key, consumerGroup: trigger.meta.consumerGroup });
    const kafka = new Kafka({
      ...kafkajsConfig(c.connection, this.o.clientId ?? "lagscale-dispatch", {
        connectionTimeoutMs: 5000,
        requestTimeoutMs: 30_000,
        retries: 5,
      }),
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({
      groupId: trigger.meta.consumerGroup,
      sessionTimeout: this.o.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    const e = dispatchEntry(key, identity, sj, trigger, kafka, consumer);
    this.entries.set(key, e);
    const topic = trigger.meta.topic ?? "";
    void (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: trigger.meta.offsetResetPolicy === "earliest" });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: (payload) => this.dispatchBatch(e, payload, log),
      });
      log.info({ topic }, "dispatching one Job per message");
    })().catch((err: unknown) => {
      log.error(
        { err: errorText(err, MAX_ERROR_CHARS) },
        "the dispatch consumer could not start; retried at the next poll",
      );
      if (this.entries.get(key) === e) void this.remove(key);
    });
  }

  /** Pauses the partition and resumes it after `ms`. */
  private later(e: DispatchEntry, pause: () => () => void, ms: number): void {
    const resume = pause();
    const t = setTimeout(() => {
      e.timers.delete(t);
      if (!e.stopped && !e.paused) resume();
    }, ms);
    e.timers.add(t);
  }

  /**
   * Takes a slot when one more Job may run now (maxReplicaCount, counted above minReplicaCount as KEDA); the
   * caller gives it back (`inflight--`) once its create has ended. Taken before any await, so partitions
   * handled at the same time cannot pass the bound together.
   */
  private async takeSlot(e: DispatchEntry): Promise<boolean> {
    const max = effectiveMaxReplicaCount(e.sj.spec);
    // Never counted yet (a new leader, a restart): Jobs of the previous one may be running; count them first,
    // or a leader change would let up to twice maxReplicaCount run.
    const counted = e.countedAt > 0;
    if (counted && e.running + e.inflight < max) {
      e.inflight++;
      return true;
    }
    if (counted && Date.now() - e.countedAt < BOUND_RECHECK_MS) return false;
    const ns = e.sj.metadata.namespace ?? "default";
    const jobs = await this.o.jobs.list(ns, e.sj.metadata.name ?? "");
    const listed = new Set<string>();
    for (const j of jobs) {
      const jobName = j.metadata.name ?? "";
      const done = jobFinishedAs({ name: jobName, conditions: j.status?.conditions }) !== undefined;
      if (done) e.unfinished.delete(jobName);
      else if (!j.metadata.deletionTimestamp) listed.add(jobName);
    }
    for (const n of e.unfinished) listed.add(n);
    e.running = listed.size;
    e.countedAt = Date.now();
    // A create under way may or may not be in the list: counted as running until it ends (never fewer).
    if (e.running + e.inflight < max) {
      e.inflight++;
      return true;
    }
    return false;
  }

  /**
   * The consumer's eachBatch: one partition's messages in order, each Job created before its offset is
   * committed. Public so that tests can drive it with a fake payload and consumer.
   */
  async dispatchBatch(
    e: DispatchEntry,
    p: { batch: Pick<Batch, "topic" | "partition" | "messages"> } & Pick<
      EachBatchPayload,
      "isRunning" | "isStale" | "pause" | "resolveOffset" | "heartbeat"
    >,
    log: Logger,
  ): Promise<void> {
    const { batch } = p;
    const ns = e.sj.metadata.namespace ?? "default";
    const name = e.sj.metadata.name ?? "";
    for (const message of batch.messages) {
      if (!p.isRunning() || p.isStale() || e.stopped) return;
      if (e.paused) return this.later(e, p.pause, BOUND_RECHECK_MS);
      let free: boolean;
      try {
        free = await this.takeSlot(e);
      } catch (err) {
        log.warn({ err: errorText(err, MAX_ERROR_CHARS) }, "could not count the running Jobs");
        return this.later(e, p.pause, BOUND_RECHECK_MS);
      }
      if (!free) return this.later(e, p.pause, BOUND_RECHECK_MS);

      const settings = dispatchSettings(e.sj.spec);
      const jobName = messageJobName(name, batch.partition, message.offset);
      const job = jobForScaledJob(e.sj, {
        name: jobName,
        labels: { [PARTITION_LABEL]: String(batch.partition), [OFFSET_LABEL]: message.offset },
        annotations: { [TOPIC_ANNOTATION]: batch.topic },
        env: messageEnv(
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestamp: message.timestamp,
            headers: headersOf(message),
          },
          settings.maxInlineValueBytes,
        ),
      });
      try {
        await this.o.jobs.create(ns, job);
        e.running++;
        e.unfinished.add(jobName);
        this.o.metrics.jobsCreated(ns, name, 1);
        log.debug({ partition: batch.partition, offset: message.offset, job: jobName }, "Job created");
      } catch (err) {
        if (!isAlreadyExists(err)) {
          e.inflight--;
          e.failures++;
          const retryMs = backoffDelay(e.failures, CREATE_BACKOFF, Math.random());
          e.blocked = `Job ${jobName} for ${batch.topic}/${batch.partition} offset ${message.offset} could not be created (retry in ${Math.round(retryMs / 1000)} s, offset not committed): ${errorText(err, MAX_ERROR_CHARS)}`;
          this.o.metrics.createFailed(ns, name);
          this.o.metrics.dispatchBlocked(ns, name, true);
          this.o.events.event(e.sj, "Warning", "JobCreateFailed", e.blocked);
          log.warn(
            {
              partition: batch.partition,
              offset: message.offset,
              retryMs,
              err: errorText(err, MAX_ERROR_CHARS),
            },
            "Job create failed",
          );
          return this.later(e, p.pause, retryMs);
        }
        log.info(
          { partition: batch.partition, offset: message.offset, job: jobName },
          "Job exists already: not created again",
        );
        e.running++; // conservative: the next count at the bound corrects it
        e.unfinished.add(jobName);
      }
      e.inflight--;
      if (e.blocked !== undefined) {
        e.blocked = undefined;
        e.failures = 0;
        this.o.metrics.dispatchBlocked(ns, name, false);
      }
      // In order, after the Job exists: a crash before this line reads the message again (AlreadyExists).
      await e.consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
      p.resolveOffset(message.offset);
      await p.heartbeat();
    }
  }
}
