/**
 * The sidecar end to end on the local stack: the real broker and API server, the controller as a child
 * process with its receiver on plain HTTP, and consumer pods running the demo consumer with lagscale's
 * sidecar beside it (added by withSidecar, as the demo and the injector do). Nothing here plays a sidecar:
 * what the controller learns comes from the sidecars' own reading of the group.
 *
 * - the controller accepts each pod's reports;
 * - a consumer stuck on one message is reported stalled and causes no scale-up;
 * - a scale-in removes the idle pods and keeps the busy ones;
 * - with the sidecar frozen, scaling goes on from the controller's own reads.
 *
 * Pods on the local stack are host processes sharing the host's network: each sidecar binds its ports to its
 * pod IP, and reads its token at its default path, which the pod runner translates to the volume's folder.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { V1PodSpec } from "@kubernetes/client-node";
import { withSidecar } from "../../controller/inject/sidecar.js";
import { reportedPods } from "../../demo-apps/demo/view.js";
import { produceTo, runningPods, startWithReceiver } from "../controller/reports-support.js";
import { createTopic } from "../stack/kafka/index.js";
import { sleep } from "../stack/process.js";
import {
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  deploymentReplicas,
  eventsFor,
  groupLag,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  waitForReplicas,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const stack = loadStack();
const skip = podRunnerMissing(stack);

describe("the sidecar in consumer pods", { skip }, () => {
  const rest = kubeRest(stack);
  const k = kafka(stack.bootstrapServers);
  let ns: TestNamespace;
  let controller: ControllerProcess;
  let port = 0;
  const run = Date.now().toString(36);

  /**
   * A topic, a consumer Deployment with the sidecar, and its ScaledObject (earliest: uncommitted messages
   * are lag). Messages are written before the pods start, so the consumers have work from the first second.
   */
  async function scenario(
    name: string,
    o: {
      replicas: number;
      partitions: number;
      /** Messages per partition, written before the pods start. */
      messages: number[];
      sleepSeconds: number;
      lagThreshold: number;
      spec: Record<string, unknown>;
      sidecarEnv?: Record<string, string>;
    },
  ): Promise<{ topic: string; group: string }> {
    const topic = `e2e-${name}-${run}`;
    const group = `g-${topic}`;
    await withAdmin(k, (admin) => createTopic(admin, topic, o.partitions));
    for (const [p, n] of o.messages.entries()) if (n > 0) await produceTo(k, topic, p, n);
    const deployment = consumerDeployment({
      namespace: ns.name,
      name,
      replicas: o.replicas,
      brokers: stack.bootstrapServers,
      topic,
      group,
      sleepSeconds: o.sleepSeconds,
    });
    const template = (deployment.spec as { template: { spec: V1PodSpec } }).template;
    template.spec = withSidecar(template.spec, {
      image: "lagscale/sidecar:dev",
      scaledObject: name,
      bootstrapServers: stack.bootstrapServers.join(","),
      consumerGroup: group,
      topic,
      lagThreshold: o.lagThreshold,
      offsetResetPolicy: "earliest",
      reportUrl: `http://127.0.0.1:${port}/v1/reports`,
      bindAddress: "$(POD_IP)",
      // Reports every 2 s while idle, so that the tests need not wait for the 10 s default.
      env: Object.entries({ LAGSCALE_SLOW_INTERVAL_MS: "2000", ...o.sidecarEnv }).map(([n, value]) => ({
        name: n,
        value,
      })),
    });
    await createDeployment(rest, deployment);
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name,
        target: name,
        spec: { cooldownPeriod: 300, ...o.spec },
        triggers: [
          kafkaTrigger({
            brokers: stack.bootstrapServers,
            group,
            topic,
            lagThreshold: o.lagThreshold,
            extra: { offsetResetPolicy: "earliest" },
          }),
        ],
      }),
    );
    return { topic, group };
  }

  /** Each pod's state as the controller's receiver keeps it, once all of `pods` have reported and `ok` holds. */
  async function reportedStates(
    name: string,
    pods: readonly string[],
    ok: (states: Map<string, string>) => boolean = () => true,
    timeoutMs = 60_000,
  ): Promise<Map<string, string>> {
    return waitFor(
      `reports from ${pods.join(", ")}`,
      async () => {
        const states = new Map(
          reportedPods(await controller.metrics(), `${ns.name}/${name}`).map((p) => [p.pod, p.state]),
        );
        return pods.every((p) => states.has(p)) && ok(states) ? states : undefined;
      },
      timeoutMs,
      500,
    );
  }

  const patchSpec = (name: string, spec: Record<string, unknown>) =>
    rest.patch(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/scaledobjects/${name}`, { spec });

  const accepted = (pod: string) =>
    controller.logs.filter(
      (l) => typeof l.msg === "string" && l.msg.startsWith("report accepted") && l.pod === pod,
    ).length;

  before(async () => {
    await installCrds(stack);
    ns = await createNamespace(stack, "sidecar-e2e");
    ({ controller, port } = await startWithReceiver({
      stack,
      name: `sidecar-e2e-${ns.name}`,
      watchNamespaces: [ns.name],
    }));
  });
  after(async () => {
    await controller?.stop();
    await ns?.remove();
    rest.close();
  });

  it("accepts the reports of each consumer pod's sidecar", async () => {
    await scenario("accept", {
      replicas: 2,
      partitions: 2,
      messages: [0, 0],
      sleepSeconds: 1,
      lagThreshold: 10,
      spec: { pollingInterval: 5, minReplicaCount: 2, maxReplicaCount: 2 },
    });
    const pods = (await runningPods(rest, ns.name, "accept", 2)).map((p) => p.name);
    await reportedStates("accept", pods);
    const first = pods.map(accepted);
    // Each sidecar reports again within its slow interval (2 s here), and each report is accepted.
    await waitFor(
      "more accepted reports from every pod",
      () => (pods.every((p, i) => accepted(p) > first[i]!) ? true : undefined),
      20_000,
      250,
    );
    assert.match(await controller.metrics(), /lagscale_reports_received_total\{code="200"\} [1-9]/);
    const refused = controller.logs.filter((l) => l.msg === "report refused" && pods.includes(String(l.pod)));
    assert.deepEqual(refused, [], "no report of these pods was refused");
  });

  it("a consumer stuck on one message is reported stalled and causes no scale-up", async () => {
    // SLEEP an hour: the demo consumer commits a message before handling it, so the committed offset moves
    // once and then stands still while the other 14 messages of partition 0 wait.
    const { topic, group } = await scenario("stuck", {
      replicas: 1,
      partitions: 2,
      messages: [15, 0],
      sleepSeconds: 3600,
      lagThreshold: 5,
      // maxReplicaCount 1 until the stall is known: the lag is real before the stall window has passed.
      spec: { pollingInterval: 5, minReplicaCount: 1, maxReplicaCount: 1 },
      sidecarEnv: { LAGSCALE_STALL_WINDOW_MS: "3000" },
    });
    const [pod] = (await runningPods(rest, ns.name, "stuck", 1)).map((p) => p.name);
    await reportedStates("stuck", [pod!], (s) => s.get(pod!) === "stalled");
    const events = await waitFor(
      "a KafkaPartitionStalled event",
      async () => {
        const ev = await eventsFor(rest, ns.name, "ScaledObject", "stuck");
        const stall = ev.filter((e) => e.reason === "KafkaPartitionStalled").map((e) => e.message);
        return stall.length > 0 ? stall : undefined;
      },
      30_000,
      500,
    );
    assert.ok(
      events.some((m) => m.includes(`pod ${pod}`) && m.includes(`partition ${topic}/0`)),
      events.join("\n"),
    );
    const lag = await withAdmin(k, (admin) => groupLag(admin, group, topic));
    assert.equal(lag, 14, "14 messages wait behind the one being handled");

    // Lag 14 at lagThreshold 5 asks for 2 replicas (the partitions); all of it is stalled.
    const from = controller.logs.length;
    await patchSpec("stuck", { maxReplicaCount: 3 });
    await sleep(15_000);
    const evaluations = controller.logs
      .slice(from)
      .filter((l) => l.msg === "evaluated" && l.scaledObject === `${ns.name}/stuck`);
    assert.ok(evaluations.length >= 2, `${evaluations.length} evaluations in 15 s`);
    assert.equal((await deploymentReplicas(rest, ns.name, "stuck")).spec, 1, "no scale-up on stalled lag");
  });

  it("a scale-in removes the idle pods and keeps the busy ones", async () => {
    // Four consumers on two partitions: the group gives the partitions to two of them (busy, 40 messages of
    // 2 s each), the other two have nothing (idle). Which two is the group's choice, read from the reports.
    await scenario("drain", {
      replicas: 4,
      partitions: 2,
      messages: [40, 40],
      sleepSeconds: 2,
      lagThreshold: 10,
      // minReplicaCount 4 until every pod has reported: a scale-in before that could not rank them.
      spec: {
        pollingInterval: 5,
        minReplicaCount: 4,
        maxReplicaCount: 4,
        advanced: {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
        },
      },
    });
    const pods = (await runningPods(rest, ns.name, "drain", 4)).map((p) => p.name);
    const states = await reportedStates(
      "drain",
      pods,
      (s) =>
        [...s.values()].filter((v) => v === "busy").length === 2 &&
        [...s.values()].every((v) => v !== "rebalancing"),
      90_000,
    );
    const busy = pods.filter((p) => states.get(p) === "busy");
    const idle = pods.filter((p) => states.get(p) === "idle");
    assert.equal(idle.length, 2, `states: ${JSON.stringify([...states])}`);

    // Lag about 80 at lagThreshold 10 asks for 2 replicas (the partitions): 4 → 2.
    const from = controller.logs.length;
    await patchSpec("drain", { minReplicaCount: 1 });
    await waitForReplicas(rest, ns.name, "drain", 2, 60_000);
    const survivors = (await runningPods(rest, ns.name, "drain", 2)).map((p) => p.name);
    assert.deepEqual(
      survivors,
      busy,
      `busy ${busy.join(", ")} should stay, idle ${idle.join(", ")} should have gone`,
    );
    const marked = controller.logs
      .slice(from)
      .find((l) => l.msg === "marked pods for the scale-in" && l.scaledObject === `${ns.name}/drain`);
    assert.ok(marked, "the controller marked pods before the scale-in");
    const markedPods = (marked.pods as [string, number][]).map(([p]) => p).sort();
    assert.deepEqual(markedPods, idle, "the idle pods got the low deletion costs");
  });

  it("with the sidecar frozen, scaling goes on from the controller's own reads", async () => {
    const { topic } = await scenario("frozen", {
      replicas: 1,
      partitions: 3,
      messages: [0, 0, 0],
      sleepSeconds: 1,
      lagThreshold: 5,
      spec: { pollingInterval: 5, minReplicaCount: 1, maxReplicaCount: 3 },
    });
    const [pod] = (await runningPods(rest, ns.name, "frozen", 1)).map((p) => p.name);
    await reportedStates("frozen", [pod!]);
    // SIGSTOP rather than SIGKILL: the pod runner would restart a killed native sidecar; a frozen one sends
    // nothing more, which is what the controller sees of a dead one.
    const pid = sidecarPid(pod!);
    process.kill(pid, "SIGSTOP");
    try {
      // a report already on the wire when the signal came may still be accepted: count from after it
      await sleep(1_000);
      const before = accepted(pod!);
      for (const p of [0, 1, 2]) await produceTo(k, topic, p, 20);
      // Lag 60 at lagThreshold 5 asks for 3 replicas (the partitions).
      await waitForReplicas(rest, ns.name, "frozen", 3, 30_000);
      assert.equal(accepted(pod!), before, "the frozen sidecar sent nothing meanwhile");
      // The line is written when the /scale write returns, which can be just after the test sees 3 replicas.
      const scaled = await controller
        .waitForLog((l) => l.msg === "scaled" && l.scaledObject === `${ns.name}/frozen` && l.to === 3, 10_000)
        .catch(() => undefined);
      assert.ok(scaled, "the controller logged the scale-up");
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });
});

/**
 * The pid of the sidecar process of `pod` on this host: a host process from the pod runner's image map
 * (sidecar/main.ts), or the process of its image's container when the runner has podman (sidecar/main.js).
 */
function sidecarPid(pod: string): number {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!/sidecar\/main\.[jt]s\0/.test(cmdline)) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (env.includes(`POD_NAME=${pod}`)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  if (found.length !== 1)
    throw new Error(`expected one sidecar process of pod ${pod}, found ${found.length}`);
  return found[0]!;
}
