import assert from "node:assert/strict";
import { it } from "node:test";
import { Registry } from "prom-client";
import type { SidecarReport } from "../../core/reports/schema.js";
import { REPORT_STALE_AFTER_MS } from "../../core/reports/summary.js";
import { ReportMetrics } from "./metrics.js";
import { ReportStore } from "./store.js";

const report = (name: string, state: SidecarReport["state"], lag: number): SidecarReport => ({
  version: 1,
  pod: { namespace: "shop", name, ip: "127.1.0.1" },
  scaledObject: "consumer",
  consumerGroup: "g1",
  observedAt: 0,
  urgent: false,
  state,
  groupState: "Stable",
  members: 2,
  partitions: [],
  lag,
  ratePerSecond: 0,
});

it("shows each pod's state and lag from its latest fresh report, and drops a pod whose report went stale", async () => {
  let now = 1_000;
  const store = new ReportStore();
  const registry = new Registry();
  new ReportMetrics(registry, store, () => now);
  store.put("shop/consumer", report("a", "busy", 7), 1_000);
  store.put("shop/consumer", report("b", "idle", 0), 1_000 + REPORT_STALE_AFTER_MS);
  const lines = async () =>
    (await registry.metrics()).split("\n").filter((l) => /^lagscale_report_pod_(state|lag)\{/.test(l));

  const fresh = await lines();
  assert.ok(fresh.includes('lagscale_report_pod_state{scaledobject="shop/consumer",pod="a",state="busy"} 1'));
  assert.ok(fresh.includes('lagscale_report_pod_state{scaledobject="shop/consumer",pod="a",state="idle"} 0'));
  assert.ok(fresh.includes('lagscale_report_pod_lag{scaledobject="shop/consumer",pod="a"} 7'));
  assert.ok(fresh.includes('lagscale_report_pod_state{scaledobject="shop/consumer",pod="b",state="idle"} 1'));

  now = 1_000 + REPORT_STALE_AFTER_MS + 1;
  const later = await lines();
  assert.ok(!later.some((l) => l.includes('pod="a"')), "a's report is stale: no series");
  assert.ok(later.includes('lagscale_report_pod_state{scaledobject="shop/consumer",pod="b",state="idle"} 1'));
});
