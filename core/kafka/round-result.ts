/**
 * The pure end of a lag-read round: from the committed offsets of each group and the end (and log-start)
 * offsets of each partition, the answer of each trigger, in the per-partition shape `evaluateKafkaLag`
 * (core/lag) takes. Errors stay with the triggers they concern: a group's error with that group's
 * triggers, a topic's ListOffsets error with that topic's triggers.
 */
import { fail, hasTopic, Needed, type GroupOffsets, type Outcome, type Plan } from "./round-plan.js";
import type { LagReadResult, LagRequest, PartitionOffsets } from "./types.js";

/** A distinct request of the round, the triggers sharing it (`entries`), and the partitions it reads. */
export interface PlannedRequest<E> {
  request: LagRequest;
  entries: E[];
  plan: Plan;
}

/** Offsets per topic → partition, and per-topic errors, as a round's ListOffsets give them. */
export interface OffsetsByTopic {
  offsets: Map<string, Map<number, number>>;
  errors: Map<string, string>;
}

/** Committed offset per partition of a request's plan (same order as the plan's ids). */
export type CommittedByTopic = Map<string, (number | undefined)[]>;

/**
 * Committed offsets of each request, and the partitions needing a log-start offset (nothing committed,
 * `earliest` rule). A request whose group could not be read is answered with that error here.
 * `unfiltered` groups were asked without naming partitions: partitions absent from the answer have no
 * commit (-1), as Kafka answers for named ones.
 */
export function committedPerRequest<E>(
  plans: readonly PlannedRequest<E>[],
  groupState: Map<string, Outcome<GroupOffsets>>,
  unfiltered: ReadonlySet<string>,
  answer: (entries: E[], result: LagReadResult) => void,
): { committed: Map<LagRequest, CommittedByTopic>; earliestNeeded: Needed } {
  const earliestNeeded = new Needed();
  const committed = new Map<LagRequest, CommittedByTopic>();
  for (const { request, entries, plan } of plans) {
    const state = groupState.get(request.consumerGroup);
    if (!state || !state.ok) {
      answer(
        entries,
        state ?? fail("group", `committed offsets of '${request.consumerGroup}' were not read`),
      );
      continue;
    }
    const absent = unfiltered.has(request.consumerGroup) ? -1 : undefined;
    const perTopic: CommittedByTopic = new Map();
    for (const [topic, ids] of plan.partitions) {
      const offsets = state.value.get(topic);
      const values = ids.map((id) => offsets?.get(id) ?? absent);
      perTopic.set(topic, values);
      if (request.needLogStart) {
        ids.forEach((id, i) => {
          if (values[i] === -1) earliestNeeded.add(topic, [id], false);
        });
      }
    }
    committed.set(request, perTopic);
  }
  return { committed, earliestNeeded };
}

/** Answers every request that has its committed offsets: its partitions, or the first offsets error of its topics. */
export function assembleResults<E>(
  plans: readonly PlannedRequest<E>[],
  committed: Map<LagRequest, CommittedByTopic>,
  latest: OffsetsByTopic,
  earliest: OffsetsByTopic,
  answer: (entries: E[], result: LagReadResult) => void,
): void {
  for (const { request, entries, plan } of plans) {
    const perTopic = committed.get(request);
    if (!perTopic) continue;
    const partitions: PartitionOffsets[] = [];
    let error: string | undefined;
    for (const [topic, ids] of plan.partitions) {
      error ??= latest.errors.get(topic);
      if (request.needLogStart) error ??= earliest.errors.get(topic);
      const values = perTopic.get(topic)!;
      const ends = latest.offsets.get(topic);
      const starts = request.needLogStart ? earliest.offsets.get(topic) : undefined;
      ids.forEach((partition, i) => {
        const c = values[i];
        const logStart = c === -1 ? starts?.get(partition) : undefined;
        partitions.push(
          logStart === undefined
            ? { topic, partition, committed: c, latest: ends?.get(partition) }
            : { topic, partition, committed: c, latest: ends?.get(partition), logStart },
        );
      });
    }
    if (error !== undefined) answer(entries, fail("offsets", error));
    else if (hasTopic(request)) answer(entries, { ok: true, topics: plan.topics, partitions });
    // Without a topic the plan's topics are the group's committed topics (empty: D3).
    else answer(entries, { ok: true, topics: plan.topics, partitions, groupTopics: plan.topics });
  }
}
