import { test } from "node:test";
import assert from "node:assert/strict";
import type { PartitionMetadata } from "kafkajs";
import { createLeastBytesPartitioner } from "./least-bytes.js";

const meta = (...ids: number[]): PartitionMetadata[] =>
  ids.map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

test("least-bytes sends each message to the partition with the fewest bytes so far, ties to the lowest id", () => {
  const pick = createLeastBytesPartitioner();
  const partitionMetadata = meta(2, 0, 1); // order in metadata does not matter
  const send = (key: string, value: string) =>
    pick({ topic: "t", partitionMetadata, message: { key, value } });
  assert.equal(send("k", "aaaa"), 0); // 5 bytes on 0
  assert.equal(send("k", "a"), 1); // 2 bytes on 1
  assert.equal(send("k", "aaaaaaa"), 2); // 8 bytes on 2
  assert.equal(send("k", "a"), 1); // 1 has 2 → 4
  assert.equal(send("k", "a"), 1); // 1 has 4 < 5 → 6
  assert.equal(send("k", ""), 0); // 0 has 5, the least
});

test("the key does not choose the partition; equal messages spread evenly", () => {
  const pick = createLeastBytesPartitioner();
  const partitionMetadata = meta(0, 1, 2, 3, 4);
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 100; i++) {
    const p = pick({ topic: "t", partitionMetadata, message: { key: "same-key", value: "x".repeat(10) } });
    counts[p]!++;
  }
  assert.deepEqual(counts, [20, 20, 20, 20, 20]);
});

test("counters are per partitioner (per request) and restart when the partitions change", () => {
  const a = createLeastBytesPartitioner();
  const b = createLeastBytesPartitioner();
  const m = meta(0, 1);
  assert.equal(a({ topic: "t", partitionMetadata: m, message: { value: "xx" } }), 0);
  assert.equal(b({ topic: "t", partitionMetadata: m, message: { value: "xx" } }), 0);
  assert.equal(a({ topic: "t", partitionMetadata: m, message: { value: "xx" } }), 1);
  assert.equal(a({ topic: "t", partitionMetadata: meta(0, 1, 2), message: { value: "x" } }), 0);
  assert.throws(() => a({ topic: "t", partitionMetadata: [], message: { value: "x" } }), /no partitions/);
});
