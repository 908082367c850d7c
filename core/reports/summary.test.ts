import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { PartitionReport, SidecarReport } from "./schema.js";
import {
  keepReport,
  newStalls,
  REBALANCE_HOLD_MAX_MS,
  REPORT_STALE_AFTER_MS,
  stallKey,
  summarizeReports,
  UNKNOWN_POD_LAG,
  type KeptReport,
  type TargetPodView,
  type TriggerView,
} from "./summary.js";

const NOW = 1_800_000_000_000;

function part(partition: number, lag: number, over: Partial<PartitionReport> = {}): PartitionReport {
  return {
    topic: "orders",
    partition,
    committedOffset: 100,
    logEndOffset: 100 + lag,
    lag,
    stalledForMs: 0,
    ratePerSecond: 0,
    stalled: false,
    ...over,
  };
}

function report(
  name: string,
  partitions: PartitionReport[],
  over: Partial<SidecarReport> = {},
): SidecarReport {
  return {
    version: 1,
    pod: { namespace: "ns", name, ip: `10.0.0.${name.length}${name.charCodeAt(name.length - 1) % 10}` },
    scaledObject: "so",
    consumerGroup: "g1",
    observedAt: NOW,
    urgent: false,
    state: partitions.some((p) => p.lag > 0) ? "busy" : "idle",
    groupState: "Stable",
    members: 1,
    partitions,
    lag: partitions.reduce((s, p) => s + p.lag, 0),
    ratePerSecond: partitions.reduce((s, p) => s + p.ratePerSecond, 0),
    ...over,
  };
}

const kept = (r: SidecarReport, ageMs = 1000, since?: number): KeptReport =>
  since === undefined
    ? { report: r, receivedAt: NOW - ageMs }
    : { report: r, receivedAt: NOW - ageMs, rebalancingSince: since };
const podOf = (r: SidecarReport, phase = "Running"): TargetPodView => ({
  name: r.pod.name,
  ip: r.pod.ip,
  phase,
});
const trigger: TriggerView = { name: "s0-kafka-orders", consumerGroup: "g1", topic: "orders" };

describe("summarizeReports", () => {
  const stalledA = report("a", [part(0, 40, { stalled: true, stalledForMs: 90_000 }), part(1, 5)], {
    state: "stalled",
  });
  const busyB = report("b", [part(2, 30, { ratePerSecond: 2 })]);
  const idleC = report("c", []);

  const cases: {
    name: string;
    kept: KeptReport[];
    pods: TargetPodView[];
    triggers?: TriggerView[];
    want: Partial<ReturnType<typeof summarizeReports>>;
  }[] = [
    {
      name: "no reports: empty summary, every pod ranks as busy with unknown lag",
      kept: [],
      pods: [podOf(idleC)],
      want: {
        summary: {},
        reportedPods: 0,
        stalls: [],
        pods: [{ name: "c", state: "busy", lag: UNKNOWN_POD_LAG }],
      },
    },
    {
      name: "stalled lag of the trigger's group and topic; rate per measuring pod",
      kept: [kept(stalledA), kept(busyB), kept(idleC)],
      pods: [podOf(stalledA), podOf(busyB), podOf(idleC)],
      want: {
        summary: { stalledLag: { "s0-kafka-orders": 40 } },
        reportedPods: 3,
        ratePerPod: { "s0-kafka-orders": 2 },
        pods: [
          { name: "a", state: "stalled", lag: 45 },
          { name: "b", state: "busy", lag: 30 },
          { name: "c", state: "idle", lag: 0 },
        ],
      },
    },
    {
      name: "a stale report counts as none",
      kept: [kept(stalledA, REPORT_STALE_AFTER_MS + 1)],
      pods: [podOf(stalledA)],
      want: { summary: {}, reportedPods: 0, pods: [{ name: "a", state: "busy", lag: UNKNOWN_POD_LAG }] },
    },
    {
      name: "a report the sidecar could not classify (unsupported) counts as none",
      kept: [kept(report("c", [], { unsupported: "KIP-848 consumer protocol" }))],
      pods: [podOf(idleC)],
      want: { summary: {}, reportedPods: 0, pods: [{ name: "c", state: "busy", lag: UNKNOWN_POD_LAG }] },
    },
    {
      name: "a pod no longer in the target is ignored",
      kept: [kept(stalledA)],
      pods: [podOf(busyB)],
      want: { summary: {}, reportedPods: 0 },
    },
    {
      name: "a pod with another IP (replaced) or not running is ignored",
      kept: [kept(stalledA), kept(busyB)],
      pods: [{ ...podOf(stalledA), ip: "10.9.9.9" }, podOf(busyB, "Pending")],
      want: { summary: {}, reportedPods: 0 },
    },
    {
      name: "another group or topic is not the trigger's stalled lag",
      kept: [kept(stalledA)],
      pods: [podOf(stalledA)],
      triggers: [
        { name: "other-group", consumerGroup: "g2", topic: "orders" },
        { name: "other-topic", consumerGroup: "g1", topic: "payments" },
        { name: "all-topics", consumerGroup: "g1" },
      ],
      want: { summary: { stalledLag: { "all-topics": 40 } } },
    },
    {
      name: "stalled lag is capped at the trigger's lag",
      kept: [kept(stalledA)],
      pods: [podOf(stalledA)],
      triggers: [{ ...trigger, lag: 25 }],
      want: { summary: { stalledLag: { "s0-kafka-orders": 25 } } },
    },
    {
      name: "a running rebalance holds",
      kept: [kept(report("a", [], { state: "rebalancing" }), 1000, NOW - 5000)],
      pods: [podOf(report("a", []))],
      want: { summary: { rebalancing: true } },
    },
    {
      name: "a rebalance past the bound no longer holds",
      kept: [kept(report("a", [], { state: "rebalancing" }), 1000, NOW - REBALANCE_HOLD_MAX_MS - 1)],
      pods: [podOf(report("a", []))],
      want: { summary: {} },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = summarizeReports(c.kept, c.pods, c.triggers ?? [trigger], NOW);
      for (const [k, v] of Object.entries(c.want)) {
        assert.deepEqual(got[k as keyof typeof got], v, k);
      }
    });
  }

  it("names each stalled partition once, with its pod", () => {
    const got = summarizeReports(
      [kept(stalledA), kept(busyB)],
      [podOf(stalledA), podOf(busyB)],
      [trigger],
      NOW,
    );
    assert.deepEqual(got.stalls, [
      { pod: "a", consumerGroup: "g1", topic: "orders", partition: 0, lag: 40, stalledForMs: 90_000 },
    ]);
    assert.deepEqual(newStalls(got.stalls, new Set()), got.stalls);
    assert.deepEqual(newStalls(got.stalls, new Set(got.stalls.map(stallKey))), []);
  });
});

describe("keepReport", () => {
  it("carries the start of a rebalance over and forgets it once the group is stable", () => {
    const reb = report("a", [], { state: "rebalancing" });
    const first = keepReport(undefined, reb, 1000);
    assert.equal(first.rebalancingSince, 1000);
    const second = keepReport(first, report("a", [], { groupState: "CompletingRebalance" }), 3000);
    assert.equal(second.rebalancingSince, 1000);
    assert.equal(keepReport(second, report("a", []), 5000).rebalancingSince, undefined);
  });
});

describe("summarizeReports properties", () => {
  const arbPartition = fc.record({
    partition: fc.nat({ max: 7 }),
    lag: fc.nat({ max: 1000 }),
    stalled: fc.boolean(),
    ratePerSecond: fc.double({ min: 0, max: 50, noNaN: true }),
  });
  const arbReport = fc.record({
    name: fc.constantFrom("a", "b", "c", "d"),
    partitions: fc.uniqueArray(arbPartition, { selector: (p) => p.partition, maxLength: 4 }),
    ageMs: fc.nat({ max: 2 * REPORT_STALE_AFTER_MS }),
  });
  type ArbReport = {
    name: string;
    partitions: { partition: number; lag: number; stalled: boolean; ratePerSecond: number }[];
    ageMs: number;
  };
  const toKept = (r: ArbReport) =>
    kept(
      report(
        r.name,
        r.partitions.map((p) =>
          part(p.partition, p.lag, { stalled: p.stalled, ratePerSecond: p.ratePerSecond }),
        ),
      ),
      r.ageMs,
    );

  it("without fresh reports the summary is empty", () => {
    fc.assert(
      fc.property(fc.array(arbReport, { maxLength: 6 }), (rs) => {
        const stale = rs.map((r) => toKept({ ...r, ageMs: r.ageMs + REPORT_STALE_AFTER_MS + 1 }));
        const pods = ["a", "b", "c", "d"].map((n) => podOf(report(n, [])));
        const got = summarizeReports(stale, pods, [trigger], NOW);
        assert.deepEqual(got.summary, {});
        assert.deepEqual(got.ratePerPod, {});
        assert.equal(got.reportedPods, 0);
        assert.ok(got.pods.every((p) => p.state === "busy" && p.lag === UNKNOWN_POD_LAG));
      }),
    );
  });

  it("stalled lag never exceeds the trigger's lag", () => {
    fc.assert(
      fc.property(fc.array(arbReport, { maxLength: 6 }), fc.nat({ max: 3000 }), (rs, lag) => {
        const pods = ["a", "b", "c", "d"].map((n) => podOf(report(n, [])));
        const got = summarizeReports(rs.map(toKept), pods, [{ ...trigger, lag }], NOW);
        const stalled = got.summary.stalledLag?.[trigger.name] ?? 0;
        assert.ok(stalled <= lag, `${stalled} > ${lag}`);
        assert.ok(stalled >= 0);
      }),
    );
  });
});
