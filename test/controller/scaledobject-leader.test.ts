/**
 * Two controller processes on one Lease (short timings: lease 4 s, renew deadline 3 s, retry 1 s): exactly
 * one evaluates; SIGKILL the leader and the other takes over within lease duration plus retry period (with
 * client-go's jitter and some slack for a loaded machine), with no evaluation done by both and the target's
 * replicas untouched by the handover. Then SIGTERM to the new leader: it exits 0 and releases the lease. The
 * measured failover time is printed.
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
  type ControllerProcess,
  type LogLine,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";

const LEASE_S = 4;
const RETRY_S = 1;

const evaluations = (c: ControllerProcess): number[] =>
  c.logs.filter((l) => l.msg === "evaluated").map((l) => Date.parse(String(l.time)));

test("two controllers: one evaluates; SIGKILL the leader and the other takes over", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-leader");
  t.after(ns.remove);
  const k = kafka(stack.bootstrapServers);
  const topic = `leader-${ns.name}`;
  const group = `g-leader-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 5);
    await commitAtEnd(admin, group, topic);
  });
  await produce(k, topic, 25); // asks for 3 replicas, and keeps asking
  await createDeployment(rest, sleeperDeployment(ns.name, "target", 1));

  const start = (name: string) =>
    startController({
      stack,
      name: `${name}-${ns.name}`,
      watchNamespaces: [ns.name],
      leaderElect: true,
      leaseName: "lagscale-controller",
      leaseNamespace: ns.name,
      leaseDuration: `${LEASE_S}s`,
      renewDeadline: "3s",
      retryPeriod: `${RETRY_S}s`,
    });
  const [a, b] = await Promise.all([start("a"), start("b")]);
  t.after(async () => {
    await Promise.all([a.stop("SIGKILL"), b.stop("SIGKILL")]);
  });
  const leading = (l: LogLine) => l.msg === "evaluating ScaledObjects and ScaledJobs";
  const first = await Promise.race([
    a.waitForLog(leading, 30_000).then(() => a),
    b.waitForLog(leading, 30_000).then(() => b),
  ]);
  const leader = first;
  const follower = first === a ? b : a;

  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "so",
      target: "target",
      spec: { pollingInterval: 1, minReplicaCount: 1, maxReplicaCount: 5 },
      triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic })],
    }),
  );
  await waitForReplicas(rest, ns.name, "target", 3, 30_000);
  await sleep(4_000);
  assert.ok(evaluations(leader).length >= 3, "the leader evaluates");
  assert.equal(evaluations(follower).length, 0, "the follower never evaluates");
  const metrics = [await leader.metrics(), await follower.metrics()];
  assert.match(metrics[0]!, /lagscale_leader\{lease="[^"]*"\} 1/);
  assert.match(metrics[1]!, /lagscale_leader\{lease="[^"]*"\} 0/);

  const samples = sampleReplicas(rest, ns.name, "target", 250);
  t.after(() => samples.stop());
  const killedAt = Date.now();
  await leader.stop("SIGKILL");
  const lastByLeader = Math.max(...evaluations(leader));
  const took = await follower.waitForLog((l) => l.msg === "evaluated", 30_000);
  const failoverS = (Date.parse(String(took.time)) - killedAt) / 1000;
  await sleep(4_000);
  samples.stop();

  const byFollower = evaluations(follower);
  assert.ok(
    byFollower[0]! > lastByLeader,
    "no evaluation by both: the follower starts after the leader's last",
  );
  assert.ok(byFollower.length >= 3, `the new leader keeps evaluating every second: ${byFollower.length}`);
  const bound = LEASE_S + RETRY_S * 2.2 + 3;
  assert.ok(failoverS <= bound, `took over in ${failoverS.toFixed(1)} s (bound ${bound} s)`);
  assert.ok(
    samples.values.every((n) => n === 3),
    `the handover changes no replicas: ${samples.values.join(",")}`,
  );
  assert.equal((await deploymentReplicas(rest, ns.name, "target")).spec, 3);
  // SIGTERM: stop evaluating, release the lease, close everything, exit 0.
  const stopped = await follower.stop("SIGTERM");
  assert.equal(stopped.status, 0, "exit 0 on SIGTERM");
  assert.ok(stopped.ms < 15_000, `exited in ${stopped.ms} ms`);
  const lease = await rest.get<{ spec?: { holderIdentity?: string } }>(
    `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/lagscale-controller`,
  );
  assert.ok(!lease.spec?.holderIdentity, `the lease was released: ${JSON.stringify(lease.spec)}`);
  console.log(`graceful stop: exit ${stopped.status} in ${stopped.ms} ms, lease released`);
  console.log(
    `leader failover: SIGKILL to the first evaluation by the other replica ${failoverS.toFixed(2)} s ` +
      `(lease ${LEASE_S} s, retry ${RETRY_S} s)`,
  );
});
