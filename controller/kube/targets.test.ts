import assert from "node:assert/strict";
import { test } from "node:test";
import type { ResolvedKind } from "./discovery.js";
import type { ChangeHandler, Informer } from "./informer.js";
import type { KubeObject, ResourceType } from "./resources.js";
import {
  formatLabelSelector,
  scaleFromWorkload,
  TargetCache,
  trimWorkload,
  type Workload,
} from "./targets.js";

test("formatLabelSelector spells a selector as /scale's status.selector does", () => {
  const cases: [Parameters<typeof formatLabelSelector>[0], string | undefined][] = [
    [undefined, undefined],
    [{}, undefined],
    [{ matchLabels: { app: "consumer" } }, "app=consumer"],
    [{ matchLabels: { b: "2", a: "1" } }, "a=1,b=2"],
    [
      {
        matchLabels: { app: "c" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["web", "api"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "canary", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      },
      "app=c,canary,env notin (dev),!legacy,tier in (api,web)",
    ],
  ];
  for (const [sel, want] of cases) assert.equal(formatLabelSelector(sel), want, JSON.stringify(sel));
});

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "ns",
    uid: "u1",
    resourceVersion: "7",
    annotations: { big: "x".repeat(1000) },
    managedFields: [{ manager: "kubectl" }],
  },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "c",
            image: "img",
            env: [{ name: "BROKERS", value: "b:9092" }],
            envFrom: [{ secretRef: { name: "s" } }],
            resources: { limits: { cpu: "1" } },
          },
        ],
        volumes: [{ name: "v" }],
      },
    },
  },
  status: { replicas: 2, readyReplicas: 2, conditions: [{ type: "Available" }] },
} as KubeObject;

test("trimWorkload keeps replicas, selector, containers' env and status.replicas, and nothing else", () => {
  assert.deepEqual(trimWorkload(deployment), {
    metadata: { name: "web", namespace: "ns", uid: "u1", resourceVersion: "7" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: {
        spec: {
          containers: [
            {
              name: "c",
              env: [{ name: "BROKERS", value: "b:9092" }],
              envFrom: [{ secretRef: { name: "s" } }],
            },
          ],
        },
      },
    },
    status: { replicas: 2 },
  });
});

const DEPLOY: ResolvedKind = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  resource: "deployments",
  namespaced: true,
  scalable: true,
};

test("scaleFromWorkload answers what /scale would", () => {
  assert.deepEqual(scaleFromWorkload(DEPLOY, trimWorkload(deployment)), {
    namespace: "ns",
    name: "web",
    target: DEPLOY,
    replicas: 3,
    statusReplicas: 2,
    selector: "app=web",
    resourceVersion: "7",
  });
});

/** A fake informer (no API server): a map, a synced flag, and the change handlers. */
class FakeInformer {
  synced = true;
  readonly objects = new Map<string, Workload>();
  readonly handlers: ChangeHandler<Workload>[] = [];
  onChange(h: ChangeHandler<Workload>) {
    this.handlers.push(h);
    return () => undefined;
  }
  hasSynced() {
    return this.synced;
  }
  get(key: string) {
    return this.objects.get(key);
  }
  put(w: Workload) {
    const key = `${w.metadata?.namespace}/${w.metadata?.name}`;
    this.objects.set(key, w);
    for (const h of this.handlers) h(key, w);
  }
}

function cache() {
  const fakes = new Map<string, FakeInformer>();
  let now = 1000;
  const c = new TargetCache(
    {
      informer<T extends KubeObject>(type: ResourceType<T>) {
        const f = new FakeInformer();
        fakes.set(type.kind, f);
        return f as unknown as Informer<T>;
      },
    },
    () => now,
  );
  const deployments = fakes.get("Deployment");
  assert.ok(deployments);
  return { c, deployments, advance: (ms: number) => (now += ms) };
}

test("TargetCache: Deployments from the cache once listed; other kinds and missing objects go to the API server", () => {
  const { c, deployments } = cache();
  deployments.synced = false;
  deployments.put(trimWorkload(deployment));
  assert.equal(c.scale("ns", DEPLOY, "web"), undefined, "not listed yet");
  deployments.synced = true;
  assert.equal(c.scale("ns", DEPLOY, "web")?.replicas, 3);
  assert.equal(
    c.scale("ns", DEPLOY, "other"),
    undefined,
    "missing: the API server answers (404 or a new object)",
  );
  assert.deepEqual(c.lookup("ns", DEPLOY, "other"), { found: false });
  const rollout = { ...DEPLOY, group: "argoproj.io", kind: "Rollout", resource: "rollouts" };
  assert.equal(c.scale("ns", rollout, "web"), undefined);
});

test("TargetCache: after our /scale write the API server is asked until the watch brings that resourceVersion", () => {
  const { c, deployments, advance } = cache();
  deployments.put(trimWorkload(deployment));
  const written = {
    ...scaleFromWorkload(DEPLOY, trimWorkload(deployment)),
    replicas: 5,
    resourceVersion: "8",
  };
  c.wrote(written);
  assert.equal(c.scale("ns", DEPLOY, "web"), undefined, "the cache still says 3");
  const w = trimWorkload(deployment);
  deployments.put({
    ...w,
    metadata: { ...w.metadata, resourceVersion: "8" },
    spec: { ...w.spec, replicas: 5 },
  });
  assert.equal(c.scale("ns", DEPLOY, "web")?.replicas, 5);

  // a write whose watch event never comes: the cache is trusted again after 30 s
  c.wrote({ ...written, replicas: 6, resourceVersion: "9" });
  advance(29_000);
  assert.equal(c.scale("ns", DEPLOY, "web"), undefined);
  advance(2_000);
  assert.equal(c.scale("ns", DEPLOY, "web")?.replicas, 5);

  // the watch was faster than the write's answer: nothing pending
  c.wrote({ ...written, resourceVersion: "8" });
  assert.equal(c.scale("ns", DEPLOY, "web")?.replicas, 5);
});
