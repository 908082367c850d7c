import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decideAttempt,
  initialRecord,
  leaderHealth,
  leaseExpiresAtMs,
  leaseSeconds,
  nextRecord,
  observe,
  recordKey,
  releasedRecord,
  type LeaderRecord,
  type Observation,
} from "./decide.js";
import { jittered, resolveTimings } from "./options.js";

const T0 = "2026-01-01T00:00:00.000000Z";
const T1 = "2026-01-01T00:00:05.000000Z";

function rec(over: Partial<LeaderRecord> = {}): LeaderRecord {
  return {
    holderIdentity: "a",
    leaseDurationSeconds: 15,
    acquireTime: T0,
    renewTime: T0,
    leaseTransitions: 3,
    ...over,
  };
}

test("observe: the holder's time restarts only when the record changes, on the local clock", () => {
  const first = observe(undefined, rec(), 1_000);
  assert.equal(first.observedAtMs, 1_000);
  // Same content read again later: still the first sighting.
  assert.equal(observe(first, rec(), 9_000).observedAtMs, 1_000);
  // Any field changing counts as a renewal seen now, whatever the remote renewTime says.
  for (const change of [
    { renewTime: T1 },
    { holderIdentity: "b" },
    { leaseTransitions: 4 },
    { leaseDurationSeconds: 10 },
    { acquireTime: T1 },
  ]) {
    assert.equal(observe(first, rec(change), 9_000).observedAtMs, 9_000, JSON.stringify(change));
  }
  assert.notEqual(recordKey(rec()), recordKey(rec({ renewTime: T1 })));
});

test("decideAttempt: respect a foreign holder until observedAt + its lease duration (fake clock)", () => {
  const cases: { name: string; record: LeaderRecord; observedAtMs: number; nowMs: number; want: string }[] = [
    {
      name: "our own record is renewed",
      record: rec({ holderIdentity: "me" }),
      observedAtMs: 0,
      nowMs: 1,
      want: "renew",
    },
    {
      name: "our own record is renewed even when expired",
      record: rec({ holderIdentity: "me" }),
      observedAtMs: 0,
      nowMs: 60_000,
      want: "renew",
    },
    {
      name: "empty holder (released) is taken at once",
      record: rec({ holderIdentity: "" }),
      observedAtMs: 0,
      nowMs: 0,
      want: "takeover",
    },
    { name: "foreign holder just seen", record: rec(), observedAtMs: 10_000, nowMs: 10_000, want: "respect" },
    {
      name: "foreign holder 1 ms before expiry",
      record: rec(),
      observedAtMs: 10_000,
      nowMs: 24_999,
      want: "respect",
    },
    {
      name: "foreign holder at expiry",
      record: rec(),
      observedAtMs: 10_000,
      nowMs: 25_000,
      want: "takeover",
    },
    {
      name: "foreign holder long expired",
      record: rec(),
      observedAtMs: 10_000,
      nowMs: 99_000,
      want: "takeover",
    },
    {
      name: "the holder's own (shorter) duration counts",
      record: rec({ leaseDurationSeconds: 4 }),
      observedAtMs: 10_000,
      nowMs: 14_000,
      want: "takeover",
    },
    {
      name: "a record without a duration gets ours (15 s)",
      record: rec({ leaseDurationSeconds: 0 }),
      observedAtMs: 10_000,
      nowMs: 24_000,
      want: "respect",
    },
  ];
  for (const c of cases) {
    const obs: Observation = { record: c.record, key: recordKey(c.record), observedAtMs: c.observedAtMs };
    assert.equal(decideAttempt(obs, "me", c.nowMs, 15_000).kind, c.want, c.name);
  }
});

test("decideAttempt: a holder's renewTime far in the future or past does not matter (clock skew)", () => {
  const skewed = [
    rec({ renewTime: "2099-01-01T00:00:00.000000Z" }),
    rec({ renewTime: "1999-01-01T00:00:00.000000Z" }),
  ];
  for (const record of skewed) {
    const obs = observe(undefined, record, 50_000);
    assert.equal(decideAttempt(obs, "me", 50_001, 15_000).kind, "respect");
    assert.equal(decideAttempt(obs, "me", 65_000, 15_000).kind, "takeover");
    assert.equal(leaseExpiresAtMs(obs, 15_000), 65_000);
  }
});

test("nextRecord: renewal keeps acquireTime and transitions; takeover counts a transition", () => {
  const old = rec({ holderIdentity: "me", acquireTime: T0, renewTime: T0, leaseTransitions: 7 });
  assert.deepEqual(nextRecord({ kind: "renew" }, old, "me", 15, T1), {
    holderIdentity: "me",
    leaseDurationSeconds: 15,
    acquireTime: T0,
    renewTime: T1,
    leaseTransitions: 7,
  });
  assert.deepEqual(nextRecord({ kind: "takeover" }, rec({ leaseTransitions: 7 }), "me", 4, T1), {
    holderIdentity: "me",
    leaseDurationSeconds: 4,
    acquireTime: T1,
    renewTime: T1,
    leaseTransitions: 8,
  });
  assert.deepEqual(initialRecord("me", 15, T0), {
    holderIdentity: "me",
    leaseDurationSeconds: 15,
    acquireTime: T0,
    renewTime: T0,
    leaseTransitions: 0,
  });
  assert.deepEqual(releasedRecord(old, T1), {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: T1,
    renewTime: T1,
    leaseTransitions: 7,
  });
});

test("leaderHealth: unhealthy only when leading and not renewed for leaseDuration + tolerance", () => {
  const base = { leaseDurationMs: 15_000, maxTolerableExpiredMs: 20_000, lease: "ns/l" };
  const cases = [
    { leading: false, lastRenewAtMs: 0, nowMs: 1_000_000, bad: false },
    { leading: true, lastRenewAtMs: undefined, nowMs: 1_000_000, bad: false },
    { leading: true, lastRenewAtMs: 0, nowMs: 35_000, bad: false },
    { leading: true, lastRenewAtMs: 0, nowMs: 35_001, bad: true },
  ];
  for (const c of cases) {
    const msg = leaderHealth({ ...base, ...c });
    assert.equal(msg !== undefined, c.bad, JSON.stringify(c));
    if (msg) assert.match(msg, /ns\/l/);
  }
});

test("timings: client-go defaults, the ordering rule, whole-second leases", () => {
  assert.deepEqual(resolveTimings(), {
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
  assert.deepEqual(resolveTimings({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 }), {
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 1_000,
  });
  const bad: [object, RegExp][] = [
    [{ leaseDurationMs: 10_000 }, /leaseDuration .* greater than renewDeadline/],
    [{ renewDeadlineMs: 2_400 }, /renewDeadline .* greater than 1.2 × retryPeriod/],
    [{ renewDeadlineMs: 2_401 }, /^$/],
    [{ retryPeriodMs: 0 }, /retryPeriodMs must be > 0/],
    [{ retryPeriodMs: -1 }, /must be > 0/],
    [{ leaseDurationMs: Number.NaN }, /must be > 0/],
    [{ leaseDurationMs: 900, renewDeadlineMs: 800, retryPeriodMs: 100 }, /at least 1 s/],
  ];
  for (const [input, re] of bad) {
    if (re.source === "^$") assert.doesNotThrow(() => resolveTimings(input));
    else assert.throws(() => resolveTimings(input), re, JSON.stringify(input));
  }
  assert.equal(leaseSeconds(15_000), 15);
  assert.equal(leaseSeconds(4_500), 5);
});

test("jitter: retryPeriod × [1, 2.2)", () => {
  assert.equal(
    jittered(2_000, 1.2, () => 0),
    2_000,
  );
  assert.equal(
    jittered(2_000, 1.2, () => 0.5),
    3_200,
  );
  assert.ok(jittered(2_000, 1.2, () => 0.999999) < 4_400);
});
