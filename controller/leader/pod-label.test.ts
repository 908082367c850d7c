/**
 * The pod label's ordering and retries, against a fake CoreV1Api (a fake: only the call sequence is under test
 * here; test/controller/leader-label.test.ts runs it on the real API server).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { createLogger } from "../../core/log.js";
import { LEADER_LABEL, labelLeaderPod, peerSelectorFor } from "./pod-label.js";

const silent = createLogger("leader-test", "silent");

class FakePods {
  calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failNext: number[] = [];
  delayMs = 5;
  pods: V1Pod[] = [];

  api(): CoreV1Api {
    const fake = {
      patchNamespacedPod: async (req: {
        name: string;
        body: { metadata: { labels: Record<string, string | null> } };
      }) => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        await new Promise((r) => setTimeout(r, this.delayMs));
        this.inFlight--;
        const code = this.failNext.shift();
        if (code !== undefined) throw Object.assign(new Error(`HTTP ${code}`), { code });
        this.calls.push(`${req.name}=${req.body.metadata.labels[LEADER_LABEL]}`);
        return {};
      },
      readNamespacedPod: async (req: { name: string }) =>
        this.pods.find((p) => p.metadata?.name === req.name) ?? { metadata: { name: req.name } },
      listNamespacedPod: async (req: { labelSelector: string }) => {
        this.calls.push(`list ${req.labelSelector}`);
        return { items: this.pods.filter((p) => p.metadata?.labels?.[LEADER_LABEL] === "true") };
      },
    };
    // Only the three methods above are used by labelLeaderPod.
    return fake as unknown as CoreV1Api;
  }
}

const pod = (name: string, labels: Record<string, string>): V1Pod => ({ metadata: { name, labels } });

test("peerSelectorFor: the pod's labels without per-revision ones and the leader label", () => {
  const cases: [Record<string, string>, string | undefined][] = [
    [{ app: "x", "pod-template-hash": "abc", [LEADER_LABEL]: "true" }, "app=x"],
    [{ b: "2", a: "1" }, "a=1,b=2"],
    [
      {
        "controller-revision-hash": "1",
        "statefulset.kubernetes.io/pod-name": "s-0",
        "apps.kubernetes.io/pod-index": "0",
      },
      undefined,
    ],
    [{}, undefined],
  ];
  for (const [labels, want] of cases)
    assert.equal(peerSelectorFor(pod("p", labels)), want, JSON.stringify(labels));
});

test("label writes are one at a time and end at the latest wanted state; the new leader clears stale peers", async () => {
  const fake = new FakePods();
  fake.pods = [
    pod("me", { app: "ctl", "pod-template-hash": "1" }),
    pod("old", { app: "ctl", [LEADER_LABEL]: "true" }),
  ];
  const label = labelLeaderPod({
    api: fake.api(),
    namespace: "ns",
    podName: "me",
    identity: "me_1",
    logger: silent,
  });
  label.onNewLeader!("old_1"); // not leading: make sure our pod has no label
  label.onNewLeader!("me_1"); // ourselves: ignored
  await label.onStartedLeading!(new AbortController().signal);
  await label.settled();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fake.maxInFlight, 1);
  assert.deepEqual(fake.calls, ["me=null", "me=true", `list ${LEADER_LABEL}=true,app=ctl`, "old=null"]);
  label.close();
});

test("onStoppedLeading resolves only after the label is off our pod; failed patches are retried", async () => {
  const fake = new FakePods();
  fake.delayMs = 30;
  const label = labelLeaderPod({
    api: fake.api(),
    namespace: "ns",
    podName: "me",
    peerSelector: "app=ctl",
    logger: silent,
    retryMs: 10,
  });
  await label.onStartedLeading!(new AbortController().signal);
  await label.settled();
  fake.failNext = [500, 503];
  fake.calls = [];
  await label.onStoppedLeading!();
  assert.deepEqual(fake.calls, ["me=null"], "removed, after two failures");
  label.close();
});

test("a pod that is gone (404) counts as unlabelled", async () => {
  const fake = new FakePods();
  fake.failNext = [404];
  const label = labelLeaderPod({ api: fake.api(), namespace: "ns", podName: "me", logger: silent });
  label.onNewLeader!("other");
  await label.settled();
  assert.deepEqual(fake.calls, []);
  label.close();
});
