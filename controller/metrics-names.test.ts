import assert from "node:assert/strict";
import { test } from "node:test";
import { ScaledJobMetrics } from "./scaledjob/metrics.js";
import { ControllerMetrics } from "./metrics.js";
import { KEDA_NAMES, NamedRegistry, renameExposition, type MetricsNames } from "./metrics-names.js";
import { webhookMetrics } from "./webhook/metrics.js";

const labels = {
  namespace: "ns",
  scaledObject: "so",
  scaler: "kafkaScaler",
  triggerIndex: "0",
  metric: "s0-kafka-orders",
  type: "scaledobject",
};

/** Every family name of a text exposition (from its TYPE lines). */
function families(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("# TYPE "))
    .map((l) => l.split(" ")[2] ?? "");
}

async function render(names: MetricsNames): Promise<string> {
  const registry = new NamedRegistry(names);
  const m = new ControllerMetrics(registry, { version: "1.2.3", gitCommit: "abc" });
  new ScaledJobMetrics(registry);
  webhookMetrics(registry).validations.inc({ namespace: "ns", action: "create" });
  m.recordTriggers("ns", "so", [
    { labels, value: 30, active: true, latencySeconds: 0.5, error: false, lag: 35 },
  ]);
  m.recordObject("ns", "so", { paused: false, desired: 3, current: 2, loopLatencySeconds: 0.1 });
  m.setRegistered([{ namespace: "ns", triggerTypes: ["kafka"] }]);
  m.kafkaRequest("OffsetFetch");
  return registry.metrics();
}

test("--metrics-names=keda: each of KEDA's families under KEDA's name, with KEDA's labels and the same values", async () => {
  const lagscale = await render("lagscale");
  const keda = await render("keda");
  const kedaFamilies = families(keda);
  // KEDA's operator metrics of keda-semantics.md §5.1 that lagscale has, and the webhook's of §5.2
  for (const name of Object.values(KEDA_NAMES)) assert.ok(kedaFamilies.includes(name), `${name} is exposed`);
  for (const name of Object.keys(KEDA_NAMES)) assert.ok(!kedaFamilies.includes(name), `${name} is renamed`);
  // lagscale's own families keep their names
  assert.ok(kedaFamilies.includes("lagscale_kafka_lag"));
  assert.ok(kedaFamilies.includes("lagscale_kafka_requests_total"));
  const sample = keda.split("\n").find((l) => l.startsWith("keda_scaler_metrics_value{"));
  assert.ok(sample, "keda_scaler_metrics_value has a series");
  for (const [k, v] of Object.entries(labels)) assert.ok(sample.includes(`${k}="${v}"`), `${k} in ${sample}`);
  assert.match(sample, / 30$/);
  assert.match(keda, /^keda_scaler_active\{.*\} 1$/m);
  assert.match(keda, /^keda_resource_registered_total\{type="scaled_object",namespace="ns"\} 1$/m);
  assert.match(keda, /^keda_trigger_registered_total\{type="kafka"\} 1$/m);
  assert.match(keda, /^keda_webhook_scaled_object_validations_total\{namespace="ns",action="create"\} 1$/m);
  assert.match(keda, /^# TYPE keda_scaled_object_errors_total counter$/m);
  assert.match(keda, /^keda_build_info\{version="1\.2\.3",git_commit="abc",goversion="v\d+/m);
  // the same number of lines: a rename, nothing dropped or added
  assert.equal(keda.split("\n").length, lagscale.split("\n").length);
});

test("--metrics-names=both: every renamed family twice, once under each name", async () => {
  const both = await render("both");
  const names = families(both);
  for (const [ours, theirs] of Object.entries(KEDA_NAMES)) {
    assert.equal(names.filter((n) => n === ours).length, 1, ours);
    assert.equal(names.filter((n) => n === theirs).length, 1, theirs);
  }
  assert.match(both, /^lagscale_scaler_metrics_value\{.*\} 30$/m);
  assert.match(both, /^keda_scaler_metrics_value\{.*\} 30$/m);
  assert.match(both, /^lagscale_build_info\{.*nodeversion="/m);
  assert.match(both, /^keda_build_info\{.*goversion="/m);
  // every sample line sits under its own family's TYPE line
  let family = "";
  for (const line of both.split("\n")) {
    if (line.startsWith("# TYPE ")) family = line.split(" ")[2] ?? "";
    else if (line && !line.startsWith("#")) assert.ok(line.startsWith(family), `${line} under ${family}`);
  }
});

test("--metrics-names=lagscale leaves the text as it is", async () => {
  const text =
    "# HELP lagscale_scaler_active x\n# TYPE lagscale_scaler_active gauge\nlagscale_scaler_active 1\n";
  assert.equal(renameExposition(text, "lagscale"), text);
  assert.doesNotMatch(await render("lagscale"), /keda_/);
});

test("a family whose name only starts like a renamed one is not renamed", () => {
  const text = [
    "# HELP lagscale_scaler_active_extra x",
    "# TYPE lagscale_scaler_active_extra gauge",
    "lagscale_scaler_active_extra 1",
    "",
  ].join("\n");
  assert.equal(renameExposition(text, "keda"), text);
});
