import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { startHttpServer } from "../core/http/server.js";
import { ControllerMetrics } from "./metrics.js";

const labels = {
  namespace: "ns",
  scaledObject: "so",
  scaler: "kafkaScaler",
  triggerIndex: "0",
  metric: "s0-kafka-orders",
  type: "scaledobject",
};

test("/metrics serves the registry; /healthz and /readyz follow their checks", async (t) => {
  const metrics = new ControllerMetrics(new Registry(), { version: "1.2.3", gitCommit: "abc" });
  metrics.recordTriggers("ns", "so", [
    { labels, value: 30, active: true, latencySeconds: 0.01, error: false, lag: 35 },
  ]);
  metrics.recordObject("ns", "so", { paused: false, desired: 3, current: 2 });
  metrics.kafkaRequest("ListOffsets");
  let healthy: string | undefined = "leader lease expired";
  const server = await startHttpServer({
    name: "test",
    host: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    healthz: { leader: () => healthy },
    readyz: { informers: () => undefined },
  });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;

  const m = await fetch(`${base}/metrics`);
  assert.equal(m.status, 200);
  const text = await m.text();
  assert.match(text, /lagscale_build_info\{version="1\.2\.3",git_commit="abc"/);
  const value = text.split("\n").find((l) => l.startsWith("lagscale_scaler_metrics_value{"));
  assert.ok(value, "lagscale_scaler_metrics_value has a series");
  for (const [k, v] of Object.entries(labels)) assert.ok(value.includes(`${k}="${v}"`), `${k} in ${value}`);
  assert.match(value, / 30$/);
  assert.match(text, /lagscale_kafka_lag\{namespace="ns",scaledObject="so",trigger="s0-kafka-orders"\} 35/);
  assert.match(text, /lagscale_desired_replicas\{namespace="ns",scaledObject="so"\} 3/);
  assert.match(text, /lagscale_kafka_requests_total\{api="ListOffsets"\} 1/);

  const h1 = await fetch(`${base}/healthz`);
  assert.equal(h1.status, 500);
  assert.match(await h1.text(), /\[-\]leader failed: leader lease expired/);
  healthy = undefined;
  const h2 = await fetch(`${base}/healthz`);
  assert.equal(h2.status, 200);
  assert.equal(await h2.text(), "ok");
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});

test("series of a deleted object or a removed trigger are gone", async () => {
  const metrics = new ControllerMetrics(new Registry(), { version: "x", gitCommit: "y" });
  const second = { ...labels, triggerIndex: "1", metric: "s1-kafka-other" };
  metrics.recordTriggers("ns", "so", [
    { labels, value: 1, active: true, error: false, lag: 1 },
    { labels: second, value: 2, active: true, error: false, lag: 2 },
  ]);
  metrics.recordObject("ns", "so", { paused: true, desired: 1, current: 1 });
  metrics.setRegistered([{ namespace: "ns", triggerTypes: ["kafka", "kafka"] }]);
  let text = await metrics.registry.metrics();
  assert.match(text, /s1-kafka-other/);
  assert.match(text, /lagscale_trigger_registered_total\{type="kafka"\} 2/);
  assert.match(text, /lagscale_resource_registered_total\{type="scaled_object",namespace="ns"\} 1/);

  metrics.recordTriggers("ns", "so", [{ labels, value: 1, active: true, error: false, lag: 1 }]);
  text = await metrics.registry.metrics();
  assert.doesNotMatch(text, /s1-kafka-other/);

  metrics.forgetObject("ns", "so");
  metrics.setRegistered([]);
  text = await metrics.registry.metrics();
  assert.doesNotMatch(text, /scaledObject="so"/);
  assert.doesNotMatch(text, /lagscale_resource_registered_total\{/);
  assert.match(text, /lagscale_trigger_registered_total\{type="kafka"\} 0/);
});
