// Selection and detection rules on a fake PodKafka; the real broker is in test/sidecar/sidecar.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import kafkajs from "kafkajs";
import type { PartitionOffsets, TopicPartition } from "../core/lag/index.js";
import {
  assignedPartitions,
  clientAddress,
  ownMembers,
  readPod,
  unsupportedReason,
  type GroupDescription,
  type GroupMember,
  type PodKafka,
} from "./kafka.js";

const { AssignerProtocol } = kafkajs;

function member(
  id: string,
  host: string,
  assignment: Record<string, number[]>,
  clientId = "app",
): GroupMember {
  return {
    memberId: id,
    clientId,
    clientHost: host,
    memberAssignment: AssignerProtocol.MemberAssignment.encode({
      version: 0,
      assignment,
      userData: Buffer.alloc(0),
    }),
  };
}

test("client hosts as brokers write them", () => {
  for (const [host, want] of [
    ["/127.0.1.5", "127.0.1.5"],
    ["127.0.1.5", "127.0.1.5"],
    ["/fd00::1", "fd00::1"],
    ["/[fd00::1]", "fd00::1"],
  ] as const) {
    assert.equal(clientAddress(host), want);
  }
});

const MEMBERS = [
  member("a", "/10.0.0.1", { t: [0, 2] }, "orders-1"),
  member("b", "/10.0.0.2", { t: [1] }, "orders-2"),
  member("c", "/10.0.0.1", { t: [3], u: [0] }, "audit-1"),
  member("d", "/10.0.0.10", { t: [4] }, "orders-3"),
];

const OWN_TABLE: { name: string; ip: string; prefix?: string; want: string[] }[] = [
  { name: "by pod IP", ip: "10.0.0.1", want: ["a", "c"] },
  { name: "an IP that is a prefix of another is not it", ip: "10.0.0.10", want: ["d"] },
  { name: "with a client id prefix", ip: "10.0.0.1", prefix: "orders", want: ["a"] },
  { name: "no member from this pod", ip: "10.0.0.9", want: [] },
];
for (const c of OWN_TABLE) {
  test(`own members: ${c.name}`, () => {
    assert.deepEqual(
      ownMembers(MEMBERS, c.ip, c.prefix).map((m) => m.memberId),
      c.want,
    );
  });
}

test("assigned partitions are decoded, merged, sorted and kept to the topic", () => {
  const own = ownMembers(MEMBERS, "10.0.0.1", undefined);
  assert.deepEqual(assignedPartitions(own, undefined), [
    { topic: "t", partition: 0 },
    { topic: "t", partition: 2 },
    { topic: "t", partition: 3 },
    { topic: "u", partition: 0 },
  ]);
  assert.deepEqual(assignedPartitions(own, "u"), [{ topic: "u", partition: 0 }]);
});

test("an empty assignment (between JoinGroup and SyncGroup) has no partitions", () => {
  assert.deepEqual(
    assignedPartitions([{ ...MEMBERS[0]!, memberAssignment: Buffer.alloc(0) }], undefined),
    [],
  );
});

test("assignment bytes that are not the classic format are an error naming the member", () => {
  assert.throws(
    () => assignedPartitions([{ ...MEMBERS[0]!, memberAssignment: Buffer.from([0, 0, 0, 0, 9]) }], undefined),
    /assignment of member a \(orders-1\) is not a classic consumer assignment/,
  );
});

const SUPPORT_TABLE: { name: string; d: GroupDescription; reason?: RegExp }[] = [
  { name: "stable classic group", d: { state: "Stable", protocolType: "consumer", members: [] } },
  { name: "empty group", d: { state: "Empty", protocolType: "consumer", members: [] } },
  { name: "dead, no protocol type", d: { state: "Dead", protocolType: "", members: [] } },
  {
    name: "GROUP_ID_NOT_FOUND (DescribeGroups v6+ on a KIP-848 group)",
    d: { state: "", protocolType: "", members: [], notClassic: "The group id was not found" },
    reason: /is not a classic group .*KIP-848/,
  },
  {
    name: "a Connect group",
    d: { state: "Stable", protocolType: "connect", members: [] },
    reason: /protocol type 'connect', not a Kafka consumer group/,
  },
  {
    name: "a consumer-protocol state",
    d: { state: "Assigning", protocolType: "consumer", members: [] },
    reason: /state 'Assigning', which no classic group has: .*KIP-848/,
  },
];
for (const c of SUPPORT_TABLE) {
  test(`support: ${c.name}`, () => {
    const r = unsupportedReason("g", c.d);
    if (c.reason === undefined) assert.equal(r, undefined);
    else assert.match(r ?? "", c.reason);
  });
}

/** A fake PodKafka (no broker): fixed answers, and a log of the calls made. */
function fake(description: GroupDescription, listed = false) {
  const calls: string[] = [];
  const kafka: PodKafka = {
    describeGroup: (group) => {
      calls.push(`describe ${group}`);
      return Promise.resolve(description);
    },
    groupListed: () => {
      calls.push("list");
      return Promise.resolve(listed);
    },
    readOffsets: (_group, partitions: readonly TopicPartition[], needLogStart) => {
      calls.push(`offsets ${partitions.map((p) => `${p.topic}/${p.partition}`).join(",")} ${needLogStart}`);
      return Promise.resolve(partitions.map((p): PartitionOffsets => ({ ...p, committed: 1, latest: 5 })));
    },
    requests: () => ({}),
    close: () => Promise.resolve(),
  };
  return { kafka, calls };
}

const OPTIONS = { consumerGroup: "g", podIp: "10.0.0.1", offsetResetPolicy: "earliest" as const };

test("readPod reads the offsets of its own partitions only", async () => {
  const { kafka, calls } = fake({ state: "Stable", protocolType: "consumer", members: MEMBERS });
  const r = await readPod(kafka, { ...OPTIONS, topic: "t" }, () => 42);
  assert.deepEqual(calls, ["describe g", "offsets t/0,t/2,t/3 true"]);
  assert.equal(r.members, 2);
  assert.equal(r.observedAt, 42);
  assert.equal(r.groupState, "Stable");
  assert.equal(r.partitions.length, 3);
  assert.equal(r.unsupported, undefined);
});

test("readPod asks no offsets when nothing is assigned to the pod", async () => {
  const { kafka, calls } = fake({ state: "Stable", protocolType: "consumer", members: MEMBERS });
  const r = await readPod(kafka, { ...OPTIONS, podIp: "10.9.9.9" }, () => 0);
  assert.deepEqual(calls, ["describe g"]);
  assert.deepEqual(r.partitions, []);
  assert.equal(r.members, 0);
});

test("a Dead group that its coordinator lists is a KIP-848 group: unsupported", async () => {
  const { kafka, calls } = fake({ state: "Dead", protocolType: "", members: [] }, true);
  const r = await readPod(kafka, OPTIONS, () => 0);
  assert.deepEqual(calls, ["describe g", "list"]);
  assert.match(r.unsupported ?? "", /exists but DescribeGroups describes it as Dead: .*KIP-848/);
});

test("a Dead group that its coordinator does not list does not exist yet: nothing assigned", async () => {
  const { kafka } = fake({ state: "Dead", protocolType: "", members: [] }, false);
  const r = await readPod(kafka, OPTIONS, () => 0);
  assert.equal(r.unsupported, undefined);
  assert.equal(r.groupState, "Dead");
  assert.deepEqual(r.partitions, []);
});
