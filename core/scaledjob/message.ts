/**
 * Per-message dispatch, its pure parts: the settings from `spec.dispatch`, the Job name derived from
 * (ScaledJob, partition, offset), the environment that hands the message to the Job's pod, and the rule that
 * history clean-up never deletes a Job whose offset the consumer group has not committed (a new leader would
 * create it again, and its message would run twice).
 */
import { createHash } from "node:crypto";
import type { BatchJob } from "./job-object.js";

export type DispatchMode = "count" | "perMessage";

/** Values up to this many bytes are handed to the pod in LAGSCALE_MESSAGE_VALUE by default. */
export const DEFAULT_MAX_INLINE_VALUE_BYTES = 4096;
export const PARTITION_LABEL = "lagscale.io/partition";
export const OFFSET_LABEL = "lagscale.io/offset";
export const TOPIC_ANNOTATION = "lagscale.io/topic";

export interface DispatchSettings {
  mode: DispatchMode;
  maxInlineValueBytes: number;
}

export function dispatchSettings(spec: {
  dispatch?: { mode?: string | undefined; maxInlineValueBytes?: number | undefined } | undefined;
}): DispatchSettings {
  return {
    mode: spec.dispatch?.mode === "perMessage" ? "perMessage" : "count",
    maxInlineValueBytes: spec.dispatch?.maxInlineValueBytes ?? DEFAULT_MAX_INLINE_VALUE_BYTES,
  };
}

/** Kubernetes' limit for a Job name that its pods' `job-name` label can hold. */
export const MAX_JOB_NAME = 63;

/**
 * `<scaledjob>-<partition>-<offset>`, lower case, at most 63 characters. When the ScaledJob's name does not fit
 * it is cut and 8 hex digits of its hash keep two long names apart. The same inputs always give the same name,
 * so a second create of one message's Job fails with AlreadyExists.
 */
export function messageJobName(scaledJob: string, partition: number, offset: string): string {
  const tail = `-${partition}-${offset}`;
  const full = `${scaledJob}${tail}`;
  if (full.length <= MAX_JOB_NAME) return full;
  const hash = createHash("sha256").update(scaledJob).digest("hex").slice(0, 8);
  const room = MAX_JOB_NAME - tail.length - hash.length - 1;
  // A cut must not end in "-" or "." (a DNS label ends with an alphanumeric).
  const prefix = scaledJob.slice(0, Math.max(0, room)).replace(/[-.]+$/, "");
  return `${prefix}-${hash}${tail}`.replace(/^-/, "");
}

/** One Kafka message as the dispatcher hands it to a Job. */
export interface DispatchedMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as the decimal string kafkajs gives. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch, as a decimal string. */
  timestamp: string;
  headers: Record<string, string | string[]>;
}

/** A buffer as text when it is valid UTF-8 without NUL, else base64; the encoding says which. */
function encode(b: Buffer): { text: string; encoding: "utf8" | "base64" } {
  const text = b.toString("utf8");
  if (Buffer.from(text, "utf8").equals(b) && !text.includes("\0")) return { text, encoding: "utf8" };
  return { text: b.toString("base64"), encoding: "base64" };
}

/**
 * The pod's environment: LAGSCALE_MESSAGE_TOPIC, _PARTITION, _OFFSET, _TIMESTAMP, _KEY (+ _KEY_ENCODING),
 * _HEADERS (a JSON object), and _VALUE (+ _VALUE_ENCODING) when the value has at most `maxInlineValueBytes`
 * bytes; otherwise _VALUE_SIZE only, and the pod fetches the record by its coordinates. Every variable is
 * always set (empty when the message has no key), so the worker never mistakes an unset one for a message.
 */
export function messageEnv(
  m: DispatchedMessage,
  maxInlineValueBytes: number,
): { name: string; value: string }[] {
  const env = [
    { name: "LAGSCALE_MESSAGE_TOPIC", value: m.topic },
    { name: "LAGSCALE_MESSAGE_PARTITION", value: String(m.partition) },
    { name: "LAGSCALE_MESSAGE_OFFSET", value: m.offset },
    { name: "LAGSCALE_MESSAGE_TIMESTAMP", value: m.timestamp },
  ];
  const key = m.key ? encode(m.key) : { text: "", encoding: "utf8" as const };
  env.push({ name: "LAGSCALE_MESSAGE_KEY", value: key.text });
  env.push({ name: "LAGSCALE_MESSAGE_KEY_ENCODING", value: m.key ? key.encoding : "none" });
  env.push({ name: "LAGSCALE_MESSAGE_HEADERS", value: JSON.stringify(m.headers) });
  const size = m.value?.length ?? 0;
  env.push({ name: "LAGSCALE_MESSAGE_VALUE_SIZE", value: String(size) });
  if (m.value === null) {
    env.push(
      { name: "LAGSCALE_MESSAGE_VALUE", value: "" },
      { name: "LAGSCALE_MESSAGE_VALUE_ENCODING", value: "none" },
    );
  } else if (size <= maxInlineValueBytes) {
    const v = encode(m.value);
    env.push(
      { name: "LAGSCALE_MESSAGE_VALUE", value: v.text },
      { name: "LAGSCALE_MESSAGE_VALUE_ENCODING", value: v.encoding },
    );
  } else {
    env.push(
      { name: "LAGSCALE_MESSAGE_VALUE", value: "" },
      { name: "LAGSCALE_MESSAGE_VALUE_ENCODING", value: "omitted" },
    );
  }
  return env;
}

/** Committed offset per partition of the dispatched topic (the next offset to read). */
export type CommittedOffsets = ReadonlyMap<number, bigint>;

/** The (partition, offset) a per-message Job was made for, from its labels; undefined for other Jobs. */
export function messageOf(job: BatchJob): { partition: number; offset: bigint } | undefined {
  const p = job.metadata.labels?.[PARTITION_LABEL];
  const o = job.metadata.labels?.[OFFSET_LABEL];
  if (p === undefined || o === undefined || !/^\d+$/.test(p) || !/^\d+$/.test(o)) return undefined;
  return { partition: Number(p), offset: BigInt(o) };
}

/**
 * History clean-up in per-message mode: a Job whose offset is at or past its partition's committed offset
 * is kept (its message may be read again; the Job's name then makes the create fail with AlreadyExists).
 * Without the committed offsets (unreadable), nothing is deleted.
 */
export function protectUncommitted(
  cleanup: { completed: string[]; failed: string[] },
  jobs: readonly BatchJob[],
  committed: CommittedOffsets | undefined,
): { completed: string[]; failed: string[] } {
  if (!committed) return { completed: [], failed: [] };
  const byName = new Map(jobs.map((j) => [j.metadata.name ?? "", j]));
  const safe = (name: string): boolean => {
    const job = byName.get(name);
    const m = job ? messageOf(job) : undefined;
    if (!m) return true;
    const c = committed.get(m.partition);
    return c !== undefined && m.offset < c;
  };
  return { completed: cleanup.completed.filter(safe), failed: cleanup.failed.filter(safe) };
}
