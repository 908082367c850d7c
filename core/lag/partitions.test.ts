import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { noCommittedTopicsReason, selectPartitions, topicsToDescribe } from "./partitions.js";

const group = "my-group";

describe("selectPartitions with a topic (KEDA TestGetTopicPartitions)", () => {
  const cases: { name: string; limitation?: number[]; ids: number[]; expected: number[] }[] = [
    { name: "all partitions, explicit", limitation: [1, 2], ids: [1, 2], expected: [1, 2] },
    {
      name: "partial partitions, explicit",
      limitation: [1, 2, 3],
      ids: [1, 2, 3, 4, 5, 6],
      expected: [1, 2, 3],
    },
    { name: "all partitions, implicit", ids: [1, 2, 3, 4, 5, 6], expected: [1, 2, 3, 4, 5, 6] },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const r = selectPartitions(
        { topic: "my-topic", consumerGroup: group, partitionLimitation: t.limitation },
        { topicPartitions: new Map([["my-topic", t.ids]]) },
      );
      assert.deepEqual(r, {
        kind: "partitions",
        topics: ["my-topic"],
        partitions: t.expected.map((partition) => ({ topic: "my-topic", partition })),
      });
    });
  }

  it("a limitation that keeps nothing is KEDA's error", () => {
    const r = selectPartitions(
      { topic: "my-topic", consumerGroup: group, partitionLimitation: [7, 8] },
      { topicPartitions: new Map([["my-topic", [0, 1, 2]]]) },
    );
    assert.deepEqual(r, {
      kind: "error",
      error: "expected at least one active partition within the topic 'my-topic'",
    });
  });
  it("an empty limitation (a reversed range such as 5-3) keeps nothing, as in KEDA", () => {
    const r = selectPartitions(
      { topic: "my-topic", consumerGroup: group, partitionLimitation: [] },
      { topicPartitions: new Map([["my-topic", [0, 1]]]) },
    );
    assert.equal(r.kind, "error");
  });
  it("a topic with no partitions is the same error", () => {
    const r = selectPartitions(
      { topic: "t", consumerGroup: group },
      { topicPartitions: new Map([["t", []]]) },
    );
    assert.deepEqual(r, {
      kind: "error",
      error: "expected at least one active partition within the topic 't'",
    });
  });
  it("an unknown topic is an error", () => {
    const r = selectPartitions({ topic: "nope", consumerGroup: group }, { topicPartitions: new Map() });
    assert.equal(r.kind, "error");
    assert.match(r.kind === "error" ? r.error : "", /topic 'nope' does not exist/);
  });
  it("the group's topics are not looked at when a topic is given", () => {
    const r = selectPartitions(
      { topic: "a", consumerGroup: group },
      { groupTopics: ["b"], topicPartitions: new Map([["a", [2, 0, 1]]]) },
    );
    assert.deepEqual(r.kind === "partitions" ? r.partitions.map((p) => `${p.topic}/${p.partition}`) : r, [
      "a/0",
      "a/1",
      "a/2",
    ]);
  });
  it("a topic with surrounding blanks is trimmed", () => {
    assert.deepEqual(topicsToDescribe({ topic: " a " }, undefined), ["a"]);
  });
});

describe("selectPartitions without a topic: the group's topics", () => {
  const metadata = new Map([
    ["orders", [0, 1, 2]],
    ["payments", [0, 1]],
    ["other", [0]],
  ]);
  it("evaluates every partition of every topic the group committed to", () => {
    const r = selectPartitions(
      { consumerGroup: group },
      { groupTopics: ["payments", "orders"], topicPartitions: metadata },
    );
    assert.equal(r.kind, "partitions");
    if (r.kind !== "partitions") return;
    assert.deepEqual(r.topics, ["orders", "payments"]);
    assert.deepEqual(
      r.partitions.map((p) => `${p.topic}/${p.partition}`),
      ["orders/0", "orders/1", "orders/2", "payments/0", "payments/1"],
    );
  });
  it("ignores partitionLimitation without a topic, as KEDA", () => {
    const r = selectPartitions(
      { topic: "", consumerGroup: group, partitionLimitation: [0] },
      { groupTopics: ["orders"], topicPartitions: metadata },
    );
    assert.equal(r.kind === "partitions" ? r.partitions.length : -1, 3);
  });
  it("D3: a group that has committed nothing gives no partitions and a reason, not every topic", () => {
    const r = selectPartitions(
      { topic: "  ", consumerGroup: group },
      { groupTopics: [], topicPartitions: metadata },
    );
    assert.deepEqual(r, { kind: "no-committed-topics", reason: noCommittedTopicsReason(group) });
    assert.match(noCommittedTopicsReason(group), /consumer group 'my-group' has no committed offsets/);
  });
  it("D3: nothing to describe when the group has committed nothing", () => {
    assert.deepEqual(topicsToDescribe({}, []), []);
  });
  it("a committed topic missing from the metadata is an error", () => {
    const r = selectPartitions(
      { consumerGroup: group },
      { groupTopics: ["gone"], topicPartitions: metadata },
    );
    assert.equal(r.kind, "error");
  });
  it("not reading the group's topics is reported, not taken as 'no topics'", () => {
    const r = selectPartitions({ consumerGroup: group }, { topicPartitions: metadata });
    assert.equal(r.kind, "error");
  });
});
