import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  needsLogStart,
  partitionLag,
  type PartitionLagOptions,
  type PartitionOffsets,
} from "./partition-lag.js";
import type { OffsetResetPolicy } from "./options.js";

function opts(
  policy: OffsetResetPolicy,
  scaleToZeroOnInvalidOffset: boolean,
  excludePersistentLag = false,
): PartitionLagOptions {
  return { consumerGroup: "g", offsetResetPolicy: policy, scaleToZeroOnInvalidOffset, excludePersistentLag };
}

function offsets(committed: number | undefined, latest?: number, logStart?: number): PartitionOffsets {
  return { topic: "test-topic", partition: 0, committed, latest, logStart };
}

describe("partitionLag: the lag table", () => {
  // [committed, latest, policy, scaleToZeroOnInvalidOffset, lag, lagWithPersistent, rule]
  const rows: [number, number | undefined, OffsetResetPolicy, boolean, number, number, string][] = [
    [-1, undefined, "latest", false, 1, 1, "no-commit-latest"],
    [-1, 150, "latest", false, 1, 1, "no-commit-latest"],
    [-1, undefined, "latest", true, 0, 0, "no-commit-latest"],
    [-1, 150, "latest", true, 0, 0, "no-commit-latest"],
    [-1, undefined, "earliest", true, 0, 0, "no-commit-earliest-zero"],
    [-1, 150, "earliest", true, 0, 0, "no-commit-earliest-zero"],
    [-1, undefined, "earliest", false, 0, 0, "no-log-end"],
    [-1, 150, "earliest", false, 150, 150, "no-commit-earliest"],
    [100, undefined, "latest", false, 0, 0, "no-log-end"],
    [100, undefined, "earliest", true, 0, 0, "no-log-end"],
    [100, 150, "latest", false, 50, 50, "committed"],
    [100, 150, "earliest", true, 50, 50, "committed"],
    // Negative lag (committed past the log end, e.g. a recreated topic) is kept per partition.
    [200, 150, "latest", false, -50, -50, "committed"],
    [0, 0, "latest", false, 0, 0, "committed"],
  ];
  for (const [c, l, policy, s2z, lag, lagP, rule] of rows) {
    it(`committed ${c}, latest ${l ?? "missing"}, ${policy}, scaleToZeroOnInvalidOffset=${s2z} → ${lag}/${lagP}`, () => {
      const r = partitionLag(opts(policy, s2z), offsets(c, l), undefined);
      assert.deepEqual(r, { ok: true, lag, lagWithPersistent: lagP, rule, remember: undefined });
    });
  }
});

describe("partitionLag: KEDA TestGetLagForPartition_MissingPartition", () => {
  const cases: {
    name: string;
    c: number;
    latest?: number;
    policy: OffsetResetPolicy;
    s2z: boolean;
    lag: number;
  }[] = [
    { name: "scaleToZero, invalid offset, missing partition", c: -1, policy: "earliest", s2z: true, lag: 0 },
    {
      name: "no scaleToZero, invalid offset, missing partition",
      c: -1,
      policy: "earliest",
      s2z: false,
      lag: 0,
    },
    { name: "valid offset, missing partition", c: 100, policy: "earliest", s2z: false, lag: 0 },
    { name: "control: both offsets present", c: 100, latest: 150, policy: "earliest", s2z: false, lag: 50 },
    {
      name: "control: invalid offset, latest, scaleToZero",
      c: -1,
      latest: 150,
      policy: "latest",
      s2z: true,
      lag: 0,
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const r = partitionLag(opts(t.policy, t.s2z), offsets(t.c, t.latest), undefined);
      assert.ok(r.ok);
      assert.equal(r.lag, t.lag);
      assert.equal(r.lagWithPersistent, t.lag);
    });
  }
});

describe("partitionLag: D4 earliest with nothing committed counts only what is still in the log", () => {
  it("D4: lag = log-end − log-start when the log start is known", () => {
    const r = partitionLag(opts("earliest", false), offsets(-1, 150, 120), undefined);
    assert.deepEqual(r, {
      ok: true,
      lag: 30,
      lagWithPersistent: 30,
      rule: "no-commit-earliest",
      remember: undefined,
    });
  });
  it("D4: an empty log after retention gives 0 lag, not the log-end offset", () => {
    const r = partitionLag(opts("earliest", false), offsets(-1, 150, 150), undefined);
    assert.ok(r.ok);
    assert.equal(r.lag, 0);
  });
  it("D4: falls back to the log-end offset when the log start is unknown", () => {
    const r = partitionLag(opts("earliest", false), offsets(-1, 150, undefined), undefined);
    assert.ok(r.ok);
    assert.equal(r.lag, 150);
  });
  it("D4: scaleToZeroOnInvalidOffset still wins", () => {
    const r = partitionLag(opts("earliest", true), offsets(-1, 150, 100), undefined);
    assert.ok(r.ok);
    assert.equal(r.lag, 0);
  });
  it("D4: does not apply to a committed partition, nor to latest", () => {
    const committed = partitionLag(opts("earliest", false), offsets(110, 150, 120), undefined);
    assert.ok(committed.ok);
    assert.equal(committed.lag, 40);
    const latest = partitionLag(opts("latest", false), offsets(-1, 150, 120), undefined);
    assert.ok(latest.ok);
    assert.equal(latest.lag, 1);
  });
});

describe("partitionLag: excludePersistentLag", () => {
  const exclude = opts("latest", false, true);
  it("no previous record: full lag, remember the committed offset", () => {
    assert.deepEqual(partitionLag(exclude, offsets(100, 150), undefined), {
      ok: true,
      lag: 50,
      lagWithPersistent: 50,
      rule: "committed",
      remember: 100,
    });
  });
  it("committed offset unchanged: lag 0, lagWithPersistent keeps the lag", () => {
    assert.deepEqual(partitionLag(exclude, offsets(100, 150), 100), {
      ok: true,
      lag: 0,
      lagWithPersistent: 50,
      rule: "persistent",
      remember: 100,
    });
  });
  it("committed offset moved: full lag, remember the new offset", () => {
    assert.deepEqual(partitionLag(exclude, offsets(120, 150), 100), {
      ok: true,
      lag: 30,
      lagWithPersistent: 30,
      rule: "committed",
      remember: 120,
    });
  });
  it("does not apply to a partition with nothing committed (returns earlier, as KEDA)", () => {
    const r = partitionLag(exclude, offsets(-1, 150), -1);
    assert.deepEqual(r, {
      ok: true,
      lag: 1,
      lagWithPersistent: 1,
      rule: "no-commit-latest",
      remember: undefined,
    });
  });
  it("does not apply when the log-end offset is missing", () => {
    const r = partitionLag(exclude, offsets(100, undefined), 100);
    assert.deepEqual(r, { ok: true, lag: 0, lagWithPersistent: 0, rule: "no-log-end", remember: undefined });
  });
  it("ignores the previous record when excludePersistentLag is off", () => {
    const r = partitionLag(opts("latest", false, false), offsets(100, 150), 100);
    assert.ok(r.ok);
    assert.equal(r.lag, 50);
  });
});

describe("partitionLag: errors", () => {
  it("no entry in the OffsetFetch response is an error (even for latest + nothing committed)", () => {
    const r = partitionLag(opts("latest", true), offsets(undefined, 150), undefined);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : "", /error finding offset block for topic test-topic and partition 0/);
  });
  it("a per-partition error code in the OffsetFetch response is an error", () => {
    const r = partitionLag(
      opts("latest", false),
      { ...offsets(100, 150), committedError: "UNSTABLE_OFFSET_COMMIT" },
      undefined,
    );
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : "", /UNSTABLE_OFFSET_COMMIT/);
  });
});

describe("needsLogStart", () => {
  const cases: [OffsetResetPolicy, boolean, number | undefined, boolean][] = [
    ["earliest", false, -1, true],
    ["earliest", true, -1, false],
    ["earliest", false, 10, false],
    ["earliest", false, undefined, false],
    ["latest", false, -1, false],
  ];
  for (const [policy, s2z, committed, expected] of cases) {
    it(`D4: ${policy}, scaleToZeroOnInvalidOffset=${s2z}, committed ${committed} → ${expected}`, () => {
      assert.equal(
        needsLogStart({ offsetResetPolicy: policy, scaleToZeroOnInvalidOffset: s2z }, committed),
        expected,
      );
    });
  }
});
