/**
 * The leader's pod label on the real API server, with two in-process electors (separate clients) standing for
 * the two replicas of a Deployment whose pods the stack's pod runner runs: the leader's pod carries
 * lagscale.io/leader=true and no other pod of the Deployment does, stale labels included; a graceful stop
 * removes the label before run() returns and the label moves to the new leader's pod.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from "@kubernetes/client-node";
import { createLogger } from "../../core/log.js";
import { LeaderElector } from "../../controller/leader/elector.js";
import { LEADER_LABEL, labelLeaderPod, peerSelectorFor } from "../../controller/leader/pod-label.js";
import { clients, createNamespace, podRunnerMissing, stackKubeConfig } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { loadStack } from "../support/stack.js";

const silent = createLogger("leader-test", "silent");
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

test("the leader's pod alone carries lagscale.io/leader=true; the label follows leadership", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const { core, apps } = clients(stack);
  const ns = await createNamespace(core, "leader-label");
  t.after(ns.remove);

  const deployment: V1Deployment = {
    metadata: { name: "ctl", namespace: ns.name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "ctl" } },
      template: {
        metadata: { labels: { app: "ctl", "app.kubernetes.io/name": "lagscale" } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: "main",
              image: "lagscale.local/node",
              args: ["test/fixtures/exit-after.ts", "0", "forever"],
            },
          ],
        },
      },
    },
  };
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment });
  const [pod1, pod2] = await waitFor(
    "the Deployment's 2 pods",
    async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=ctl" });
      const names = pods.items.map((p) => p.metadata!.name!).sort();
      return names.length === 2 ? names : undefined;
    },
    60_000,
  );
  assert.ok(pod1 && pod2);
  const own = await core.readNamespacedPod({ name: pod1, namespace: ns.name });
  assert.equal(peerSelectorFor(own), "app=ctl,app.kubernetes.io/name=lagscale", "pod-template-hash left out");

  const setLabel = (name: string, value: "true" | null) =>
    core.patchNamespacedPod(
      { name, namespace: ns.name, body: { metadata: { labels: { [LEADER_LABEL]: value } } } },
      MERGE_PATCH,
    );
  const labelled = async () =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `${LEADER_LABEL}=true` })).items
      .map((p) => p.metadata!.name!)
      .sort();

  /** One replica: its own clients, elector and pod label. */
  function replica(podName: string) {
    const kc = stackKubeConfig(stack);
    const identity = `${podName}_test`;
    const label = labelLeaderPod({
      api: kc.makeApiClient(CoreV1Api),
      namespace: ns.name,
      podName,
      identity,
      logger: silent,
      retryMs: 500,
    });
    const elector = new LeaderElector({
      lock: { api: kc.makeApiClient(CoordinationV1Api), namespace: ns.name, name: "lagscale-leader" },
      identity,
      leaseDurationMs: 4_000,
      renewDeadlineMs: 3_000,
      retryPeriodMs: 1_000,
      logger: silent,
      callbacks: label,
    });
    const stop = new AbortController();
    const done = elector.run(stop.signal);
    const halt = async () => {
      stop.abort();
      await done;
      label.close();
    };
    t.after(halt);
    return { elector, label, halt, identity };
  }

  // A leader that died without cleaning up left its label on pod2.
  await setLabel(pod2, "true");
  const a = replica(pod1);
  await waitFor(
    "pod1 labelled and pod2's stale label removed",
    async () => {
      const now = await labelled();
      return now.length === 1 && now[0] === pod1 ? now : undefined;
    },
    60_000,
  );
  assert.equal(a.elector.isLeader(), true);

  // pod2's container restarted with the label of an earlier run: its replica clears it on seeing the leader.
  await setLabel(pod2, "true");
  const b = replica(pod2);
  await waitFor(
    "replica b to see a as the leader",
    async () => (b.elector.getLeader() === a.identity ? true : undefined),
    60_000,
  );
  await b.label.settled();
  assert.deepEqual(await labelled(), [pod1]);
  assert.equal(b.elector.isLeader(), false);

  // Graceful stop of the leader: its label is gone when run() returns; the new leader's pod gets it.
  await a.halt();
  assert.deepEqual(await labelled(), [], "the old leader removed its label before stopping");
  await waitFor(
    "pod2 labelled as the new leader",
    async () => {
      const now = await labelled();
      return now.length === 1 && now[0] === pod2 ? now : undefined;
    },
    20_000,
  );
  assert.equal(b.elector.isLeader(), true);

  await b.halt();
  assert.deepEqual(await labelled(), []);
});
