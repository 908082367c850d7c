import { test } from "node:test";
import assert from "node:assert/strict";
import { AssignerProtocol, type Cluster } from "kafkajs";
import {
  planRange,
  planRoundRobin,
  RangeAssigner,
  RoundRobinAssigner,
  type Subscriber,
} from "./assigners.js";

const members = (...ids: string[]): Subscriber[] => ids.map((memberId) => ({ memberId, topics: ["t"] }));
const parts = (n: number) => new Map([["t", Array.from({ length: n }, (_, i) => i)]]);
const flat = (plan: Map<string, Record<string, number[]>>) =>
  Object.fromEntries([...plan].map(([m, a]) => [m, a.t ?? []]));

test("range: contiguous blocks, members sorted by id, extras to the later members (kafka-go)", () => {
  assert.deepEqual(flat(planRange(members("b", "a"), parts(5))), { a: [0, 1], b: [2, 3, 4] });
  assert.deepEqual(flat(planRange(members("c", "b", "a"), parts(6))), { a: [0, 1], b: [2, 3], c: [4, 5] });
  assert.deepEqual(flat(planRange(members("a", "b", "c"), parts(5))), { a: [0], b: [1, 2], c: [3, 4] });
  assert.deepEqual(flat(planRange(members("a"), parts(5))), { a: [0, 1, 2, 3, 4] });
  // more members than partitions: some get nothing
  assert.deepEqual(flat(planRange(members("a", "b", "c"), parts(2))), { a: [], b: [0], c: [1] });
});

test("roundrobin: partition i to member i mod m (kafka-go)", () => {
  assert.deepEqual(flat(planRoundRobin(members("b", "a"), parts(5))), { a: [0, 2, 4], b: [1, 3] });
  assert.deepEqual(flat(planRoundRobin(members("a", "b", "c"), parts(6))), {
    a: [0, 3],
    b: [1, 4],
    c: [2, 5],
  });
  assert.deepEqual(flat(planRoundRobin(members("a", "b", "c"), parts(2))), { a: [0], b: [1], c: [] });
});

test("every partition is assigned exactly once, whatever the sizes", () => {
  for (const planner of [planRange, planRoundRobin]) {
    for (let m = 1; m <= 7; m++) {
      for (let n = 0; n <= 12; n++) {
        const ids = Array.from({ length: m }, (_, i) => `member-${String(i).padStart(2, "0")}`);
        const all = Object.values(flat(planner(members(...ids), parts(n)))).flat();
        assert.deepEqual(
          all.sort((x, y) => x - y),
          Array.from({ length: n }, (_, i) => i),
          `${m} members, ${n} partitions`,
        );
      }
    }
  }
});

test("only members subscribed to a topic get its partitions", () => {
  const subs: Subscriber[] = [
    { memberId: "a", topics: ["t", "u"] },
    { memberId: "b", topics: ["u"] },
  ];
  const topics = new Map([
    ["t", [0, 1]],
    ["u", [0, 1]],
  ]);
  assert.deepEqual(Object.fromEntries(planRange(subs, topics)), { a: { t: [0, 1], u: [0] }, b: { u: [1] } });
});

test("the kafkajs assigners speak protocol names range and roundrobin and encode the plan", async () => {
  const cluster = {
    findTopicPartitionMetadata: () => [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId })),
  } as unknown as Cluster; // only the one method the assigner calls
  const logger = undefined as never;
  const metadata = AssignerProtocol.MemberMetadata.encode({
    version: 0,
    topics: ["t"],
    userData: Buffer.alloc(0),
  });
  for (const [factory, name, expected] of [
    [RangeAssigner, "range", { m1: [0, 1], m2: [2, 3, 4] }],
    [RoundRobinAssigner, "roundrobin", { m1: [0, 2, 4], m2: [1, 3] }],
  ] as const) {
    const assigner = factory({ cluster, groupId: "g", logger });
    assert.equal(assigner.name, name);
    assert.equal(assigner.protocol({ topics: ["t"] }).name, name);
    assert.deepEqual(
      AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: ["t"] }).metadata)?.topics,
      ["t"],
    );
    const out = await assigner.assign({
      members: [
        { memberId: "m2", memberMetadata: metadata },
        { memberId: "m1", memberMetadata: metadata },
      ],
      topics: ["t"],
    });
    const decoded = Object.fromEntries(
      out.map((o) => [
        o.memberId,
        AssignerProtocol.MemberAssignment.decode(o.memberAssignment)?.assignment.t,
      ]),
    );
    assert.deepEqual(decoded, expected);
  }
});
