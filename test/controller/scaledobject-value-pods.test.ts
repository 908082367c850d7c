/**
 * `metricType: Value` counts the target's ready pods from a pod watch, not from a pod list per evaluation,
 * on the local stack's API server, broker and pod runner: the controller talks to the API server through a
 * counting proxy (test/support/counting-proxy.ts). A ScaledObject with a Value trigger polling every second
 * targets a Deployment of 2 running pods (minReplicaCount 2, no lag); once its pods are ready and it is
 * evaluated, ten seconds of evaluations list no pods (the first evaluations may, before the watch has
 * listed), the pods are watched, and the target keeps its 2 replicas.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { countByVerb, startCountingProxy } from "../support/counting-proxy.js";
import {
  commitAtEnd,
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  deploymentReplicas,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  startController,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { counterTotal } from "../support/prom-text.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

test("a Value trigger's ready pods come from a pod watch: evaluations list no pods", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-value");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `value-${ns.name}`;
  const group = `g-value-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 3);
    await commitAtEnd(admin, group, topic);
  });
  await createDeployment(rest, sleeperDeployment(ns.name, "worker", 2));
  await waitFor(
    "2 ready pods",
    async () => ((await deploymentReplicas(rest, ns.name, "worker")).ready === 2 ? true : undefined),
    120_000,
  );

  const proxy = await startCountingProxy(stack.kubeconfig, mkdtempSync(path.join(tmpdir(), "so-value-")));
  t.after(() => proxy.close());
  const controller = await startController({
    stack: { ...stack, kubeconfig: proxy.kubeconfig },
    name: `value-${ns.name}`,
    watchNamespaces: [ns.name],
  });
  t.after(async () => {
    await controller.stop();
  });
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "worker",
      target: "worker",
      spec: { pollingInterval: 1, minReplicaCount: 2, maxReplicaCount: 4 },
      triggers: [{ ...kafkaTrigger({ brokers: stack.bootstrapServers, group, topic }), metricType: "Value" }],
    }),
  );
  await waitFor(
    "the ScaledObject Ready with lag 0",
    async () => {
      const so = await getScaledObject(rest, ns.name, "worker");
      return condition(so, "Ready") === "True" && so?.status?.currentLag === 0 ? so : undefined;
    },
    60_000,
  );
  await new Promise((r) => setTimeout(r, 3000));
  const evaluations = async () =>
    counterTotal(
      await controller.metrics(),
      "lagscale_scaled_object_evaluations_total",
      `namespace="${ns.name}"`,
    );
  const before = { seen: proxy.seen.length, evaluations: await evaluations() };
  await new Promise((r) => setTimeout(r, 10_000));
  const window = proxy.seen.slice(before.seen);
  const evaluated = (await evaluations()) - before.evaluations;
  assert.ok(evaluated >= 5, `a ScaledObject polling every second was evaluated ${evaluated} times in 10 s`);
  const podReads = window.filter((r) => r.verb !== "watch" && r.path.endsWith("/pods"));
  assert.deepEqual(
    podReads,
    [],
    `${evaluated} evaluations listed pods: ${JSON.stringify(countByVerb(window))}`,
  );
  assert.ok(
    proxy.seen.some((r) => r.verb === "watch" && r.path === `/api/v1/namespaces/${ns.name}/pods`),
    "the pods are watched",
  );
  assert.equal((await deploymentReplicas(rest, ns.name, "worker")).spec, 2, "the target keeps its replicas");
});
