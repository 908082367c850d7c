import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResolvedKind } from "./discovery.js";
import type { Informer, InformerOptions } from "./informer.js";
import { countReady, PodCache, trimPod, type CachedPod } from "./pod-cache.js";
import type { KubeObject, ResourceType } from "./resources.js";
import type { ScaleInfo } from "./scale.js";
import { parseLabelSelector } from "./selector.js";

const DEPLOY: ResolvedKind = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  resource: "deployments",
  namespaced: true,
  scalable: true,
};

const scale = (selector: string | undefined): ScaleInfo => ({
  namespace: "ns",
  name: "web",
  target: DEPLOY,
  replicas: 3,
  statusReplicas: 3,
  selector,
  resourceVersion: "1",
});

function pod(name: string, o: { app?: string; phase?: string; ready?: boolean; deleting?: boolean }) {
  return trimPod({
    metadata: {
      name,
      namespace: "ns",
      resourceVersion: "1",
      labels: o.app ? { app: o.app } : {},
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
      annotations: { big: "x".repeat(1000) },
    },
    spec: { containers: [{ name: "c" }] },
    status: {
      phase: o.phase ?? "Running",
      podIP: "10.0.0.1",
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  } as KubeObject);
}

test("trimPod keeps labels, phase and readiness only", () => {
  const p = pod("a", { app: "web" });
  assert.deepEqual(p, {
    metadata: { name: "a", namespace: "ns", resourceVersion: "1", labels: { app: "web" } },
    status: { phase: "Running", ready: true },
  });
});

test("countReady counts the selector's pods that are Running and Ready, as the HPA's getReadyPodsCount", () => {
  const pods: CachedPod[] = [
    pod("ready", { app: "web" }),
    pod("terminating-but-ready", { app: "web", deleting: true }), // the HPA counts it
    pod("not-ready", { app: "web", ready: false }),
    pod("pending", { app: "web", phase: "Pending" }),
    pod("succeeded", { app: "web", phase: "Succeeded" }),
    pod("other-app", { app: "api" }),
  ];
  const sel = parseLabelSelector("app=web");
  assert.ok(sel.ok);
  assert.equal(countReady(pods, sel.requirements), 2);
});

/** A fake informer factory (no API server): records the informer asked for and serves a fixed list. */
function fakeKube() {
  const asked: { type: ResourceType; options: InformerOptions | undefined }[] = [];
  const state = { synced: false, pods: [] as CachedPod[] };
  const kube = {
    informer<T extends KubeObject>(type: ResourceType<T>, options?: InformerOptions) {
      asked.push({ type, options });
      const fake = {
        hasSynced: () => state.synced,
        list: (namespace?: string) => state.pods.filter((p) => p.metadata.namespace === namespace),
      };
      return fake as unknown as Informer<T>;
    },
  };
  return { kube, asked, state };
}

test("PodCache: the pod watch starts at the first count, answers undefined until listed, then counts from the cache", () => {
  const { kube, asked, state } = fakeKube();
  const c = new PodCache(kube);
  assert.equal(asked.length, 0, "no pod watch before a Value trigger asks");
  assert.equal(c.readyCount(scale("app=web")), undefined, "not listed: the caller lists from the API server");
  assert.equal(asked.length, 1);
  assert.equal(asked[0]?.type.plural, "pods");
  assert.equal(asked[0]?.options?.transform, trimPod);
  state.synced = true;
  state.pods = [pod("a", { app: "web" }), pod("b", { app: "web", ready: false }), pod("c", { app: "web" })];
  assert.equal(c.readyCount(scale("app=web")), 2);
  state.pods.push(pod("d", { app: "web" }));
  assert.equal(c.readyCount(scale("app=web")), 3, "read at each count: the watch keeps the cache current");
  assert.equal(asked.length, 1, "one watch for every count");
});

test("PodCache: a target without a selector, or with one that does not parse, is an error naming the target", () => {
  const { kube, state } = fakeKube();
  state.synced = true;
  const c = new PodCache(kube);
  assert.throws(
    () => c.readyCount(scale(undefined)),
    /Deployment ns\/web: its \/scale subresource reports no status.selector/,
  );
  assert.throws(() => c.readyCount(scale("a b")), /Deployment ns\/web: status.selector of its \/scale/);
});
