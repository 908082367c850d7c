import assert from "node:assert/strict";
import { it } from "node:test";
import type { SidecarReport } from "../../core/reports/schema.js";
import { ReportStore } from "./store.js";

const report = (name: string, state: SidecarReport["state"] = "idle"): SidecarReport => ({
  version: 1,
  pod: { namespace: "shop", name, ip: "127.1.0.1" },
  scaledObject: "consumer",
  consumerGroup: "g1",
  observedAt: 0,
  urgent: false,
  state,
  groupState: "Stable",
  members: 1,
  partitions: [],
  lag: 0,
  ratePerSecond: 0,
});

it("keeps the latest report per pod, carries a running rebalance over, and drops old ones", () => {
  const store = new ReportStore(60_000);
  store.put("shop/consumer", report("a", "rebalancing"), 1000);
  store.put("shop/consumer", report("a", "rebalancing"), 3000);
  store.put("shop/consumer", report("b"), 2000);
  const kept = store.list("shop/consumer", 3000);
  assert.deepEqual(
    kept.map((k) => [k.report.pod.name, k.receivedAt, k.rebalancingSince]),
    [
      ["a", 3000, 1000],
      ["b", 2000, undefined],
    ],
  );
  assert.deepEqual(
    store.list("shop/consumer", 62_500).map((k) => k.report.pod.name),
    ["a"],
    "b is older than 60 s",
  );
  store.forget("shop/consumer");
  assert.deepEqual(store.list("shop/consumer", 62_500), []);
  store.put("shop/other", report("c"), 0);
  store.clear();
  assert.equal(store.size(), 0);
});
