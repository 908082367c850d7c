/**
 * How reports change scaling, on the real API server and broker, with the controller as a child process.
 * The test plays the sidecars (it POSTs the reports, with real pod-bound tokens), so what the pods say is
 * fixed while Kafka's lag is real:
 *
 * - a stalled report keeps the lag it names from scaling the target up (and raises KafkaPartitionStalled);
 *   the same lag reported as moving scales it up at once;
 * - with pollingInterval 30, a report with lag brings the /scale write before the next poll (the end-offset
 *   watch is off here, so nothing else can);
 * - before a scale-in, the idle pods get the lowest deletion cost and the ReplicaSet removes them: the busy
 *   pod survives although it is the newest (the one the ReplicaSet would otherwise remove first).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nextAlignedTime, pollPhaseMs } from "../../controller/scaledobject/loops.js";
import { createTopic } from "../stack/kafka/index.js";
import {
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  waitForReplicas,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { sleep } from "../stack/process.js";
import { waitFor } from "../support/wait.js";
import {
  partition,
  podToken,
  produceTo,
  report,
  reportLoop,
  runningPods,
  startWithReceiver,
  type RunningPod,
} from "./reports-support.js";

const stack = loadStack();
const skip = podRunnerMissing(stack);

describe("reports change scaling", { skip }, () => {
  const rest = kubeRest(stack);
  const k = kafka(stack.bootstrapServers);
  let ns: TestNamespace;
  let controller: ControllerProcess;
  let port = 0;
  const run = Date.now().toString(36);

  /** A sleeper Deployment, its topic and a ScaledObject on it (earliest: uncommitted messages are lag). */
  async function scenario(
    name: string,
    o: { replicas: number; partitions: number; spec: Record<string, unknown>; messagesPerPartition?: number },
  ): Promise<{ topic: string; group: string }> {
    const topic = `reports-${name}-${run}`;
    const group = `g-${topic}`;
    await withAdmin(k, (admin) => createTopic(admin, topic, o.partitions));
    // Messages before the ScaledObject: its first evaluation already sees the lag.
    for (let p = 0; p < o.partitions && o.messagesPerPartition; p++) {
      await produceTo(k, topic, p, o.messagesPerPartition);
    }
    await createDeployment(rest, sleeperDeployment(ns.name, name, o.replicas));
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
            lagThreshold: 10,
            extra: { offsetResetPolicy: "earliest" },
          }),
        ],
      }),
    );
    await waitFor(
      `ScaledObject ${name} to be Ready`,
      async () =>
        condition(await getScaledObject(rest, ns.name, name), "Ready") === "True" ? true : undefined,
      60_000,
    );
    return { topic, group };
  }

  async function tokensFor(pods: RunningPod[]): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    for (const p of pods) m.set(p.name, await podToken(stack, ns.name, p));
    return m;
  }

  before(async () => {
    await installCrds(stack);
    ns = await createNamespace(stack, "reports-scaling");
    ({ controller, port } = await startWithReceiver({
      stack,
      name: `reports-scaling-${ns.name}`,
      watchNamespaces: [ns.name],
      // Only reports and polls start evaluations: the end-offset watch would also see the produced lag and
      // evaluate early, and the test could not tell which of the two brought the scale.
      extraArgs: ["--end-offset-watch-interval=0"],
    }));
  });
  after(async () => {
    await controller?.stop();
    await ns?.remove();
    rest.close();
  });

  it("a stalled partition's lag causes no scale-up; the same lag moving does", async () => {
    const { topic, group } = await scenario("stuck", {
      replicas: 1,
      partitions: 2,
      spec: { pollingInterval: 5, minReplicaCount: 1, maxReplicaCount: 4 },
    });
    const [pod] = await runningPods(rest, ns.name, "stuck", 1);
    const tokens = await tokensFor([pod!]);
    let stalled = true;
    const parts = () =>
      [0, 1].map((p) =>
        partition(topic, p, 20, stalled ? { stalled: true, stalledForMs: 120_000 } : { ratePerSecond: 1 }),
      );
    const loop = reportLoop(port, tokens, () => [report(ns.name, pod!, "stuck", group, parts())]);
    try {
      await loop.once();
      await produceTo(k, topic, 0, 20);
      await produceTo(k, topic, 1, 20);
      // Lag 40 at lagThreshold 10 asks for 2 replicas (the partitions), but all of it is stalled.
      const events = await waitFor(
        "a KafkaPartitionStalled event",
        async () => {
          const ev = await eventsFor(rest, ns.name, "ScaledObject", "stuck");
          return ev.some((e) => e.reason === "KafkaPartitionStalled") ? ev : undefined;
        },
        30_000,
        500,
      );
      const stall = events.filter((e) => e.reason === "KafkaPartitionStalled").map((e) => e.message);
      assert.ok(
        stall.some((m) => m.includes(`pod ${pod!.name}`) && m.includes(`partition ${topic}/0`)),
        stall.join("\n"),
      );
      const from = controller.logs.length;
      // Three more polls: the lag is read each time, and nothing scales.
      await sleep(15_000);
      const polls = controller.logs
        .slice(from)
        .filter((l) => l.msg === "evaluated" && l.scaledObject === `${ns.name}/stuck`);
      assert.ok(polls.length >= 2, `${polls.length} evaluations in 15 s`);
      assert.equal((await deploymentReplicas(rest, ns.name, "stuck")).spec, 1, "no scale-up on stalled lag");
      assert.match(
        await controller.metrics(),
        /lagscale_stalled_partition_lag\{[^}]*pod="[^"]+",topic="[^"]+",partition="0"\} 20/,
      );

      stalled = false;
      await loop.once();
      await waitForReplicas(rest, ns.name, "stuck", 2, 15_000);
      assert.deepEqual(loop.refused, []);
    } finally {
      loop.stop();
    }
  });

  it("with pollingInterval 30, a report with lag brings the /scale write before the next poll", async () => {
    const { topic, group } = await scenario("early", {
      replicas: 1,
      partitions: 5,
      spec: { pollingInterval: 30, minReplicaCount: 1, maxReplicaCount: 5 },
    });
    const [pod] = await runningPods(rest, ns.name, "early", 1);
    const tokens = await tokensFor([pod!]);
    const key = `${ns.name}/early`;
    // Start right after a poll, so the next one is a full interval away.
    const from = controller.logs.length;
    await controller.waitForLog(
      (l) => l.msg === "evaluated" && l.scaledObject === key && l.cause === "poll",
      40_000,
      from,
    );
    const sent = Date.now();
    const nextPoll = nextAlignedTime(sent, 30_000, pollPhaseMs(key, 30_000));
    for (let p = 0; p < 5; p++) await produceTo(k, topic, p, 20);
    const loop = reportLoop(port, tokens, () => [
      report(
        ns.name,
        pod!,
        "early",
        group,
        [0, 1, 2, 3, 4].map((p) => partition(topic, p, 20, { ratePerSecond: 0.3 })),
      ),
    ]);
    try {
      await loop.once();
      const scaled = await waitFor(
        "a scale-up",
        async () => ((await deploymentReplicas(rest, ns.name, "early")).spec > 1 ? Date.now() : undefined),
        35_000,
        200,
      );
      assert.ok(
        scaled < nextPoll,
        `scaled ${scaled - sent} ms after the report; the next poll was ${nextPoll - sent} ms away`,
      );
      const line = controller.logs.find((l) => l.msg === "scaled" && l.scaledObject === key);
      assert.ok(line, "the controller logged the scale");
      assert.equal(
        controller.logs.some(
          (l) => l.msg === "report accepted; evaluating at once" && l.scaledObject === key,
        ),
        true,
      );
      assert.deepEqual(loop.refused, []);
    } finally {
      loop.stop();
    }
  });

  it("before a scale-in the idle pods are marked and removed; the busy pod survives", async () => {
    const { topic, group } = await scenario("drain", {
      replicas: 3,
      partitions: 3,
      messagesPerPartition: 10,
      spec: {
        pollingInterval: 5,
        minReplicaCount: 1,
        maxReplicaCount: 3,
        advanced: {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
        },
      },
    });
    const first = await runningPods(rest, ns.name, "drain", 3);
    // Replace one pod: the newest pod is the one a ReplicaSet removes first when the costs are equal, so it
    // is the busy one here, and only the deletion costs can keep it.
    await sleep(20_000);
    await rest.delete(`/api/v1/namespaces/${ns.name}/pods/${first[0]!.name}`);
    const pods = await waitFor(
      "the replacement pod",
      async () => {
        const now = await runningPods(rest, ns.name, "drain", 3);
        return now.some((p) => p.name === first[0]!.name) ? undefined : now;
      },
      60_000,
      500,
    );
    const busy = pods.find((p) => !first.some((f) => f.name === p.name))!;
    const idle = pods.filter((p) => p !== busy);
    const tokens = await tokensFor(pods);
    const loop = reportLoop(port, tokens, () => [
      report(ns.name, busy, "drain", group, [partition(topic, 0, 10, { ratePerSecond: 0.5 })]),
      ...idle.map((p) => report(ns.name, p, "drain", group, [])),
    ]);
    try {
      await loop.once();
      await sleep(6_000); // an evaluation with the reports: still 3 (lag 30)
      assert.equal((await deploymentReplicas(rest, ns.name, "drain")).spec, 3);
      // Partitions 1 and 2 consumed: lag 10 asks for one replica.
      await withAdmin(k, async (admin) => {
        const ends = await admin.fetchTopicOffsets(topic);
        await admin.setOffsets({
          groupId: group,
          topic,
          partitions: ends
            .filter((e) => e.partition !== 0)
            .map((e) => ({ partition: e.partition, offset: e.high })),
        });
      });
      await waitForReplicas(rest, ns.name, "drain", 1, 30_000);
      const survivors = await runningPods(rest, ns.name, "drain", 1);
      assert.deepEqual(
        survivors.map((p) => p.name),
        [busy.name],
        `idle ${idle.map((p) => p.name).join(", ")} should have gone, busy ${busy.name} stayed`,
      );
      const marked = controller.logs.find(
        (l) => l.msg === "marked pods for the scale-in" && l.scaledObject === `${ns.name}/drain`,
      );
      assert.ok(marked, "the controller marked pods before the scale-in");
      // Only the removed pods are refused (their bound tokens die with them), never the survivor.
      assert.deepEqual(
        loop.refused.filter((r) => !idle.some((p) => r.startsWith(`${p.name}:`))),
        [],
      );
    } finally {
      loop.stop();
    }
  });
});
