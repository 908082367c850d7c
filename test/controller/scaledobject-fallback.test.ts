/**
 * Fallback on the local stack, with a private Kafka broker that the test stops and starts again (the shared
 * one is never disturbed): a container through testcontainers when an engine is usable, else a local one. With `fallback: {failureThreshold: 2, replicas: 3}`, the third failed evaluation
 * puts the target at 3; without fallback and with minReplicaCount 0 the target keeps its replicas, whatever
 * the cooldown (Ready False, TriggerError). Neither target is ever at 0 while Kafka is unreachable (D5). When the broker is back,
 * the fallback ends and scaling follows the lag again.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  destroyKafka,
  PINNED_KAFKA_VERSION,
  restartKafka,
  startKafka,
  stopKafka,
} from "../stack/kafka/index.js";
import { testcontainersSkipReason } from "../stack/containers/testcontainers.js";
import { cacheDir } from "../stack/paths.js";
import { sleep } from "../stack/process.js";
import type { KafkaInfo } from "../stack/types.js";
import {
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  sampleReplicas,
  scaledObject,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

test("fallback: Kafka stopped → fallback.replicas after failureThreshold, never 0; recovery when it returns", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  if (stack.kafka.kind === "external")
    return t.skip("needs a broker lagscale can stop (not KAFKA_BOOTSTRAP_SERVERS)");
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-fallback-kafka-"));
  let broker: KafkaInfo = await startKafka({
    stateDir: dir,
    cacheDir: cacheDir(),
    sasl: false,
    // through testcontainers where a container engine is usable (podman's socket here), else the local kind
    kind: (await testcontainersSkipReason(stack)) === undefined ? "testcontainers" : "local",
    version: stack.kafka.version === "external" ? PINNED_KAFKA_VERSION : stack.kafka.version,
  });
  t.diagnostic(`private broker: ${broker.kind} ${broker.bootstrapServers.join(",")}`);
  t.after(async () => {
    await destroyKafka(broker);
    rmSync(dir, { recursive: true, force: true });
  });
  const ns = await createNamespace(stack, "so-fallback");
  t.after(ns.remove);
  const brokers = broker.bootstrapServers;
  const k = kafka(brokers);
  const topic = `fallback-${ns.name}`;
  await withAdmin(k, (admin) => createTestTopic(admin, topic, 5));
  // Nobody ever commits: with offsetResetPolicy latest each partition counts lag 1, so lag 5, one replica.
  const trigger = (group: string) => kafkaTrigger({ brokers, group, topic });

  await createDeployment(rest, sleeperDeployment(ns.name, "with-fallback", 1));
  await createDeployment(rest, sleeperDeployment(ns.name, "without", 2));
  const controller = await startController({
    stack,
    name: `fallback-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "with-fallback",
      target: "with-fallback",
      spec: {
        pollingInterval: 2,
        minReplicaCount: 1,
        maxReplicaCount: 5,
        fallback: { failureThreshold: 2, replicas: 3 },
        advanced: {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
        },
      },
      triggers: [trigger(`g-with-${ns.name}`)],
    }),
  );
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "without",
      target: "without",
      spec: { pollingInterval: 2, minReplicaCount: 0, maxReplicaCount: 5, cooldownPeriod: 0 },
      triggers: [trigger(`g-without-${ns.name}`)],
    }),
  );
  await waitFor(
    "both ScaledObjects Ready and Active",
    async () => {
      for (const name of ["with-fallback", "without"]) {
        const so = await getScaledObject(rest, ns.name, name);
        if (condition(so, "Ready") !== "True" || condition(so, "Active") !== "True") return undefined;
      }
      return true;
    },
    60_000,
  );
  const withSamples = sampleReplicas(rest, ns.name, "with-fallback");
  const withoutSamples = sampleReplicas(rest, ns.name, "without");
  t.after(() => {
    withSamples.stop();
    withoutSamples.stop();
  });

  const stoppedAt = Date.now();
  await stopKafka(broker);
  await waitForReplicas(rest, ns.name, "with-fallback", 3, 90_000);
  const fallbackAfter = (Date.now() - stoppedAt) / 1000;
  // the status is written just after the /scale write
  const inFallback = await waitFor(
    "Fallback=True",
    async () => {
      const so = await getScaledObject(rest, ns.name, "with-fallback");
      return condition(so, "Fallback") === "True" ? so : undefined;
    },
    60_000,
  );
  const health = Object.values(inFallback?.status?.health ?? {})[0];
  assert.equal(health?.status, "Failing");
  assert.ok((health?.numberOfFailures ?? 0) > 2, `failures beyond the threshold: ${JSON.stringify(health)}`);
  const without = await waitFor(
    "Ready=False TriggerError without fallback",
    async () => {
      const so = await getScaledObject(rest, ns.name, "without");
      const ready = so?.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.status === "False" && ready.reason === "TriggerError" ? so : undefined;
    },
    60_000,
  );
  assert.equal(condition(without, "Fallback"), "False");
  await sleep(6_000); // three more failed polls
  const outage = [...withSamples.values];
  const outageWithout = [...withoutSamples.values];

  broker = await restartKafka(broker);
  const restartedAt = Date.now();
  await waitFor(
    "the fallback to end",
    async () => {
      const so = await getScaledObject(rest, ns.name, "with-fallback");
      return condition(so, "Fallback") === "False" && condition(so, "Ready") === "True" ? true : undefined;
    },
    60_000,
  );
  await waitForReplicas(rest, ns.name, "with-fallback", 1, 60_000); // lag 5 asks for 1 again
  const recoveredAfter = (Date.now() - restartedAt) / 1000;
  await waitFor(
    "Ready=True again without fallback",
    async () =>
      condition(await getScaledObject(rest, ns.name, "without"), "Ready") === "True" ? true : undefined,
    60_000,
  );

  assert.ok(outage.length > 10 && outage.every((n) => n > 0), `never 0 with fallback: ${outage.join(",")}`);
  assert.ok(
    outageWithout.length > 10 && outageWithout.every((n) => n > 0 && n === outageWithout[0]),
    `unchanged and never 0 without fallback: ${outageWithout.join(",")}`,
  );
  const reasons = (await eventsFor(rest, ns.name, "ScaledObject", "with-fallback")).map((e) => e.reason);
  const a = reasons.indexOf("ScaledObjectFallbackActivated");
  assert.ok(a >= 0 && reasons.indexOf("ScaledObjectFallbackDeactivated") > a, reasons.join(", "));
  assert.ok(reasons.includes("KEDAScalerFailed"), reasons.join(", "));
  console.log(
    `fallback: 3 replicas ${fallbackAfter.toFixed(1)} s after the broker stopped; back to 1 replica ${recoveredAfter.toFixed(1)} s after it restarted`,
  );
});
