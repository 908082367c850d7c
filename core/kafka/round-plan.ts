/**
 * The pure part of a lag-read round: which triggers ask the same thing (and share one answer), which
 * partitions each trigger reads once topic metadata and committed topics are known, and the union of
 * partitions per topic that the round's ListOffsets and OffsetFetch requests cover. No I/O here; the round
 * itself is in cluster-client.ts, the requests in cluster-requests.ts.
 */
import type { LagReadErrorKind, LagReadResult, LagRequest } from "./types.js";

export interface TopicMeta {
  /** Partition ids, sorted. */
  ids: number[];
  /** Partition id → leader node id. */
  leaderOf: Map<number, number>;
  fetchedAt: number;
}

/** The partitions a request reads: its topics (sorted) and, per topic, partition ids (sorted). */
export interface Plan {
  topics: string[];
  partitions: Map<string, number[]>;
}

/** Committed offsets of one group: topic → partition → offset. */
export type GroupOffsets = Map<string, Map<number, number>>;
export type Outcome<T> = { ok: true; value: T } | { ok: false; kind: LagReadErrorKind; error: string };

/**
 * Above this many partitions, a group's OffsetFetch asks for all its committed offsets instead of naming
 * them: kafkajs encodes every named partition into a buffer of its own, which at thousands of partitions
 * costs more CPU than the larger answer.
 */
export const NAMED_OFFSET_FETCH_LIMIT = 200;

export function fail(kind: LagReadErrorKind, error: string): LagReadResult {
  return { ok: false, kind, error };
}

export function hasTopic(request: LagRequest): request is LagRequest & { topic: string } {
  return request.topic !== undefined && request.topic.trim() !== "";
}

/** Equal for triggers that ask the same thing: same group, topic, partition limitation and log-start need. */
export function requestSignature(r: LagRequest): string {
  const named = hasTopic(r);
  const limitation =
    named && r.partitionLimitation ? [...r.partitionLimitation].sort((a, b) => a - b).join(",") : "*";
  // Group names and topics cannot hold NUL characters.
  return `${r.consumerGroup}\u0000${named ? r.topic.trim() : ""}\u0000${limitation}\u0000${r.needLogStart === true}`;
}

export function metaOf(topicState: Map<string, Outcome<TopicMeta>>, topic: string): TopicMeta | undefined {
  const s = topicState.get(topic);
  return s?.ok ? s.value : undefined;
}

/** Partitions wanted per topic: every partition of the topic, or some of them. */
export class Needed {
  private readonly all = new Set<string>();
  private readonly some = new Map<string, Set<number>>();

  add(topic: string, ids: readonly number[], all: boolean): void {
    if (this.all.has(topic)) return;
    if (all) {
      this.all.add(topic);
      this.some.delete(topic);
      return;
    }
    let set = this.some.get(topic);
    if (!set) this.some.set(topic, (set = new Set()));
    for (const id of ids) set.add(id);
  }

  topics(): string[] {
    return [...this.all, ...this.some.keys()];
  }

  /** Sorted partition ids wanted of `topic`. */
  ids(topic: string, topicState: Map<string, Outcome<TopicMeta>>): number[] {
    if (this.all.has(topic)) return metaOf(topicState, topic)?.ids ?? [];
    return [...(this.some.get(topic) ?? [])].sort((a, b) => a - b);
  }

  size(topicState: Map<string, Outcome<TopicMeta>>): number {
    let n = 0;
    for (const t of this.all) n += metaOf(topicState, t)?.ids.length ?? 0;
    for (const set of this.some.values()) n += set.size;
    return n;
  }
}

/**
 * The partitions `request` reads: its topic (limited to `partitionLimitation`), or without a topic every
 * partition of every topic its group has committed offsets for.
 */
export function planRequest(
  request: LagRequest,
  topicState: Map<string, Outcome<TopicMeta>>,
  groupState: Map<string, Outcome<GroupOffsets>>,
): Outcome<Plan> {
  let topics: string[];
  let limitation: Set<number> | undefined;
  if (hasTopic(request)) {
    topics = [request.topic.trim()];
    if (request.partitionLimitation !== undefined) limitation = new Set(request.partitionLimitation);
  } else {
    const group = groupState.get(request.consumerGroup);
    if (!group) return { ok: false, kind: "group", error: "committed topics were not read" };
    if (!group.ok) return group;
    topics = [...group.value.keys()].sort();
  }
  const partitions = new Map<string, number[]>();
  for (const topic of topics) {
    const meta = topicState.get(topic);
    if (!meta) return { ok: false, kind: "topic", error: `metadata of topic '${topic}' was not read` };
    if (!meta.ok) return meta;
    const kept =
      limitation === undefined ? meta.value.ids : meta.value.ids.filter((id) => limitation.has(id));
    if (kept.length === 0) {
      return {
        ok: false,
        kind: "request",
        error: `expected at least one active partition within the topic '${topic}'`,
      };
    }
    partitions.set(topic, kept);
  }
  return { ok: true, value: { topics, partitions } };
}
