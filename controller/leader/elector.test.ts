/**
 * The election loop on a fake clock and an in-memory lock (both fakes: this is the loop's logic; the real
 * API server's behaviour is tested in test/controller/leader-*.test.ts). Time only moves when the test moves
 * it, so the assertions are exact where the algorithm is exact.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import type { LeaderRecord } from "./decide.js";
import { LeaderElector, combineCallbacks, type LeaderCallbacks, type Sleep } from "./elector.js";
import type { LeaderLock, LockedRecord } from "./lease-lock.js";

class FakeTime {
  nowMs = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  readonly clock = { now: (): number => this.nowMs };
  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = { at: this.nowMs + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        "abort",
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          resolve();
        },
        { once: true },
      );
    });

  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }

  /** Fires every timer due up to untilMs, in order, letting the code run between them. */
  async advanceTo(untilMs: number): Promise<void> {
    for (;;) {
      await this.settle();
      const next = [...this.timers].sort((a, b) => a.at - b.at)[0];
      if (!next || next.at > untilMs) {
        this.nowMs = untilMs;
        await this.settle();
        return;
      }
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs = Math.max(this.nowMs, next.at);
      next.resolve();
    }
  }
}

class HttpError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

/** An in-memory Lease with resourceVersion semantics; can fail or hang on demand. */
class MemoryLock implements LeaderLock {
  record: LeaderRecord | undefined;
  rv = 0;
  mode: "ok" | "fail" | "hang" = "ok";
  /** Runs after a get, before the caller can write (to simulate another writer). */
  afterGet: (() => void) | undefined;
  writes: { atMs: number; record: LeaderRecord }[] = [];
  gets: number[] = [];

  constructor(private readonly time: FakeTime) {}

  describe(): string {
    return "test/lease";
  }
  private gate(): Promise<void> {
    if (this.mode === "fail") return Promise.reject(new HttpError(500));
    if (this.mode === "hang") return new Promise<void>(() => {});
    return Promise.resolve();
  }
  private locked(): LockedRecord {
    return { record: { ...this.record! }, resourceVersion: String(this.rv) };
  }
  async get(): Promise<LockedRecord | undefined> {
    await this.gate();
    this.gets.push(this.time.nowMs);
    const out = this.record ? this.locked() : undefined;
    this.afterGet?.();
    return out;
  }
  async create(record: LeaderRecord): Promise<LockedRecord> {
    await this.gate();
    if (this.record) throw new HttpError(409);
    return this.put(record);
  }
  async update(record: LeaderRecord, resourceVersion: string): Promise<LockedRecord> {
    await this.gate();
    if (resourceVersion !== String(this.rv)) throw new HttpError(409);
    return this.put(record);
  }
  put(record: LeaderRecord): LockedRecord {
    this.record = { ...record };
    this.rv++;
    this.writes.push({ atMs: this.time.nowMs, record: { ...record } });
    return this.locked();
  }
}

const silent = createLogger("leader-test", "silent");
const FAST = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function setup(opts: { random?: () => number; registry?: Registry } = {}) {
  const time = new FakeTime();
  const lock = new MemoryLock(time);
  const events: string[] = [];
  let signal: AbortSignal | undefined;
  const callbacks: LeaderCallbacks = {
    onStartedLeading: (s) => {
      signal = s;
      events.push(`started@${time.nowMs}`);
    },
    onStoppedLeading: () => {
      events.push(`stopped@${time.nowMs}`);
    },
    onNewLeader: (id) => {
      events.push(`leader:${id}@${time.nowMs}`);
    },
  };
  const elector = new LeaderElector({
    ...FAST,
    lock,
    identity: "me",
    callbacks,
    logger: silent,
    clock: time.clock,
    sleep: time.sleep,
    random: opts.random ?? (() => 0),
    registry: opts.registry,
  });
  return { time, lock, events, elector, workSignal: () => signal };
}

const foreign = (over: Partial<LeaderRecord> = {}): LeaderRecord => ({
  holderIdentity: "other",
  leaseDurationSeconds: 15,
  acquireTime: "2026-01-01T00:00:00.000000Z",
  renewTime: "2026-01-01T00:00:00.000000Z",
  leaseTransitions: 2,
  ...over,
});

async function gauge(registry: Registry, name: string): Promise<{ labels: object; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, name);
  return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

test("creates a missing lease, renews every retryPeriod keeping acquireTime and transitions, releases on abort", async () => {
  const registry = new Registry();
  const { time, lock, events, elector, workSignal } = setup({ registry });
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  await time.advanceTo(0);
  assert.equal(elector.isLeader(), true);
  assert.deepEqual(events, ["leader:me@0", "started@0"]);
  assert.deepEqual(await gauge(registry, "lagscale_leader"), [{ labels: { lease: "test/lease" }, value: 1 }]);

  await time.advanceTo(9_000);
  assert.deepEqual(
    lock.writes.map((w) => w.atMs),
    [0, 2_000, 4_000, 6_000, 8_000],
  );
  const first = lock.writes[0]!.record;
  for (const w of lock.writes) {
    assert.equal(w.record.holderIdentity, "me");
    assert.equal(w.record.acquireTime, first.acquireTime);
    assert.equal(w.record.leaseTransitions, 0);
    assert.equal(w.record.leaseDurationSeconds, 15);
  }
  assert.notEqual(lock.writes[4]!.record.renewTime, first.renewTime);
  assert.equal(elector.check(0), undefined);

  stop.abort();
  await time.advanceTo(9_000);
  await done;
  assert.equal(workSignal()?.aborted, true);
  assert.deepEqual(lock.record, {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: "1970-01-01T00:00:09.000000Z",
    renewTime: "1970-01-01T00:00:09.000000Z",
    leaseTransitions: 0,
  });
  assert.deepEqual(events, ["leader:me@0", "started@0", "stopped@9000"]);
  assert.equal(elector.isLeader(), false);
  assert.deepEqual(await gauge(registry, "lagscale_leader"), [{ labels: { lease: "test/lease" }, value: 0 }]);
  const transitions = await gauge(registry, "lagscale_leader_transitions_total");
  assert.deepEqual(
    transitions.map((t) => t.value),
    [1, 1],
  );
});

test("respects a foreign holder until leaseDuration after its record last changed, then takes over (+1)", async () => {
  const { time, lock, events, elector } = setup();
  lock.put(foreign());
  lock.writes = [];
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  await time.advanceTo(5_000);
  // The holder renews at 5 s (its renewTime is from its own clock, far in the past: it does not matter).
  lock.put(foreign({ renewTime: "2026-01-01T00:00:05.000000Z" }));
  lock.writes = [];
  await time.advanceTo(40_000);
  const takeover = lock.writes.find((w) => w.record.holderIdentity === "me");
  assert.ok(takeover, "took over");
  // First seen changed at the 6 s attempt: not before 6 + 15 s, and at the first attempt after that.
  assert.equal(takeover.atMs, 22_000);
  assert.equal(takeover.record.leaseTransitions, 3);
  assert.equal(events[0], "leader:other@0");
  assert.ok(events.includes("started@22000"), events.join());
  stop.abort();
  await time.advanceTo(40_000);
  await done;
});

test("acquire retries are jittered: retryPeriod × (1 + random × 1.2)", async () => {
  const { time, lock, elector } = setup({ random: () => 0.5 });
  lock.put(foreign());
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  await time.advanceTo(10_000);
  assert.deepEqual(lock.gets, [0, 3_200, 6_400, 9_600]);
  stop.abort();
  await done;
  assert.equal(lock.record?.holderIdentity, "other", "never led, so nothing to release");
});

for (const mode of ["fail", "hang"] as const) {
  test(`a leader whose renewals ${mode} stops leading by renewDeadline, before its lease expires for others`, async () => {
    const registry = new Registry();
    const { time, lock, events, elector, workSignal } = setup({ registry });
    const done = elector.run();
    await time.advanceTo(5_000);
    const lastGood = lock.writes.at(-1)!.atMs;
    assert.equal(lastGood, 4_000);
    lock.mode = mode;
    await time.advanceTo(60_000);
    await done;
    const stopped = events.find((e) => e.startsWith("stopped@"));
    assert.ok(stopped, events.join());
    const stoppedAt = Number(stopped.split("@")[1]);
    // The round starting at 6 s gives up at 6 + 10 s; another replica could take over at 4 + 15 s at the earliest.
    assert.equal(stoppedAt, 16_000);
    assert.ok(stoppedAt < lastGood + FAST.leaseDurationMs);
    assert.equal(workSignal()?.aborted, true);
    assert.equal(elector.isLeader(), false);
    assert.equal(lock.writes.length, 3, "no release after a lost lease");
    assert.deepEqual(await gauge(registry, "lagscale_leader"), [
      { labels: { lease: "test/lease" }, value: 0 },
    ]);
  });
}

test("a leader that finds another holder in the lease stops at once", async () => {
  const { time, lock, events, elector } = setup();
  const done = elector.run();
  await time.advanceTo(3_000);
  lock.put(foreign({ leaseTransitions: 1 }));
  await time.advanceTo(4_000);
  await done;
  assert.deepEqual(events, ["leader:me@0", "started@0", "leader:other@4000", "stopped@4000"]);
  assert.equal(lock.record?.holderIdentity, "other", "not released: it was not ours");
});

test("tryAcquireOrRenew is false, never a throw, on API errors and on a lost race (409)", async () => {
  const { lock, elector } = setup();
  lock.mode = "fail";
  assert.equal(await elector.tryAcquireOrRenew(), false);
  lock.mode = "ok";
  // A released lease: we would take it, but another writer changes it between our read and our write.
  lock.put(foreign({ holderIdentity: "" }));
  lock.writes = [];
  lock.afterGet = () => lock.put(foreign({ holderIdentity: "third" }));
  assert.equal(await elector.tryAcquireOrRenew(), false);
  assert.deepEqual(
    lock.writes.map((w) => w.record.holderIdentity),
    ["third"],
  );
  assert.equal(elector.isLeader(), false);
  // The same without the interference: taken.
  lock.put(foreign({ holderIdentity: "" }));
  lock.afterGet = undefined;
  assert.equal(await elector.tryAcquireOrRenew(), true);
  assert.equal(lock.record?.holderIdentity, "me");
  assert.equal(lock.record?.leaseTransitions, 3);
});

test("health check: a leader stuck past leaseDuration + tolerance is unhealthy", async () => {
  const { time, elector } = setup();
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  await time.advanceTo(0);
  assert.equal(elector.check(5_000), undefined);
  // Freeze the loop by not firing timers, and move the clock alone.
  time.nowMs = 20_001;
  assert.match(elector.check(5_000) ?? "", /failed election to renew leadership on lease test\/lease/);
  assert.equal(elector.check(6_000), undefined);
  stop.abort();
  await time.advanceTo(20_001);
  await done;
  assert.equal(elector.check(0), undefined, "not leading any more");
});

test("run() refuses to run twice at once; identity defaults to POD_NAME plus a random suffix", async () => {
  const { elector } = setup();
  const stop = new AbortController();
  const first = elector.run(stop.signal);
  await assert.rejects(elector.run(), /already running/);
  stop.abort();
  await first;
  const { defaultIdentity } = await import("./elector.js");
  const a = defaultIdentity("pod-1");
  assert.match(a, /^pod-1_[0-9a-f]{12}$/);
  assert.notEqual(a, defaultIdentity("pod-1"));
});

test("combineCallbacks: every party hears every event; stops run in order", async () => {
  const seen: string[] = [];
  const party = (n: string): LeaderCallbacks => ({
    onStartedLeading: async () => {
      seen.push(`${n}:started`);
    },
    onStoppedLeading: async () => {
      await new Promise((r) => setTimeout(r, n === "a" ? 20 : 0));
      seen.push(`${n}:stopped`);
    },
    onNewLeader: (id) => {
      seen.push(`${n}:leader ${id}`);
    },
  });
  const both = combineCallbacks(party("a"), party("b"));
  both.onNewLeader!("x");
  await both.onStartedLeading!(new AbortController().signal);
  await both.onStoppedLeading!();
  assert.deepEqual(seen, ["a:leader x", "b:leader x", "a:started", "b:started", "a:stopped", "b:stopped"]);
});
