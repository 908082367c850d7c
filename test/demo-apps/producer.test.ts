/**
 * The demo producer against the stack's real broker: what one request writes, how `count` is read, what a
 * failure answers, and that SIGTERM lets a running request finish.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestLogEntry } from "../../demo-apps/producer/src/request-log.js";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { waitFor } from "../support/wait.js";
import { bootstrapServers, connectedAdmin, endOffsets, startProducer, sum } from "./support.js";

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("one request with count=100 writes exactly 100 messages, spread over all 5 partitions", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-producer-100");
  await createTopic(admin, topic, 5);
  const { app, url } = await startProducer({
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
  });
  t.after(() => app.kill());

  const res = await get(`${url}/?count=100`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.written, 100);

  const ends = await endOffsets(admin, topic);
  assert.equal(sum(ends), 100);
  assert.equal(ends.size, 5);
  for (const [partition, end] of ends)
    assert.ok(end > 0, `partition ${partition} got no message: ${[...ends]}`);
  // least-bytes over messages of near-equal size: no partition gets much more than its share
  for (const end of ends.values()) assert.ok(end >= 15 && end <= 25, `uneven spread ${[...ends]}`);

  // one Echo-style JSON line for the request
  const line = await app.waitForLine(/"uri":"\/\?count=100"/, 5000);
  const entry = JSON.parse(line) as RequestLogEntry;
  assert.equal(entry.status, 200);
  assert.equal(entry.method, "GET");
  assert.equal(entry.remote_ip, "127.0.0.1");
  assert.ok(entry.latency > 0 && typeof entry.latency_human === "string" && entry.bytes_out > 0);
  assert.deepEqual(Object.keys(entry), [
    "time",
    "id",
    "remote_ip",
    "host",
    "method",
    "uri",
    "user_agent",
    "status",
    "error",
    "latency",
    "latency_human",
    "bytes_in",
    "bytes_out",
  ]);
});

test("count: not an integer → 100, <= 0 → nothing (200), above the limit → 400, Atoi forms accepted", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-producer-count");
  await createTopic(admin, topic, 5);
  const { app, url } = await startProducer({
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
  });
  t.after(() => app.kill());

  const cases: [query: string, status: number, written: number][] = [
    ["", 200, 100],
    ["?count=abc", 200, 100],
    ["?count=1.5", 200, 100],
    ["?count=%203", 200, 100], // " 3"
    ["?count=+3", 200, 100], // '+' is a space in a query, as in Go
    ["?count=99999999999999999999", 200, 100], // beyond int64: Atoi fails
    ["?count=0", 200, 0],
    ["?count=-5", 200, 0],
    ["?count=%2B3", 200, 3],
    ["?count=007", 200, 7],
    ["?count=100001", 400, 0],
  ];
  let total = 0;
  for (const [query, status, written] of cases) {
    const res = await get(`${url}/${query}`);
    assert.equal(res.status, status, `${query}: ${JSON.stringify(res.body)}`);
    if (status === 400) assert.match(String(res.body.message), /above the limit of 100000/);
    else assert.equal(res.body.written, written, query);
    total += written;
    assert.equal(sum(await endOffsets(admin, topic)), total, `after ${query}`);
  }

  assert.equal((await get(`${url}/other`)).status, 404);
  const post = await fetch(`${url}/`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(sum(await endOffsets(admin, topic)), total);
});

test("failures answer 5xx with the reason and the server stays up", async (t) => {
  const missing = uniqueName("demo-producer-missing");
  const noTopic = await startProducer({ KAFKA_BROKER: bootstrapServers().join(","), KAFKA_TOPIC: missing });
  t.after(() => noTopic.app.kill());
  // port 1 on loopback: nothing listens there
  const noBroker = await startProducer({ KAFKA_BROKER: "127.0.0.1:1", KAFKA_TOPIC: "my-topic" });
  t.after(() => noBroker.app.kill());

  for (let round = 0; round < 2; round++) {
    const a = await get(`${noTopic.url}/?count=3`);
    assert.equal(a.status, 502, JSON.stringify(a.body));
    assert.match(
      String(a.body.message),
      new RegExp(`3 of 3 messages were not written to topic ${missing}: .+`),
    );
    assert.equal(a.body.written, 0);

    const b = await get(`${noBroker.url}/?count=3`);
    assert.equal(b.status, 503, JSON.stringify(b.body));
    assert.match(String(b.body.message), /could not connect to Kafka: .*ECONNREFUSED/);
  }
  const errorLine = await noBroker.app.waitForLine(/"status":503/, 5000);
  assert.match(errorLine, /"error":"could not connect to Kafka/);
  assert.equal(noTopic.app.child.exitCode, null);
  assert.equal(noBroker.app.child.exitCode, null);
});

test("SIGTERM lets the running request finish, then the process exits 0", async (t) => {
  const admin = await connectedAdmin();
  t.after(() => admin.disconnect());
  const topic = uniqueName("demo-producer-sigterm");
  await createTopic(admin, topic, 5);
  const { app, url } = await startProducer({
    KAFKA_BROKER: bootstrapServers().join(","),
    KAFKA_TOPIC: topic,
  });
  t.after(() => app.kill());

  const response = get(`${url}/?count=2000`);
  // the request is being served once the first messages are on the broker
  await waitFor(
    "first messages",
    async () => (sum(await endOffsets(admin, topic)) > 0 ? true : undefined),
    20_000,
    20,
  );
  const exit = app.signal("SIGTERM");
  const res = await response;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.written, 2000);
  assert.equal((await exit).status, 0, app.stderr());
  assert.equal(sum(await endOffsets(admin, topic)), 2000);
  await assert.rejects(fetch(`${url}/?count=1`), "the server no longer accepts requests");
});
