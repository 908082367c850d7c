import assert from "node:assert/strict";
import { test } from "node:test";
import type { Informer, InformerOptions, KubeObject, ResourceType } from "../kube/index.js";
import { TargetCache } from "../kube/index.js";
import { CachedAuthSources } from "./cached.js";
import type { AuthSources } from "./sources.js";

/** A fake informer (no API server): objects put by the test, a synced flag, the options it was made with. */
class FakeInformer {
  listed = true;
  stopped = false;
  started = false;
  readonly objects = new Map<string, KubeObject>();
  constructor(
    readonly kind: string,
    readonly options: InformerOptions,
  ) {}
  onChange() {
    return () => undefined;
  }
  hasSynced() {
    return this.listed;
  }
  get(key: string) {
    return this.objects.get(key);
  }
  start() {
    this.started = true;
  }
  stop() {
    this.stopped = true;
    return Promise.resolve();
  }
  put(key: string, o: KubeObject) {
    this.objects.set(key, this.options.transform ? this.options.transform(o) : o);
  }
}

function setup(preload: (kind: string, f: FakeInformer) => void = () => undefined) {
  const made: FakeInformer[] = [];
  const dropped: FakeInformer[] = [];
  let now = 0;
  const kube = {
    informer<T extends KubeObject>(type: ResourceType<T>, options: InformerOptions = {}) {
      const f = new FakeInformer(type.kind, options);
      preload(type.kind, f);
      made.push(f);
      // synced() resolves at once unless the test made the informer unsynced
      return Object.assign(f, {
        synced: () => (f.hasSynced() ? Promise.resolve() : new Promise<void>(() => undefined)),
      }) as unknown as Informer<T>;
    },
    dropInformer(i: Informer<KubeObject>) {
      dropped.push(i as unknown as FakeInformer);
      return Promise.resolve();
    },
  };
  // the fallback counts API server reads (a fake: no API server here)
  const reads: string[] = [];
  const fallback: AuthSources = {
    getSecret: (ns, n) => (reads.push(`Secret ${ns}/${n}`), Promise.resolve({ password: "from-api" })),
    getConfigMap: (ns, n) => (reads.push(`ConfigMap ${ns}/${n}`), Promise.resolve({ k: "from-api" })),
    getTriggerAuthentication: (k, ns, n) => (reads.push(`${k} ${ns}/${n}`), Promise.resolve({})),
    getPodTemplate: (ns, t) => (reads.push(`${t.kind} ${ns}/${t.name}`), Promise.resolve({ found: true })),
  };
  const targets = new TargetCache(kube, () => now);
  const sources = new CachedAuthSources(kube, targets, fallback, {
    idleMs: 60_000,
    syncTimeoutMs: 20,
    now: () => now,
  });
  const byKind = (kind: string) => made.filter((f) => f.kind === kind);
  return { sources, reads, made, dropped, byKind, advance: (ms: number) => (now += ms) };
}

test("a referenced Secret is read through a watch of that Secret alone, trimmed to its data; no API read", async () => {
  const s = setup((kind, f) => {
    if (kind === "Secret") {
      f.put("ns/kafka", {
        metadata: { name: "kafka", namespace: "ns", managedFields: [{}] } as KubeObject["metadata"],
        data: { password: Buffer.from("s3cret").toString("base64") },
      } as KubeObject);
    }
  });
  assert.deepEqual(await s.sources.getSecret("ns", "kafka"), { password: "s3cret" });
  assert.deepEqual(await s.sources.getSecret("ns", "kafka"), { password: "s3cret" });
  const secrets = s.byKind("Secret");
  assert.equal(secrets.length, 1, "one watch, reused");
  assert.deepEqual(secrets[0]?.options.namespaces, ["ns"]);
  assert.equal(secrets[0]?.options.fieldSelector, "metadata.name=kafka");
  assert.equal(secrets[0]?.started, true);
  assert.deepEqual(Object.keys(secrets[0]?.get("ns/kafka")?.metadata ?? {}).sort(), [
    "name",
    "namespace",
    "resourceVersion",
  ]);
  assert.deepEqual(s.reads, []);
  assert.deepEqual(s.sources.watchedObjects(), ["Secret ns/kafka"]);

  // a rotated password: the watch's next object is what the next read returns
  secrets[0]?.put("ns/kafka", {
    metadata: { name: "kafka", namespace: "ns" },
    data: { password: Buffer.from("rotated").toString("base64") },
  } as KubeObject);
  assert.deepEqual(await s.sources.getSecret("ns", "kafka"), { password: "rotated" });
  // a Secret that does not exist: undefined, as from the API server
  assert.equal(await s.sources.getSecret("ns", "missing"), undefined);
  assert.deepEqual(s.reads, []);
});

test("a watch that does not list in time: the API server answers; an unused watch stops after idleMs", async () => {
  const s = setup((kind, f) => {
    if (kind === "ConfigMap") f.listed = false;
  });
  assert.deepEqual(await s.sources.getConfigMap("ns", "cm"), { k: "from-api" });
  assert.deepEqual(s.reads, ["ConfigMap ns/cm"]);
  await s.sources.getSecret("ns", "other");
  s.advance(61_000);
  await s.sources.getSecret("ns", "kafka");
  assert.deepEqual(s.dropped.map((f) => f.options.fieldSelector).sort(), [
    "metadata.name=cm",
    "metadata.name=other",
  ]);
  assert.deepEqual(s.sources.watchedObjects(), ["Secret ns/kafka"]);
});

test("TriggerAuthentications from their informers once listed, else from the API server", async () => {
  const s = setup((kind, f) => {
    if (kind === "TriggerAuthentication") {
      f.put("ns/ta", {
        metadata: { name: "ta", namespace: "ns" },
        spec: { secretTargetRef: [{ parameter: "password", name: "kafka", key: "password" }] },
      } as KubeObject);
    }
    if (kind === "ClusterTriggerAuthentication") f.listed = false;
  });
  assert.deepEqual(await s.sources.getTriggerAuthentication("TriggerAuthentication", "ns", "ta"), {
    secretTargetRef: [{ parameter: "password", name: "kafka", key: "password" }],
  });
  assert.equal(await s.sources.getTriggerAuthentication("TriggerAuthentication", "ns", "nope"), undefined);
  assert.deepEqual(s.reads, []);
  await s.sources.getTriggerAuthentication("ClusterTriggerAuthentication", "ns", "cta");
  assert.deepEqual(s.reads, ["ClusterTriggerAuthentication ns/cta"]);
});

test("the pod template of a cached Deployment comes from the cache; other kinds from the API server", async () => {
  const s = setup((kind, f) => {
    if (kind === "Deployment") {
      f.put("ns/web", {
        metadata: { name: "web", namespace: "ns", resourceVersion: "1" },
        spec: {
          replicas: 1,
          template: { spec: { containers: [{ name: "c", env: [{ name: "A", value: "1" }] }] } },
        },
      } as KubeObject);
    }
  });
  assert.deepEqual(
    await s.sources.getPodTemplate("ns", { apiVersion: "apps/v1", kind: "Deployment", name: "web" }),
    {
      found: true,
      template: { spec: { containers: [{ name: "c", env: [{ name: "A", value: "1" }] }] } },
    },
  );
  assert.deepEqual(s.reads, []);
  await s.sources.getPodTemplate("ns", { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: "web" });
  await s.sources.getPodTemplate("ns", { apiVersion: "apps/v1", kind: "Deployment", name: "new" });
  assert.deepEqual(s.reads, ["Rollout ns/web", "Deployment ns/new"]);
});
