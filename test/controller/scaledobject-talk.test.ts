/**
 * The talk's scenario on the local stack: a 5-partition topic, the demo consumer as a Deployment (pods run by
 * the pod runner), the talk's ScaledObject (lagThreshold 10, min 1, max 5, idle 0, cooldown 30; polling every
 * 5 s instead of 10 to keep the test short), and the controller as a child process. 500 messages scale the
 * consumer to 5; it never goes beyond 5 (the partitions); once the lag is consumed and the cooldown has
 * passed it goes to 0; the Events tell that story in order. `kubectl get scaledobjects` is printed at the
 * peak and at the end.
 *
 * As in the talk, applying the ScaledObject changes nothing at first and it shows READY True, ACTIVE True:
 * the group has committed nothing yet, and under offsetResetPolicy latest each such partition counts as lag 1
 * (KEDA's rule), so 5 partitions give lag 5: active, one replica's worth.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTopic } from "../stack/kafka/index.js";
import {
  condition,
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  groupLag,
  installCrds,
  kafka,
  kafkaTrigger,
  kubectl,
  kubeRest,
  produce,
  scaledObject,
  startController,
  withAdmin,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

test("talk scenario: 500 messages scale the consumer 1 → 5, the lag drains, and after the cooldown it goes to 0", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const t0 = Date.now();
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-talk");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `my-topic-${ns.name}`;
  const group = `g1-${ns.name}`;
  await withAdmin(k, (admin) => createTopic(admin, topic, 5));

  await createDeployment(
    rest,
    consumerDeployment({
      namespace: ns.name,
      name: "kafka-consumer",
      replicas: 1,
      brokers: stack.bootstrapServers,
      topic,
      group,
      sleepSeconds: 1,
    }),
  );
  const controller = await startController({ stack, name: `talk-${ns.name}`, watchNamespaces: [ns.name] });
  t.after(async () => {
    await controller.stop();
  });

  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "kafka-scaledobject",
      target: "kafka-consumer",
      spec: {
        pollingInterval: 5,
        cooldownPeriod: 30,
        idleReplicaCount: 0,
        minReplicaCount: 1,
        maxReplicaCount: 5,
      },
      triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic, lagThreshold: 10 })],
    }),
  );
  const ready = await waitFor(
    "the ScaledObject to be Ready and Active",
    async () => {
      const so = await getScaledObject(rest, ns.name, "kafka-scaledobject");
      return condition(so, "Ready") === "True" && condition(so, "Active") === "True" ? so : undefined;
    },
    30_000,
  );
  assert.deepEqual(ready.metadata.finalizers, ["finalizer.lagscale.io"]);
  assert.equal(condition(ready, "Fallback"), "False");
  assert.equal(ready.status?.currentLag, 5, "5 partitions with nothing committed: lag 1 each");
  const atStart = await kubectl(stack, ["get", "scaledobjects", "-n", ns.name]);
  await new Promise((r) => setTimeout(r, 6_000)); // one more poll
  assert.equal(
    (await deploymentReplicas(rest, ns.name, "kafka-consumer")).spec,
    1,
    "applying it changes nothing",
  );

  // One request's worth of messages.
  await produce(k, topic, 500);
  const produced = Date.now();
  let peak = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    deploymentReplicas(rest, ns.name, "kafka-consumer").then(
      (d) => {
        samples.push(d.spec);
        peak = Math.max(peak, d.spec);
      },
      () => undefined,
    );
  }, 500);
  t.after(() => clearInterval(sampler));

  await waitFor(
    "the consumer to be scaled to 5",
    async () => ((await deploymentReplicas(rest, ns.name, "kafka-consumer")).spec === 5 ? true : undefined),
    90_000,
  );
  const scaledAfter = (Date.now() - produced) / 1000;
  await waitFor(
    "5 ready consumer pods",
    async () => ((await deploymentReplicas(rest, ns.name, "kafka-consumer")).ready === 5 ? true : undefined),
    90_000,
  );
  const atPeak = await kubectl(stack, ["get", "scaledobjects", "-n", ns.name]);
  const soAtPeak = await getScaledObject(rest, ns.name, "kafka-scaledobject");
  assert.equal(condition(soAtPeak, "Active"), "True");
  assert.equal(condition(soAtPeak, "Fallback"), "False");
  assert.equal(soAtPeak?.status?.originalReplicaCount, 1);

  await waitFor(
    "the lag to be consumed",
    async () => ((await withAdmin(k, (a) => groupLag(a, group, topic))) === 0 ? true : undefined),
    240_000,
    1000,
  );
  const drainedAfter = (Date.now() - produced) / 1000;
  await waitFor(
    "the consumer to go to 0 after the cooldown",
    async () => ((await deploymentReplicas(rest, ns.name, "kafka-consumer")).spec === 0 ? true : undefined),
    90_000,
    500,
  );
  const zeroAfter = (Date.now() - produced) / 1000;
  clearInterval(sampler);
  const atEnd = await kubectl(stack, ["get", "scaledobjects", "-n", ns.name]);

  assert.equal(peak, 5, "the consumer reached 5 replicas");
  assert.ok(
    samples.every((n) => n <= 5),
    `never more replicas than partitions: ${samples.join(",")}`,
  );
  // The cooldown counts from the last evaluation that found the ScaledObject active (status.lastActiveTime,
  // whole seconds, rounded down), not from when this test saw the lag at 0 (up to a poll and a query later).
  const soAtEnd = await getScaledObject(rest, ns.name, "kafka-scaledobject");
  const lastActive = Date.parse(soAtEnd?.status?.lastActiveTime ?? "");
  const toZero = controller.logs.find(
    (l) => l.msg === "scaled" && l.scaledObject === `${ns.name}/kafka-scaledobject` && l.to === 0,
  );
  assert.ok(toZero, "the controller logged the scale to 0");
  assert.ok(Number.isFinite(lastActive), `status.lastActiveTime: ${soAtEnd?.status?.lastActiveTime}`);
  const inactiveForS = (Date.parse(String(toZero.time)) - lastActive) / 1000;
  assert.ok(
    inactiveForS >= 30,
    `went to 0 ${inactiveForS.toFixed(1)} s after the last active evaluation (${soAtEnd?.status?.lastActiveTime}); the cooldown is 30 s`,
  );

  const events = await eventsFor(rest, ns.name, "ScaledObject", "kafka-scaledobject");
  const reasons = events.map((e) => e.reason);
  const story = [
    "KEDAScalersStarted",
    "ScaledObjectReady",
    "SuccessfulRescale",
    "KEDAScaleTargetDeactivated",
  ];
  let at = -1;
  for (const r of story) {
    const i = reasons.indexOf(r, at + 1);
    assert.ok(
      i > at,
      `event ${r} after ${story[story.indexOf(r) - 1] ?? "the start"}: ${reasons.join(", ")}`,
    );
    at = i;
  }
  assert.ok(!reasons.includes("KEDAScaleTargetActivated"), "it never was at 0 while active");
  assert.ok(
    events.some((e) => e.reason === "SuccessfulRescale" && /^New size: 5;/.test(e.message)),
    `a rescale to 5: ${events.map((e) => `${e.reason}: ${e.message}`).join("; ")}`,
  );
  assert.match(events.find((e) => e.reason === "KEDAScaleTargetDeactivated")?.message ?? "", /from 5 to 0$/);
  assert.ok(!reasons.includes("KEDAScalerFailed"), `no trigger failed: ${reasons.join(", ")}`);

  const metrics = await controller.metrics();
  assert.match(metrics, /lagscale_kafka_requests_total\{api="ListOffsets"\} [1-9]/);
  assert.match(metrics, /lagscale_current_replicas\{namespace="[^"]+",scaledObject="kafka-scaledobject"\} 0/);

  console.log(
    [
      `talk scenario: 5 replicas ${scaledAfter.toFixed(1)} s after the 500 messages, lag consumed after ${drainedAfter.toFixed(1)} s, 0 replicas after ${zeroAfter.toFixed(1)} s, ${inactiveForS.toFixed(1)} s after the last active evaluation (test ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      `events: ${events.map((e) => `${e.reason}${e.count > 1 ? `×${e.count}` : ""}`).join(" → ")}`,
      "kubectl get scaledobjects, after applying it:",
      atStart.trimEnd(),
      "at the peak:",
      atPeak.trimEnd(),
      "and at the end:",
      atEnd.trimEnd(),
    ].join("\n"),
  );
});
