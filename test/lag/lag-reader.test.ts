/**
 * The batched lag reader against the stack's real broker, combined with the lag math: a kafka trigger is
 * parsed from KEDA-shaped metadata (and TriggerAuthentication parameters), read, and evaluated. Each test has
 * its own topics and groups.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { BatchedLagReader } from "../../core/kafka/batched-reader.js";
import { lagRequestFromTrigger } from "../../core/kafka/from-trigger.js";
import type { LagReader, LagReadResult } from "../../core/kafka/types.js";
import { evaluateKafkaLag, type LagEvaluationOk, type PersistentLagMemory } from "../../core/lag/evaluate.js";
import { parseKafkaTrigger, type KafkaTriggerInput } from "../../core/triggers/kafka.js";
import type { StackInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";
import { silentListener } from "../support/silent-listener.js";
import { KafkaFixture, setupClient } from "./support.js";

let stack: StackInfo;
let kafka: KafkaFixture;
let reader: BatchedLagReader;
let bootstrap: string;

before(async () => {
  stack = loadStack();
  bootstrap = stack.kafka.bootstrapServers.join(",");
  kafka = new KafkaFixture(setupClient(stack.kafka), stack.kafka);
  await kafka.connect();
  reader = new BatchedLagReader({ metadataMaxAgeMs: 600_000 });
});

after(async () => {
  await reader?.close();
  await kafka?.cleanup();
});

interface Evaluated {
  read: LagReadResult & { ok: true };
  lag: LagEvaluationOk;
}

/** Parses the trigger as KEDA would, reads its offsets with `r`, and evaluates its lag. */
async function evaluate(
  input: KafkaTriggerInput,
  memory?: PersistentLagMemory,
  r: LagReader = reader,
): Promise<Evaluated> {
  const parsed = parseKafkaTrigger(input);
  if (!parsed.ok) assert.fail(parsed.errors.map((e) => e.message).join("; "));
  const request = lagRequestFromTrigger(parsed.value);
  if (!request.ok) assert.fail(request.error);
  const read = await r.read(request.request);
  if (!read.ok) assert.fail(`read failed (${read.kind}): ${read.error}`);
  const lag = evaluateKafkaLag(parsed.value, read, memory);
  if (!lag.ok) assert.fail(lag.error);
  return { read, lag };
}

function rules(e: Evaluated): string[] {
  return e.lag.perPartition.map((p) => `${p.topic.split("-")[0]}/${p.partition}:${p.rule}=${p.lag}`);
}

describe("lag reader on a real broker", () => {
  it("uncommitted group, latest: lag 1 per partition", async () => {
    const topic = await kafka.topic("latest", 3);
    await kafka.produce(topic, [4, 0, 2]);
    const group = kafka.group("uncommitted");
    const e = await evaluate({ metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic } });
    assert.deepEqual(
      e.read.partitions.map((p) => [p.partition, p.committed, p.latest]),
      [
        [0, -1, 4],
        [1, -1, 0],
        [2, -1, 2],
      ],
    );
    assert.deepEqual(rules(e), [
      "latest/0:no-commit-latest=1",
      "latest/1:no-commit-latest=1",
      "latest/2:no-commit-latest=1",
    ]);
    assert.equal(e.lag.totalLag, 3);
    assert.equal(e.lag.active, true);
  });

  it("uncommitted group, earliest: lag is log end minus log start (D4)", async () => {
    const topic = await kafka.topic("earliest", 3);
    await kafka.produce(topic, [5, 3, 0]);
    const group = kafka.group("uncommitted");
    const e = await evaluate({
      metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic, offsetResetPolicy: "earliest" },
    });
    assert.deepEqual(
      e.read.partitions.map((p) => [p.partition, p.committed, p.latest, p.logStart]),
      [
        [0, -1, 5, 0],
        [1, -1, 3, 0],
        [2, -1, 0, 0],
      ],
    );
    assert.equal(e.lag.totalLag, 8);
    assert.equal(e.lag.metricValue, 8);
  });

  it("offsets deleted by retention: lag counts only the messages that remain (D4)", async () => {
    const topic = await kafka.topic("retention", 2);
    await kafka.produce(topic, [10, 4]);
    await kafka.deleteRecords(topic, { 0: 6 });
    const group = kafka.group("uncommitted");
    const e = await evaluate({
      metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic, offsetResetPolicy: "earliest" },
    });
    assert.deepEqual(
      e.read.partitions.map((p) => [p.partition, p.latest, p.logStart]),
      [
        [0, 10, 6],
        [1, 4, 0],
      ],
    );
    // KEDA at this snapshot would say 14 (log-end offsets); 4 + 4 messages are left to consume.
    assert.equal(e.lag.totalLag, 8);
    // A committed group is not affected by the log start: lag is log end minus committed.
    const committed = kafka.group("committed");
    await kafka.commit(committed, topic, { 0: 7, 1: 1 });
    const c = await evaluate({
      metadata: {
        bootstrapServers: bootstrap,
        consumerGroup: committed,
        topic,
        offsetResetPolicy: "earliest",
      },
    });
    assert.deepEqual(
      c.read.partitions.map((p) => [p.partition, p.committed, p.logStart]),
      [
        [0, 7, undefined],
        [1, 1, undefined],
      ],
    );
    assert.equal(c.lag.totalLag, 3 + 3);
  });

  it("a stuck group with excludePersistentLag: lag 0 for the metric, still active (D7)", async () => {
    const topic = await kafka.topic("stuck", 2);
    await kafka.produce(topic, [5, 5]);
    const group = kafka.group("stuck");
    await kafka.commit(group, topic, { 0: 2, 1: 1 });
    const metadata = {
      bootstrapServers: bootstrap,
      consumerGroup: group,
      topic,
      excludePersistentLag: "true",
    };

    const first = await evaluate({ metadata });
    assert.equal(first.lag.totalLag, 3 + 4);

    // Partition 1 moves on, partition 0 stays stuck at 2.
    await kafka.commit(group, topic, { 1: 3 });
    const second = await evaluate({ metadata }, first.lag.memory);
    assert.deepEqual(rules(second), ["stuck/0:persistent=0", "stuck/1:committed=2"]);
    assert.equal(second.lag.totalLag, 2);
    assert.equal(second.lag.totalLagWithPersistent, 3 + 2);
    assert.equal(second.lag.active, true);

    // Nothing moves: no lag for the metric at all, and the trigger stays active on the persistent lag.
    const third = await evaluate({ metadata }, second.lag.memory);
    assert.equal(third.lag.totalLag, 0);
    assert.equal(third.lag.metricValue, 0);
    assert.equal(third.lag.totalLagWithPersistent, 5);
    assert.equal(third.lag.active, true);

    // The stuck partition commits again: its lag counts again.
    await kafka.commit(group, topic, { 0: 4 });
    const fourth = await evaluate({ metadata }, third.lag.memory);
    assert.deepEqual(rules(fourth), ["stuck/0:committed=1", "stuck/1:persistent=0"]);
  });

  it("partitionLimitation reads and counts only the partitions it names", async () => {
    const topic = await kafka.topic("limited", 4);
    await kafka.produce(topic, [1, 2, 3, 4]);
    const group = kafka.group("limited");
    await kafka.commit(group, topic, { 0: 0, 1: 0, 2: 0, 3: 0 });
    const e = await evaluate({
      metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic, partitionLimitation: "1, 3-3" },
    });
    assert.deepEqual(
      e.read.partitions.map((p) => p.partition),
      [1, 3],
    );
    assert.equal(e.lag.totalLag, 2 + 4);
    assert.equal(e.lag.partitionCount, 2);
    // Nothing in the limitation exists: KEDA's error, for this trigger only.
    const parsed = parseKafkaTrigger({
      metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic, partitionLimitation: "7-9" },
    });
    assert.ok(parsed.ok);
    const request = lagRequestFromTrigger(parsed.value);
    assert.ok(request.ok);
    assert.deepEqual(await reader.read(request.request), {
      ok: false,
      kind: "request",
      error: `expected at least one active partition within the topic '${topic}'`,
    });
  });

  it("no topic: the group's committed topics, all their partitions; a group with no commits is inactive (D3)", async () => {
    const [a, b, other] = await kafka.createTopics("multi", [2, 3, 1]);
    await kafka.produce(a!, [3, 3]);
    await kafka.produce(b!, [1, 1, 1]);
    await kafka.produce(other!, [9]);
    const group = kafka.group("multi");
    await kafka.commit(group, a!, { 0: 1 });
    await kafka.commit(group, b!, { 2: 0 });
    const [e, d3] = await Promise.all([
      evaluate({ metadata: { bootstrapServers: bootstrap, consumerGroup: group } }),
      evaluate({ metadata: { bootstrapServers: bootstrap, consumerGroup: kafka.group("never-committed") } }),
    ]);
    assert.deepEqual(e.read.groupTopics, [a, b].sort());
    assert.deepEqual(
      e.read.partitions.map((p) => [p.topic === a ? "a" : "b", p.partition, p.committed]).sort(),
      [
        ["a", 0, 1],
        ["a", 1, -1],
        ["b", 0, -1],
        ["b", 1, -1],
        ["b", 2, 0],
      ],
    );
    // a/0: 3-1, a/1: 1 (nothing committed, latest), b/0: 1, b/1: 1, b/2: 1-0.
    assert.equal(e.lag.totalLag, 2 + 1 + 1 + 1 + 1);
    assert.equal(e.lag.partitionCount, 5);

    assert.deepEqual(d3.read.partitions, []);
    assert.deepEqual(d3.read.groupTopics, []);
    assert.equal(d3.lag.active, false);
    assert.equal(d3.lag.metricValue, 0);
    assert.match(d3.lag.inactiveReason ?? "", /has no committed offsets/);
  });

  it("SASL/SCRAM credentials from a TriggerAuthentication's parameters", async (t) => {
    const sasl = stack.kafka.sasl;
    if (!sasl) {
      t.skip("the stack's broker has no SASL listener");
      return;
    }
    const topic = await kafka.topic("scram", 2);
    await kafka.produce(topic, [3, 1]);
    const group = kafka.group("scram");
    await kafka.commit(group, topic, { 0: 1, 1: 1 });
    const saslBootstrap = sasl.bootstrapServers.join(",");
    for (const user of sasl.users) {
      const authParams = {
        sasl: kedaSasl(user.mechanism),
        username: user.username,
        password: `${user.password}\n`, // a Secret's trailing newline is trimmed, as KEDA does
      };
      const e = await evaluate({
        metadata: { bootstrapServers: saslBootstrap, consumerGroup: group, topic },
        authParams,
      });
      assert.equal(e.lag.totalLag, 2, user.mechanism);
    }
    // A wrong password is a cluster error for this trigger.
    const user = sasl.users[0]!;
    const parsed = parseKafkaTrigger({
      metadata: { bootstrapServers: saslBootstrap, consumerGroup: group, topic },
      authParams: {
        sasl: kedaSasl(user.mechanism),
        username: user.username,
        password: "wrong",
      },
    });
    assert.ok(parsed.ok, parsed.ok ? "" : JSON.stringify(parsed.errors));
    const request = lagRequestFromTrigger(parsed.value);
    assert.ok(request.ok);
    const denied = await reader.read(request.request);
    assert.equal(denied.ok, false);
    assert.equal(!denied.ok && denied.kind, "cluster");
    assert.match(!denied.ok ? denied.error : "", /authentication failed/i);
  });

  it("an unknown topic fails only its own trigger", async () => {
    const topic = await kafka.topic("known", 1);
    await kafka.produce(topic, [2]);
    const group = kafka.group("known");
    const missing = `${topic}-missing`;
    const [bad, good] = await Promise.all([
      reader.read({
        cluster: { brokers: stack.kafka.bootstrapServers },
        consumerGroup: group,
        topic: missing,
      }),
      reader.read({ cluster: { brokers: stack.kafka.bootstrapServers }, consumerGroup: group, topic }),
    ]);
    assert.deepEqual(bad, {
      ok: false,
      kind: "topic",
      error: `topic '${missing}' does not exist (unknown topic or partition)`,
    });
    assert.equal(good.ok && good.partitions[0]?.latest, 2);
  });

  it("an unreachable cluster errors only its own triggers; the live cluster's are read", async () => {
    const deadPort = await closedLoopbackPort();
    const topic = await kafka.topic("isolation", 2);
    await kafka.produce(topic, [2, 2]);
    const group = kafka.group("isolation");
    const live = { bootstrapServers: bootstrap, consumerGroup: group, topic };
    const dead = { bootstrapServers: `127.0.0.1:${deadPort}`, consumerGroup: group, topic };
    const parsedDead = parseKafkaTrigger({ metadata: dead });
    assert.ok(parsedDead.ok);
    const deadRequest = lagRequestFromTrigger(parsedDead.value);
    assert.ok(deadRequest.ok);
    const [d1, e, d2] = await Promise.all([
      reader.read(deadRequest.request),
      evaluate({ metadata: live }),
      reader.read(deadRequest.request),
    ]);
    for (const d of [d1, d2]) {
      assert.equal(d.ok, false);
      assert.equal(!d.ok && d.kind, "cluster");
      assert.match(
        !d.ok ? d.error : "",
        new RegExp(`cannot connect to Kafka \\(127\\.0\\.0\\.1:${deadPort}\\).*ECONNREFUSED`),
      );
    }
    assert.equal(e.lag.totalLag, 2);
  });

  it("a cluster that never answers does not hold up another cluster's triggers", async () => {
    // A listener that accepts connections and never says a word: the worst kind of dead broker.
    const silent = await silentListener();
    const slowReader = new BatchedLagReader({ roundTimeoutMs: 4000, connectionTimeoutMs: 4000, retries: 0 });
    try {
      const topic = await kafka.topic("silent", 1);
      await kafka.produce(topic, [1]);
      const group = kafka.group("silent");
      let silentAnswered = false;
      const stuck = slowReader
        .read({ cluster: { brokers: [`127.0.0.1:${silent.port}`] }, consumerGroup: group, topic })
        .then((r) => {
          silentAnswered = true;
          return r;
        });
      const e = await evaluate(
        { metadata: { bootstrapServers: bootstrap, consumerGroup: group, topic } },
        undefined,
        slowReader,
      );
      assert.equal(e.lag.totalLag, 1);
      // The live cluster was read while the silent one was still waiting for its first byte.
      assert.equal(silentAnswered, false);
      const r = await stuck;
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.kind, "cluster");
    } finally {
      await slowReader.close();
      silent.close();
    }
  });

  it("N triggers on one group and topic cost the same Kafka requests as one", async () => {
    const topic = await kafka.topic("requests", 6);
    await kafka.produce(topic, [1, 2, 3, 4, 5, 6]);
    const group = kafka.group("requests");
    await kafka.commit(group, topic, { 0: 1, 3: 1 });
    const counting = new BatchedLagReader({ metadataMaxAgeMs: 600_000 });
    try {
      const request = { cluster: { brokers: stack.kafka.bootstrapServers }, consumerGroup: group, topic };
      // The first round connects, learns the topic and finds the group's coordinator.
      assert.equal((await counting.read(request)).ok, true);
      const round = async (n: number) => {
        const before = counting.stats().requests;
        const results = await Promise.all(Array.from({ length: n }, () => counting.read(request)));
        for (const r of results) assert.deepEqual(r, results[0]);
        const after = counting.stats().requests;
        return Object.fromEntries(
          Object.entries(after)
            .map(([api, v]) => [api, v - (before[api] ?? 0)] as const)
            .filter(([, v]) => v > 0),
        );
      };
      const one = await round(1);
      const hundred = await round(100);
      assert.deepEqual(hundred, one);
      // One broker: one ListOffsets for all partitions, one OffsetFetch for the group, nothing else.
      assert.deepEqual(one, { ListOffsets: 1, OffsetFetch: 1 });
    } finally {
      await counting.close();
    }
  });
});

/** KEDA's `sasl` value for a SCRAM mechanism. */
function kedaSasl(mechanism: "scram-sha-256" | "scram-sha-512"): string {
  return mechanism === "scram-sha-256" ? "scram_sha256" : "scram_sha512";
}

/** A loopback port nothing listens on: bound, then released. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
