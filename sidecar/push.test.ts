// The pusher against a fake POST (no server): retries, replacement, refusals, token re-reads. The real HTTP
// path is in test/sidecar/sidecar.test.ts.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import type { SidecarReport } from "../core/reports/schema.js";
import { ReportPusher, type PostResult } from "./push.js";

function report(lag: number): SidecarReport {
  return {
    version: 1,
    pod: { namespace: "ns", name: "pod-a", ip: "10.0.0.1" },
    scaledObject: "so",
    consumerGroup: "g",
    observedAt: lag,
    urgent: false,
    state: "busy",
    groupState: "Stable",
    members: 1,
    partitions: [],
    lag,
    ratePerSecond: 0,
  };
}

function capture() {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scripted(statuses: number[]) {
  const calls: { body: SidecarReport; token: string }[] = [];
  const post = (body: string, token: string): Promise<PostResult> => {
    calls.push({ body: JSON.parse(body) as SidecarReport, token });
    return Promise.resolve({ status: statuses.shift() ?? 200, text: "reason from the receiver" });
  };
  return { post, calls };
}

test("a 503 is retried soon until accepted", async () => {
  const { post, calls } = scripted([503, 503, 200]);
  const outcomes: number[] = [];
  const { logger } = capture();
  const pusher = new ReportPusher({
    post,
    readToken: () => Promise.resolve("t"),
    logger,
    random: () => 0,
    onOutcome: (o) => outcomes.push(o.status),
  });
  pusher.offer(report(5), false);
  // Backoffs with random 0: 100 ms, then 200 ms.
  for (let i = 0; i < 50 && outcomes.length < 3; i++) await tick(20);
  await pusher.stop();
  assert.deepEqual(outcomes, [503, 503, 200]);
  assert.deepEqual(
    calls.map((c) => c.body.lag),
    [5, 5, 5],
  );
  assert.notEqual(pusher.lastAccepted(), undefined);
});

test("a newer report replaces the one waiting for its retry", async () => {
  const { post, calls } = scripted([500, 200]);
  const { logger } = capture();
  const pusher = new ReportPusher({ post, readToken: () => Promise.resolve("t"), logger, random: () => 0 });
  pusher.offer(report(1), false);
  await tick(20);
  pusher.offer(report(2), false);
  for (let i = 0; i < 50 && calls.length < 2; i++) await tick(20);
  await pusher.stop();
  assert.deepEqual(
    calls.map((c) => c.body.lag),
    [1, 2],
  );
});

test("a refusal is logged at warn with the receiver's reason, and an urgent report does not cut its backoff", async () => {
  const { post, calls } = scripted([403]);
  const { logger, lines } = capture();
  const pusher = new ReportPusher({ post, readToken: () => Promise.resolve("t"), logger, random: () => 0 });
  pusher.offer(report(1), false);
  await tick(50);
  pusher.offer(report(50), true);
  // The refusal backoff is 2.5 s at least: nothing more is sent within this wait.
  await tick(200);
  await pusher.stop();
  assert.equal(calls.length, 1);
  const warn = lines.find((l) => l.level === 40);
  assert.equal(warn?.msg, "the controller refused the report");
  assert.equal(warn?.reason, "reason from the receiver");
});

test("an urgent report cuts an error backoff short", async () => {
  const { post, calls } = scripted([500, 200]);
  const { logger } = capture();
  // random 1: the first error backoff is 500 ms.
  const pusher = new ReportPusher({
    post,
    readToken: () => Promise.resolve("t"),
    logger,
    random: () => 0.999,
  });
  pusher.offer(report(1), false);
  await tick(50);
  pusher.offer(report(50), true);
  await tick(100);
  await pusher.stop();
  assert.deepEqual(
    calls.map((c) => c.body.lag),
    [1, 50],
  );
});

test("the token is read again for every push", async () => {
  const { post, calls } = scripted([200, 200]);
  const { logger } = capture();
  let n = 0;
  const pusher = new ReportPusher({ post, readToken: () => Promise.resolve(`token-${++n}`), logger });
  pusher.offer(report(1), false);
  await tick(30);
  pusher.offer(report(2), false);
  await tick(30);
  await pusher.stop();
  assert.deepEqual(
    calls.map((c) => c.token),
    ["token-1", "token-2"],
  );
});

test("an unreadable token is a failure that is retried, not a crash", async () => {
  const { post, calls } = scripted([200]);
  const { logger } = capture();
  let first = true;
  const outcomes: number[] = [];
  const pusher = new ReportPusher({
    post,
    readToken: () => {
      if (first) {
        first = false;
        return Promise.reject(new Error("ENOENT"));
      }
      return Promise.resolve("t");
    },
    logger,
    random: () => 0,
    onOutcome: (o) => outcomes.push(o.status),
  });
  pusher.offer(report(1), false);
  for (let i = 0; i < 50 && outcomes.length < 2; i++) await tick(20);
  await pusher.stop();
  assert.deepEqual(outcomes, [0, 200]);
  assert.equal(calls.length, 1);
});
