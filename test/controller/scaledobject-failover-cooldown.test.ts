/**
 * A failover inside the scale-down window scales nothing down early (real broker, real API server, two
 * controller processes on one Lease). The target runs 4 replicas for a lag of 40; the lag drops to 0 while
 * the object is still in its cooldown (300 s), so the leader holds 4 (the HPA's 300 s scale-down window
 * remembers the recommendations of 4). The leader is SIGKILLed. The new leader has no memory of those
 * recommendations: it must start as a new HPA does (the current replicas as its first recommendation) and
 * hold 4, where a leader without that seed scaled 4 → 1 at its first evaluation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sleep } from "../stack/process.js";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  deploymentReplicas,
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
  type LogLine,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";

test("a leader killed during the cooldown: the new leader holds the replicas for its scale-down window", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-failover-cd");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `failover-cd-${ns.name}`;
  const group = `g-failover-cd-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 4);
    await commitAtEnd(admin, group, topic);
  });
  await produce(k, topic, 40); // lag 40, lagThreshold 10: 4 replicas
  await createDeployment(rest, sleeperDeployment(ns.name, "target", 1));

  const start = (name: string) =>
    startController({
      stack,
      name: `${name}-${ns.name}`,
      watchNamespaces: [ns.name],
      leaderElect: true,
      leaseName: "lagscale-controller",
      leaseNamespace: ns.name,
      leaseDuration: "4s",
      renewDeadline: "3s",
      retryPeriod: "1s",
    });
  const [a, b] = await Promise.all([start("a"), start("b")]);
  t.after(async () => {
    await Promise.all([a.stop("SIGKILL"), b.stop("SIGKILL")]);
  });
  const leading = (l: LogLine) => l.msg === "evaluating ScaledObjects and ScaledJobs";
  const leader = await Promise.race([
    a.waitForLog(leading, 30_000).then(() => a),
    b.waitForLog(leading, 30_000).then(() => b),
  ]);
  const follower = leader === a ? b : a;

  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "so",
      target: "target",
      spec: { pollingInterval: 1, minReplicaCount: 1, maxReplicaCount: 4, cooldownPeriod: 300 },
      triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic })],
    }),
  );
  await waitForReplicas(rest, ns.name, "target", 4, 60_000);
  await withAdmin(k, (admin) => commitAtEnd(admin, group, topic)); // lag 0: the trigger goes inactive
  const from = leader.logs.length;
  await leader.waitForLog(
    (l) => l.msg === "evaluated" && l.active === false && l.replicas === 4,
    30_000,
    from,
  );
  assert.equal(
    (await deploymentReplicas(rest, ns.name, "target")).spec,
    4,
    "the leader holds 4 in its window",
  );

  const samples = sampleReplicas(rest, ns.name, "target", 250);
  t.after(() => samples.stop());
  const killedAt = Date.now();
  await leader.stop("SIGKILL");
  const isEvaluation = (l: LogLine) => l.msg === "evaluated";
  await follower.waitForLog(isEvaluation, 30_000);
  await sleep(8_000);
  samples.stop();
  const byNewLeader = follower.logs.filter(isEvaluation);
  assert.ok(byNewLeader.length >= 5, `the new leader evaluates every second: ${byNewLeader.length}`);
  assert.ok(
    byNewLeader.every((l) => l.active === false),
    "the trigger is inactive throughout: the cooldown is what is under test",
  );
  assert.ok(
    samples.values.every((n) => n === 4),
    `no scale-down after the failover: ${samples.values.join(",")}`,
  );
  assert.equal((await deploymentReplicas(rest, ns.name, "target")).spec, 4);
  console.log(
    `failover during the cooldown: leader SIGKILLed, ${byNewLeader.length} evaluations by the new leader in ` +
      `${((Date.now() - killedAt) / 1000).toFixed(1)} s, replicas ${[...new Set(samples.values)].join(",")} throughout`,
  );
});
