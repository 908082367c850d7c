/**
 * A mixed consumer group: the TypeScript consumer and a member written with kafka-go v0.4.25 (the Go demo
 * consumer's library) share one group on the real broker. Each side leads once, so each side's assignment
 * is read by the other: the broker accepts both only because they offer the same protocol names.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { waitFor } from "../support/wait.js";
import {
  bootstrapServers,
  buildGoMember,
  committed,
  connectedAdmin,
  describeGroup,
  startApp,
  startProcess,
  sum,
  testKafka,
  type MemberView,
  type RunningApp,
} from "./support.js";

const TS_LINE = /^message at topic\/partition\/offset \S+\/(\d+)\/\d+: (\S+) = /;
const GO_LINE = /^read (\d+) \d+ (\S+)$/;

/** partition → keys a member printed. */
function readBy(app: RunningApp, pattern: RegExp): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const m of app.lines.map((l) => pattern.exec(l))) {
    if (!m) continue;
    const p = Number(m[1]);
    out.set(p, [...(out.get(p) ?? []), m[2]!]);
  }
  return out;
}

test("a kafka-go member and the TypeScript consumer share a group, whichever of them leads", async (t) => {
  const goBinary = await buildGoMember();
  t.after(() => rmSync(path.dirname(goBinary), { recursive: true, force: true }));
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-mixed");
  const groupId = uniqueName("demo-mixed-group");
  await createTopic(admin, topic, 5);
  const producer = testKafka("demo-mixed-producer").producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const env = {
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_CONSUMER_GROUP: groupId,
  };

  const stableWith = (hosts: string[]) =>
    waitFor(
      `a stable group of ${hosts.join(", ")}`,
      async () => {
        const g = await describeGroup(admin, groupId, topic);
        const got = g.members.map((m) => m.clientHost).sort();
        const assigned = g.members.flatMap((m) => m.partitions).sort((a, b) => a - b);
        return g.state === "Stable" &&
          JSON.stringify(got) === JSON.stringify([...hosts].sort()) &&
          JSON.stringify(assigned) === "[0,1,2,3,4]"
          ? g
          : undefined;
      },
      45_000,
    );
  /** One message per partition tagged with `phase`; waits until the group has committed them all. */
  const sendRound = async (phase: string, expectedTotal: number) => {
    await producer.send({
      topic,
      messages: [0, 1, 2, 3, 4].map((partition) => ({
        partition,
        key: `${phase}-p${partition}`,
        value: phase,
      })),
    });
    await waitFor(
      `${phase}: ${expectedTotal} committed`,
      async () => (sum(await committed(admin, groupId, topic)) === expectedTotal ? true : undefined),
      30_000,
    );
  };
  /**
   * Each partition of the member was read by that process. The consumers commit before they process (as the Go
   * original), so the commit that ended sendRound can come before the process logs the message: wait for the
   * log line, then assert.
   */
  const assertReadOwnPartitions = async (
    member: MemberView,
    app: RunningApp,
    pattern: RegExp,
    phase: string,
  ) => {
    const missing = () =>
      member.partitions.filter((p) => !readBy(app, pattern).get(p)?.includes(`${phase}-p${p}`));
    await waitFor(
      `${phase}: ${member.clientHost} logs its partitions`,
      () => (missing().length === 0 ? true : undefined),
      10_000,
    ).catch(() => undefined);
    for (const p of missing()) assert.fail(`${phase}: ${member.clientHost} did not read partition ${p}`);
  };

  // 1. The TypeScript consumer joins first and leads; the kafka-go member joins and gets its share from it.
  const ts1 = startApp("consumer", { ...env, POD_IP: "127.0.0.2" });
  t.after(() => ts1.kill());
  await stableWith(["/127.0.0.2"]);
  const go = startProcess("go-member", goBinary, [], env);
  t.after(() => go.kill());
  let g = await stableWith(["/127.0.0.1", "/127.0.0.2"]);
  assert.equal(g.protocol, "range");
  const goView = () => g.members.find((m) => m.clientHost === "/127.0.0.1")!;
  const tsView = (host: string) => g.members.find((m) => m.clientHost === host)!;
  assert.ok(goView().partitions.length > 0 && tsView("/127.0.0.2").partitions.length > 0);
  await sendRound("one", 5);
  await assertReadOwnPartitions(goView(), go, GO_LINE, "one");
  await assertReadOwnPartitions(tsView("/127.0.0.2"), ts1, TS_LINE, "one");

  // 2. The TypeScript consumer leaves on SIGTERM; the kafka-go member takes everything and now leads.
  assert.equal((await ts1.signal("SIGTERM")).status, 0);
  g = await stableWith(["/127.0.0.1"]);
  await sendRound("two", 10);
  await assertReadOwnPartitions(goView(), go, GO_LINE, "two");

  // 3. A new TypeScript consumer joins a group led by kafka-go, and reads what kafka-go assigned it.
  const ts2 = startApp("consumer", { ...env, POD_IP: "127.0.0.3" });
  t.after(() => ts2.kill());
  g = await stableWith(["/127.0.0.1", "/127.0.0.3"]);
  assert.equal(g.protocol, "range");
  assert.ok(tsView("/127.0.0.3").partitions.length > 0, "kafka-go gave the TypeScript member nothing");
  await sendRound("three", 15);
  await assertReadOwnPartitions(goView(), go, GO_LINE, "three");
  await assertReadOwnPartitions(tsView("/127.0.0.3"), ts2, TS_LINE, "three");

  assert.equal((await go.signal("SIGTERM")).status, 0, go.stderr());
  assert.deepEqual(
    go.lines.filter((l) => l.startsWith("error")),
    [],
  );
});
