/**
 * Replica bounds on the local stack, with the controller as a child process: maxReplicaCount clamps the
 * HPA step, minReplicaCount raises an idle target, idleReplicaCount is where an inactive target goes and
 * activation goes from there to minReplicaCount, and initialCooldownPeriod holds a new ScaledObject's target
 * up for its first seconds. The targets' pods only sleep; lag comes from messages no one consumes (or is
 * removed by committing the group at the end of the topic), so every count is deterministic.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../stack/process.js";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createTestTopic,
  createScaledObject,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
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

test("min/max clamps, idle replicas and initialCooldownPeriod", { concurrency: true }, async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-bounds");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const controller = await startController({ stack, name: `bounds-${ns.name}`, watchNamespaces: [ns.name] });
  t.after(async () => {
    await controller.stop();
  });

  /** A topic, a group and a sleeper Deployment of their own; `lag` messages left unconsumed (0: committed). */
  const setup = async (name: string, replicas: number, lag: number) => {
    const topic = `${name}-${ns.name}`;
    const group = `g-${name}-${ns.name}`;
    await withAdmin(k, async (admin) => {
      await createTestTopic(admin, topic, 5);
      if (lag === 0) {
        await produce(k, topic, 10);
        await commitAtEnd(admin, group, topic);
      }
    });
    if (lag > 0) {
      await withAdmin(k, (admin) => commitAtEnd(admin, group, topic));
      await produce(k, topic, lag);
    }
    await createDeployment(rest, sleeperDeployment(ns.name, name, replicas));
    return { topic, group, trigger: kafkaTrigger({ brokers: stack.bootstrapServers, group, topic }) };
  };

  await Promise.all([
    t.test("maxReplicaCount clamps the HPA step", async () => {
      const { trigger } = await setup("max", 1, 200); // lag 200 on 5 partitions asks for 5
      const samples = sampleReplicas(rest, ns.name, "max");
      await createScaledObject(
        rest,
        scaledObject({
          namespace: ns.name,
          name: "max",
          target: "max",
          spec: { pollingInterval: 2, minReplicaCount: 1, maxReplicaCount: 3 },
          triggers: [trigger],
        }),
      );
      await waitForReplicas(rest, ns.name, "max", 3, 30_000);
      await sleep(6_000); // three more polls
      samples.stop();
      assert.equal((await deploymentReplicas(rest, ns.name, "max")).spec, 3);
      assert.ok(
        samples.values.every((n) => n <= 3),
        `never above maxReplicaCount: ${samples.values.join(",")}`,
      );
    }),

    t.test("minReplicaCount raises an inactive target at once and keeps it there", async () => {
      const { trigger } = await setup("min", 0, 0);
      await createScaledObject(
        rest,
        scaledObject({
          namespace: ns.name,
          name: "min",
          target: "min",
          spec: { pollingInterval: 2, minReplicaCount: 2, maxReplicaCount: 5, cooldownPeriod: 0 },
          triggers: [trigger],
        }),
      );
      await waitForReplicas(rest, ns.name, "min", 2, 30_000);
      await sleep(6_000);
      assert.equal((await deploymentReplicas(rest, ns.name, "min")).spec, 2, "no lag, but never below min");
      const so = await getScaledObject(rest, ns.name, "min");
      assert.equal(so?.status?.conditions?.find((c) => c.type === "Active")?.status, "False");
    }),

    t.test(
      "idleReplicaCount: inactive goes to idle; activation goes to minReplicaCount, then the HPA",
      async () => {
        const { topic, trigger } = await setup("idle", 3, 0);
        await createScaledObject(
          rest,
          scaledObject({
            namespace: ns.name,
            name: "idle",
            target: "idle",
            spec: {
              pollingInterval: 2,
              idleReplicaCount: 0,
              minReplicaCount: 2,
              maxReplicaCount: 4,
              cooldownPeriod: 0,
            },
            triggers: [trigger],
          }),
        );
        await waitForReplicas(rest, ns.name, "idle", 0, 30_000);
        await produce(k, topic, 35); // 35 / 10 asks for 4
        await waitForReplicas(rest, ns.name, "idle", 4, 30_000);
        // Events are written asynchronously: wait for the story rather than read it once.
        let messages: string[] = [];
        const inOrder = () => {
          const deactivated = messages.findIndex((m) =>
            /^KEDAScaleTargetDeactivated: .* from 3 to 0$/.test(m),
          );
          const activated = messages.findIndex((m) =>
            /^KEDAScaleTargetActivated: .* from 0 to 2, triggered by/.test(m),
          );
          const rescaled = messages.findIndex((m) => /^SuccessfulRescale: New size: 4;/.test(m));
          return deactivated >= 0 && activated > deactivated && rescaled > activated;
        };
        try {
          await waitFor(
            "the events 3 → 0 (idle), 0 → 2 (min), 2 → 4",
            async () => {
              const events = await eventsFor(rest, ns.name, "ScaledObject", "idle");
              messages = events.map((e) => `${e.reason}: ${e.message}`);
              return inOrder() ? true : undefined;
            },
            60_000,
          );
        } catch (err) {
          assert.fail(`${(err as Error).message}: ${messages.join(" | ")}`);
        }
      },
    ),

    t.test("initialCooldownPeriod keeps a new ScaledObject's target from 0", async () => {
      const { trigger } = await setup("initial", 2, 0);
      await createScaledObject(
        rest,
        scaledObject({
          namespace: ns.name,
          name: "initial",
          target: "initial",
          spec: { pollingInterval: 2, initialCooldownPeriod: 15, cooldownPeriod: 0 },
          triggers: [trigger],
        }),
      );
      const created = Date.parse(
        (await getScaledObject(rest, ns.name, "initial"))?.metadata.creationTimestamp ?? "",
      );
      await sleep(8_000);
      // The HPA step may take it to max(1, min) at once, as KEDA's HPA would; not to 0 before the period ends.
      assert.ok(
        (await deploymentReplicas(rest, ns.name, "initial")).spec >= 1,
        "still up 8 s after creation",
      );
      const so = await getScaledObject(rest, ns.name, "initial");
      assert.equal(so?.status?.conditions?.find((c) => c.type === "Active")?.reason, "ScalerCooldown");
      await waitForReplicas(rest, ns.name, "initial", 0, 30_000);
      const after = (Date.now() - created) / 1000;
      assert.ok(after >= 14, `went to 0 only after the initial cooldown (${after.toFixed(1)} s)`);
    }),
  ]);
});
