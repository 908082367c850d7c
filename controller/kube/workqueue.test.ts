import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { TerminalError, WorkQueue } from "./workqueue.js";

/** Resolves when `cond` holds, polling; fails the test after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(2);
  }
}

test("one key is never reconciled by two workers at once, and adds during a run are not lost", async () => {
  const q = new WorkQueue({ name: "t", concurrency: 8 });
  const active = new Map<string, number>();
  let maxSameKey = 0;
  let maxTotal = 0;
  const runs = new Map<string, number>();
  let clock = 0;
  const lastAdd = new Map<string, number>();
  const lastStart = new Map<string, number>();
  q.start(async (key) => {
    lastStart.set(key, ++clock);
    const n = (active.get(key) ?? 0) + 1;
    active.set(key, n);
    maxSameKey = Math.max(maxSameKey, n);
    maxTotal = Math.max(
      maxTotal,
      [...active.values()].reduce((a, b) => a + b, 0),
    );
    await sleep(1 + Math.random() * 4);
    active.set(key, (active.get(key) ?? 1) - 1);
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return undefined;
  });
  const keys = ["a/1", "a/2", "a/3"];
  for (let i = 0; i < 300; i++) {
    const key = keys[i % keys.length]!;
    lastAdd.set(key, ++clock);
    q.add(key);
    if (i % 7 === 0) await sleep(1);
  }
  await until(() => q.length === 0 && [...active.values()].every((v) => v === 0));
  await sleep(20);
  await q.stop();
  assert.equal(maxSameKey, 1, "a key ran twice at once");
  assert.ok(maxTotal > 1, "different keys should run in parallel");
  for (const k of keys) {
    assert.ok(lastStart.get(k)! > lastAdd.get(k)!, `${k}: its last add was never processed`);
  }
});

test("an add while the key runs waits and then runs exactly once more", async () => {
  const q = new WorkQueue({ name: "t", concurrency: 4 });
  let release!: () => void;
  const order: string[] = [];
  let calls = 0;
  q.start(async (key) => {
    calls++;
    order.push(`start ${key} ${calls}`);
    if (calls === 1) await new Promise<void>((r) => (release = r));
    order.push(`end ${key} ${calls}`);
    return undefined;
  });
  q.add("ns/x");
  await until(() => calls === 1);
  q.add("ns/x");
  q.add("ns/x");
  q.add("ns/x");
  await sleep(20);
  assert.equal(calls, 1, "the re-add must wait for the running reconcile");
  release();
  await until(() => calls === 2);
  await sleep(20);
  await q.stop();
  assert.equal(calls, 2, "three re-adds during a run collapse into one run");
  assert.deepEqual(order, ["start ns/x 1", "end ns/x 1", "start ns/x 2", "end ns/x 2"]);
});

test("a failing key is retried with growing delays; success resets the back-off", async () => {
  const q = new WorkQueue({ name: "t", backoff: { baseMs: 10, maxMs: 1000 } });
  const times: number[] = [];
  q.start(async () => {
    times.push(Date.now());
    if (times.length < 4) throw new Error("transient");
    return undefined;
  });
  q.add("k");
  await until(() => times.length === 4);
  await sleep(5);
  assert.equal(q.retries("k"), 0, "success forgets the failures");
  await q.stop();
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  // 10, 20, 40 ms requested: each gap at least the delay asked for
  assert.ok(gaps[0]! >= 9 && gaps[1]! >= 19 && gaps[2]! >= 39, `gaps ${gaps.join(",")}`);
});

test("a TerminalError is not retried; requeueAfter runs the key again", async () => {
  const q = new WorkQueue({ name: "t", backoff: { baseMs: 1, maxMs: 10 } });
  const runs = new Map<string, number>();
  q.start(async (key) => {
    const n = (runs.get(key) ?? 0) + 1;
    runs.set(key, n);
    if (key === "bad") throw new TerminalError("invalid spec");
    if (key === "poll" && n < 3) return { requeueAfter: 5 };
    return undefined;
  });
  q.add("bad");
  q.add("poll");
  await until(() => runs.get("poll") === 3);
  await sleep(50);
  await q.stop();
  assert.equal(runs.get("bad"), 1);
  assert.equal(runs.get("poll"), 3);
});

test("addAfter keeps the earliest due time, and stop() waits for running reconciles and drops delayed keys", async () => {
  const q = new WorkQueue({ name: "t" });
  const ran: string[] = [];
  let finishing = false;
  q.start(async (key) => {
    if (key === "slow") {
      await sleep(30);
      finishing = true;
    }
    ran.push(key);
    return undefined;
  });
  q.addAfter("d", 10_000);
  q.addAfter("d", 10);
  await until(() => ran.includes("d"), 1000);
  q.addAfter("late", 10_000);
  q.add("slow");
  await until(() => q.length === 0);
  await q.stop();
  assert.ok(finishing, "stop() returned before the running reconcile ended");
  assert.deepEqual(ran, ["d", "slow"]);
});
