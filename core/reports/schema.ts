/**
 * The sidecar's report: what one consumer pod tells the leader about itself. One TypeBox schema gives the
 * TypeScript type and the runtime validation the receiver applies to every body; the sidecar builds its
 * reports against the same type.
 *
 * Every string, array and number is bounded: a report comes from a pod, and a pod is outside input.
 */
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

export const REPORT_VERSION = 1;

/**
 * The largest report body the receiver reads, in bytes. A pod with MAX_REPORT_PARTITIONS partitions fits
 * even at the longest topic names and offsets (about 0.9 MiB; schema.hostile.test.ts builds that report).
 */
export const MAX_REPORT_BYTES = 1024 * 1024;
/** Partitions one report may list: more than any single consumer pod can usefully own. */
export const MAX_REPORT_PARTITIONS = 2048;

/** What the pod is doing, as the sidecar classifies it. */
export const POD_STATES = ["busy", "idle", "stalled", "rebalancing"] as const;

/** Kafka offsets are int64; a JavaScript number holds them exactly up to 2^53 - 1, far past any real log. */
const Offset = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A Kubernetes object name (DNS subdomain, at most 253 characters). */
const KubeName = Type.String({ minLength: 1, maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" });
/** Kafka's topic name rule: at most 249 of [a-zA-Z0-9._-]. */
const TopicName = Type.String({ minLength: 1, maxLength: 249, pattern: "^[a-zA-Z0-9._-]+$" });

export const PartitionReportSchema = Type.Object(
  {
    topic: TopicName,
    partition: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    /** The group's committed offset; -1 when the group has none for this partition. */
    committedOffset: Offset,
    logEndOffset: Offset,
    /** Lag as the trigger counts it (offsetResetPolicy applied when there is no commit). */
    lag: Count,
    /** How long the committed offset has not moved while lag was above 0, in ms (0 when it moves). */
    stalledForMs: Count,
    /** Committed-offset progress over the sidecar's rate window, messages per second. */
    ratePerSecond: Type.Number({ minimum: 0, maximum: 1e9 }),
    stalled: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const SidecarReportSchema = Type.Object(
  {
    version: Type.Literal(REPORT_VERSION),
    /** The pod the report speaks for; the receiver checks it against the token's pod. */
    pod: Type.Object(
      {
        namespace: KubeName,
        name: KubeName,
        /** status.podIP as the sidecar knows it (POD_IP from the downward API). */
        ip: Type.String({ minLength: 2, maxLength: 45, pattern: "^[0-9a-fA-F:.]+$" }),
      },
      { additionalProperties: false },
    ),
    /** The ScaledObject that scales this pod's workload (its namespace is the pod's). */
    scaledObject: KubeName,
    /** The consumer group the sidecar watches (the trigger's consumerGroup). */
    consumerGroup: Type.String({ minLength: 1, maxLength: 255 }),
    /** When the sidecar read Kafka for this report, epoch ms. */
    observedAt: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    /** Sent sooner than its interval because lag crossed the trigger's threshold. */
    urgent: Type.Boolean(),
    state: Type.Union(POD_STATES.map((s) => Type.Literal(s))),
    /** The group's state as the coordinator describes it (Stable, PreparingRebalance, ...). */
    groupState: Type.String({ maxLength: 64 }),
    /** This pod's members of the group. */
    members: Type.Integer({ minimum: 0, maximum: 10_000 }),
    partitions: Type.Array(PartitionReportSchema, { maxItems: MAX_REPORT_PARTITIONS }),
    /** Sum of the partitions' lag. */
    lag: Count,
    /** Sum of the partitions' rates, messages per second. */
    ratePerSecond: Type.Number({ minimum: 0, maximum: 1e12 }),
    /** Why the sidecar cannot classify the pod (e.g. a KIP-848 group it cannot read); the state is then idle. */
    unsupported: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export type PartitionReport = Static<typeof PartitionReportSchema>;
export type SidecarReport = Static<typeof SidecarReportSchema>;
export type ReportedPodState = (typeof POD_STATES)[number];

const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The longest error line parseReport gives. */
export const MAX_ERROR_CHARS = 300;

export type ReportParse = { ok: true; report: SidecarReport } | { ok: false; errors: string[] };

/**
 * Checks a parsed JSON body against the schema and the rules the schema cannot say (sums, one entry per
 * partition). At most 10 errors, each naming the field, so a 400 stays short and readable.
 */
export function parseReport(body: unknown): ReportParse {
  // The schema checks every item of an array even past maxItems: refuse a long list before it does.
  const listed = (body as { partitions?: unknown } | null)?.partitions;
  if (Array.isArray(listed) && listed.length > MAX_REPORT_PARTITIONS) {
    return {
      ok: false,
      errors: [`/partitions: ${listed.length} partitions; a report lists at most ${MAX_REPORT_PARTITIONS}`],
    };
  }
  const errors: string[] = [];
  for (const e of Value.Errors(SidecarReportSchema, body)) {
    // A path holds the client's keys: cut, so a 100 KB key does not come back as a 100 KB answer.
    errors.push(cut(`${cut(e.path || "/", 100)}: ${e.message}`, MAX_ERROR_CHARS));
    if (errors.length >= 10) break;
  }
  if (errors.length > 0) return { ok: false, errors };
  const report = body as SidecarReport;
  const seen = new Set<string>();
  let lag = 0;
  for (const p of report.partitions) {
    const key = `${p.topic}/${p.partition}`;
    if (seen.has(key)) errors.push(`/partitions: ${key} is listed twice`);
    seen.add(key);
    lag += p.lag;
  }
  if (lag !== report.lag) errors.push(`/lag: ${report.lag} is not the sum of the partitions' lag (${lag})`);
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, 10) } : { ok: true, report };
}
