/** The demo's Kafka side, through the admin API: a fresh `my-topic` and group `g1`, and the group's lag. */
import type { Admin } from "kafkajs";
import { sleep } from "../../test/stack/process.js";
import type { PartitionLag } from "./view.js";

function codeOf(err: unknown): string {
  const e = err as { type?: string; message?: string };
  return e.type ?? e.message ?? String(err);
}

/** Deletes the group's committed offsets (a previous run's); the group must have no members. */
export async function deleteGroup(admin: Admin, group: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.deleteGroups([group]);
      return;
    } catch (err) {
      // kafkajs reports per group: GROUP_ID_NOT_FOUND is fine, a group with members is not.
      const groups = (err as { groups?: { groupId: string; error?: { type?: string } }[] }).groups ?? [];
      const type = groups[0]?.error?.type ?? codeOf(err);
      if (type === "GROUP_ID_NOT_FOUND") return;
      if (type === "NON_EMPTY_GROUP") {
        throw new Error(`consumer group ${group} still has members: something outside the demo consumes it`);
      }
      // a broker that just started may not have loaded its group coordinator yet (kafkajs names error 14
      // GROUP_LOAD_IN_PROGRESS, Kafka COORDINATOR_LOAD_IN_PROGRESS)
      if (!/COORDINATOR|LOAD_IN_PROGRESS/.test(type) || Date.now() > deadline) {
        throw new Error(`deleting consumer group ${group}: ${type}`);
      }
    }
    await sleep(500);
  }
}

/** Creates `topic` with `partitions` partitions (replication 1), deleting a previous run's topic first. */
export async function freshTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  say: (line: string) => void,
): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) {
    say(`deleting the previous run's topic ${topic}`);
    await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
        timeout: 30_000,
      });
      if (created) return;
    } catch (err) {
      // right after a delete the broker may still report the old topic (or "marked for deletion")
      if (!/TOPIC_ALREADY_EXISTS|already exists|marked for deletion/i.test(codeOf(err))) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} could not be created again within 60 s`);
    await sleep(500);
  }
}

/**
 * Per-partition lag of `group` on `topic`: log end offset minus committed offset; where the group has committed
 * nothing, the messages from the log start (what the demo consumer, which starts at the earliest offset, has to do).
 */
export async function readLag(admin: Admin, topic: string, group: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const byPartition = new Map<number, string>();
  for (const p of committed[0]?.partitions ?? []) byPartition.set(p.partition, p.offset);
  return ends
    .map((e) => {
      const c = Number(byPartition.get(e.partition) ?? "-1");
      const high = Number(e.high);
      return c < 0
        ? { partition: e.partition, lag: Math.max(0, high - Number(e.low)), committed: false }
        : { partition: e.partition, lag: Math.max(0, high - c), committed: true };
    })
    .sort((a, b) => a.partition - b.partition);
}
