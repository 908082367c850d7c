/**
 * D3 (KEDA-DIFFERENCES.md): a kafka trigger without `topic` whose consumer group has never committed has no
 * topics to read. lagscale reports lag 0 and the trigger inactive, and says why in a KEDAScalerInfo event,
 * instead of evaluating every topic of the cluster. Real API server, real broker, the controller as a process.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  startController,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

test("D3: no topic and a group that never committed: lag 0, inactive, and an event says why", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-notopic");
  t.after(ns.remove);
  const group = `g-never-committed-${ns.name}`;

  await createDeployment(rest, sleeperDeployment(ns.name, "consumer", 2));
  const controller = await startController({ stack, name: `notopic-${ns.name}`, watchNamespaces: [ns.name] });
  t.after(() => controller.stop());
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "notopic",
      target: "consumer",
      spec: { pollingInterval: 2, minReplicaCount: 2, maxReplicaCount: 5 },
      // An empty topic is no topic (KEDA trims and treats empty as absent).
      triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic: "" })],
    }),
  );

  const info = await waitFor(
    "the KEDAScalerInfo event for D3",
    async () => {
      const events = await eventsFor(rest, ns.name, "ScaledObject", "notopic");
      return events.find((e) => e.reason === "KEDAScalerInfo" && /no committed offsets/.test(e.message));
    },
    60_000,
  );
  assert.match(info.message, new RegExp(`consumer group '${group}'`));
  const so = await waitFor(
    "status with the lag",
    async () => {
      const x = await getScaledObject(rest, ns.name, "notopic");
      return x?.status?.currentLag !== undefined ? x : undefined;
    },
    60_000,
  );
  assert.equal(so.status?.currentLag, 0);
  assert.equal(condition(so, "Active"), "False");
  assert.equal(condition(so, "Ready"), "True", "no topics is not an error");
  assert.equal((await deploymentReplicas(rest, ns.name, "consumer")).spec, 2, "kept at minReplicaCount");
});
