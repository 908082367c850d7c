/**
 * Pause annotations and deletion on the local stack, with the controller as a child process:
 * `paused` freezes the target where it is (a manual change stays), `paused-replicas` sets it and holds it,
 * removing them resumes scaling, each step visible in the Paused condition, pausedReplicaCount and Events;
 * deleting a ScaledObject with restoreToOriginalReplicaCount puts the target back to its replica count from
 * before lagscale scaled it, without it leaves the target alone, and a ScaledObject whose target is gone is
 * still finalized.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../stack/process.js";
import {
  commitAtEnd,
  condition,
  createDeployment,
  createNamespace,
  createTestTopic,
  createScaledObject,
  deleteScaledObject,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  patchScaledObject,
  produce,
  scaledObject,
  setDeploymentReplicas,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

test(
  "pause, paused-replicas, unpause; restoreToOriginalReplicaCount on delete",
  { concurrency: true },
  async (t) => {
    const stack = loadStack();
    const missing = podRunnerMissing(stack);
    if (missing) return t.skip(missing);
    const rest = kubeRest(stack);
    t.after(() => rest.close());
    await installCrds(stack);
    const ns = await createNamespace(stack, "so-pause");
    t.after(ns.remove);
    const k = kafka(stack.bootstrapServers);
    const controller = await startController({ stack, name: `pause-${ns.name}`, watchNamespaces: [ns.name] });
    t.after(async () => {
      await controller.stop();
    });

    /** A target at `replicas` and a ScaledObject whose lag (200 on 5 partitions) asks for 5. */
    const setup = async (name: string, replicas: number, spec: Record<string, unknown> = {}) => {
      const topic = `${name}-${ns.name}`;
      const group = `g-${name}-${ns.name}`;
      await withAdmin(k, async (admin) => {
        await createTestTopic(admin, topic, 5);
        await commitAtEnd(admin, group, topic);
      });
      await produce(k, topic, 200);
      await createDeployment(rest, sleeperDeployment(ns.name, name, replicas));
      await createScaledObject(
        rest,
        scaledObject({
          namespace: ns.name,
          name,
          target: name,
          spec: { pollingInterval: 2, minReplicaCount: 1, maxReplicaCount: 5, ...spec },
          triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic })],
        }),
      );
      await waitForReplicas(rest, ns.name, name, 5, 30_000);
    };
    const annotate = (name: string, annotations: Record<string, string | null>) =>
      patchScaledObject(rest, ns.name, name, { metadata: { annotations } });

    await Promise.all([
      t.test("paused freezes, paused-replicas sets and holds, unpausing resumes", async () => {
        await setup("paused", 1);
        await annotate("paused", { "autoscaling.keda.sh/paused": "true" });
        await waitFor(
          "Paused=True",
          async () =>
            condition(await getScaledObject(rest, ns.name, "paused"), "Paused") === "True" ? true : undefined,
          60_000,
        );
        await setDeploymentReplicas(rest, ns.name, "paused", 3);
        await sleep(6_000); // three polls: lag still asks for 5
        assert.equal(
          (await deploymentReplicas(rest, ns.name, "paused")).spec,
          3,
          "paused: a manual change stays",
        );

        await annotate("paused", { "lagscale.io/paused-replicas": "2" });
        await waitForReplicas(rest, ns.name, "paused", 2, 20_000);
        // the status is written just after the /scale write
        const held = await waitFor(
          "paused: status.pausedReplicaCount",
          async () => {
            const o = await getScaledObject(rest, ns.name, "paused");
            return o?.status?.pausedReplicaCount !== undefined ? o : undefined;
          },
          10_000,
        );
        assert.equal(held.status?.pausedReplicaCount, 2);
        await sleep(4_000);
        assert.equal((await deploymentReplicas(rest, ns.name, "paused")).spec, 2, "held at paused-replicas");

        await annotate("paused", { "autoscaling.keda.sh/paused": null, "lagscale.io/paused-replicas": null });
        await waitForReplicas(rest, ns.name, "paused", 5, 20_000);
        const resumed = await waitFor(
          "resumed: the Paused condition",
          async () => {
            const o = await getScaledObject(rest, ns.name, "paused");
            return condition(o, "Paused") !== "True" ? o : undefined;
          },
          10_000,
        );
        assert.equal(condition(resumed, "Paused"), "False");
        assert.equal(resumed?.status?.pausedReplicaCount, undefined);
        const reasons = (await eventsFor(rest, ns.name, "ScaledObject", "paused")).map((e) => e.reason);
        const p = reasons.indexOf("ScaledObjectPaused");
        assert.ok(
          p >= 0 && reasons.indexOf("ScaledObjectUnpaused") > p,
          `paused, then unpaused: ${reasons.join(", ")}`,
        );
      }),

      t.test(
        "restoreToOriginalReplicaCount puts the target back when the ScaledObject is deleted",
        async () => {
          await setup("restore", 2, { advanced: { restoreToOriginalReplicaCount: true } });
          // the status is written just after the /scale write
          const original = await waitFor(
            "status.originalReplicaCount",
            async () => {
              return (await getScaledObject(rest, ns.name, "restore"))?.status?.originalReplicaCount;
            },
            60_000,
          );
          assert.equal(original, 2);
          await deleteScaledObject(rest, ns.name, "restore");
          await waitFor(
            "the ScaledObject to be gone",
            async () => ((await getScaledObject(rest, ns.name, "restore")) === undefined ? true : undefined),
            60_000,
          );
          assert.equal((await deploymentReplicas(rest, ns.name, "restore")).spec, 2, "back to 2");
          const reasons = (await eventsFor(rest, ns.name, "ScaledObject", "restore")).map((e) => e.reason);
          assert.ok(reasons.includes("ScaledObjectDeleted"), reasons.join(", "));
        },
      ),

      t.test("without restoreToOriginalReplicaCount the target stays where it is", async () => {
        await setup("keep", 2);
        await deleteScaledObject(rest, ns.name, "keep");
        await waitFor(
          "the ScaledObject to be gone",
          async () => ((await getScaledObject(rest, ns.name, "keep")) === undefined ? true : undefined),
          60_000,
        );
        await sleep(4_000);
        assert.equal((await deploymentReplicas(rest, ns.name, "keep")).spec, 5);
      }),

      t.test("a ScaledObject whose target is gone is still finalized", async () => {
        await setup("gone", 1, { advanced: { restoreToOriginalReplicaCount: true } });
        await rest.delete(`/apis/apps/v1/namespaces/${ns.name}/deployments/gone`);
        await waitFor(
          "Ready=False: the target is missing",
          async () => {
            const so = await getScaledObject(rest, ns.name, "gone");
            return condition(so, "Ready") === "False" ? so : undefined;
          },
          60_000,
        );
        await deleteScaledObject(rest, ns.name, "gone");
        await waitFor(
          "the ScaledObject to be gone",
          async () => ((await getScaledObject(rest, ns.name, "gone")) === undefined ? true : undefined),
          60_000,
        );
      }),
    ]);
  },
);
