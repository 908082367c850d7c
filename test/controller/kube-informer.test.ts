/**
 * Informers of controller/kube against the real API server: keys on create/update/delete in the watched
 * namespaces only, periodic resync, a relist after a real 410 Gone, resuming after dropped connections and
 * after the API server was unreachable for a while (a TCP proxy in front of it cuts the network).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  CLUSTER_TRIGGER_AUTHENTICATIONS,
  HORIZONTAL_POD_AUTOSCALERS,
  Informer,
  WorkQueue,
  connectKube,
  KubeRest,
  SCALED_OBJECTS,
  SECRETS,
  resourcePath,
  type RequestOptions,
  type WatchParams,
} from "../../controller/kube/index.js";
import { sleep } from "../stack/process.js";
import { clients, createNamespace, stackKubeConfig } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { ApiProxy, applyLagscaleCrds, kubeConfigVia, scaledObject } from "./kube-support.js";

const kc = stackKubeConfig();
const rest = new KubeRest(kc);
const namespaces: { name: string; remove: () => Promise<void> }[] = [];
let nsA = "";
let nsB = "";
let nsC = "";

before(async () => {
  await applyLagscaleCrds(rest);
  for (const p of ["kube-inf-a", "kube-inf-b", "kube-inf-c"])
    namespaces.push(await createNamespace(clients().core, p));
  [nsA, nsB, nsC] = namespaces.map((n) => n.name) as [string, string, string];
});
after(async () => {
  await Promise.all(namespaces.map((n) => n.remove()));
  rest.close();
});

/** Records every key a handler got, in order. */
function recorder(informer: { onChange(handler: (key: string) => void): unknown }) {
  const keys: string[] = [];
  informer.onChange((key) => keys.push(key));
  return keys;
}

const soPath = (ns: string, name?: string) => resourcePath(SCALED_OBJECTS, ns, name);

test("keys of ScaledObjects created, updated and deleted in the watched namespaces, and none from others", async (t) => {
  await rest.post(soPath(nsA), scaledObject(nsA, "pre"));
  const informer = new Informer(kc, rest, SCALED_OBJECTS, { namespaces: [nsA, nsB], resyncMs: 0 });
  const keys = recorder(informer);
  informer.start();
  t.after(() => informer.stop());
  await waitFor("synced", () => (informer.hasSynced() ? true : undefined));
  await informer.synced();
  assert.equal(informer.get(`${nsA}/pre`)?.spec.scaleTargetRef.name, "consumer", "listed before the watch");
  assert.deepEqual(keys, [`${nsA}/pre`]);

  await rest.post(soPath(nsC), scaledObject(nsC, "elsewhere"));
  await rest.post(soPath(nsB), scaledObject(nsB, "so1"));
  await waitFor("add of so1", () => (keys.includes(`${nsB}/so1`) ? true : undefined));
  assert.ok(informer.get(`${nsB}/so1`));

  await rest.patch(soPath(nsB, "so1"), { metadata: { labels: { changed: "yes" } } });
  await waitFor("update of so1", () =>
    informer.get(`${nsB}/so1`)?.metadata.labels?.changed === "yes" ? true : undefined,
  );
  assert.equal(keys.filter((k) => k === `${nsB}/so1`).length, 2, "add and update each deliver the key");

  await rest.delete(soPath(nsB, "so1"));
  await waitFor("delete of so1", () =>
    keys.filter((k) => k === `${nsB}/so1`).length === 3 ? true : undefined,
  );
  assert.equal(informer.get(`${nsB}/so1`), undefined, "gone from the cache");

  await sleep(500);
  assert.ok(
    !keys.some((k) => k.startsWith(`${nsC}/`)),
    `no key from the unwatched namespace: ${keys.join(", ")}`,
  );
  assert.deepEqual(
    informer.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    [`${nsA}/pre`],
  );
  assert.equal(informer.get(`${nsC}/elsewhere`), undefined);
});

test("resync re-delivers every cached key without any change", async (t) => {
  const informer = new Informer(kc, rest, SCALED_OBJECTS, { namespaces: [nsA], resyncMs: 300 });
  const keys = recorder(informer);
  informer.start();
  t.after(() => informer.stop());
  await informer.synced();
  await waitFor(
    "three deliveries of pre",
    () => (keys.filter((k) => k === `${nsA}/pre`).length >= 3 ? true : undefined),
    10_000,
  );
});

test("secrets in the watched namespaces, and a cluster-scoped type cluster-wide despite a namespace list", async (t) => {
  const secrets = new Informer(kc, rest, SECRETS, { namespaces: [nsA], resyncMs: 0 });
  const ctas = new Informer(kc, rest, CLUSTER_TRIGGER_AUTHENTICATIONS, { namespaces: [nsA], resyncMs: 0 });
  const secretKeys = recorder(secrets);
  const ctaKeys = recorder(ctas);
  secrets.start();
  ctas.start();
  t.after(() => Promise.all([secrets.stop(), ctas.stop()]));
  await Promise.all([secrets.synced(), ctas.synced()]);

  const ctaName = `${nsA}-cta`;
  const ctaPath = resourcePath(CLUSTER_TRIGGER_AUTHENTICATIONS, undefined, ctaName);
  await rest.post(resourcePath(CLUSTER_TRIGGER_AUTHENTICATIONS), {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ClusterTriggerAuthentication",
    metadata: { name: ctaName },
    spec: { secretTargetRef: [{ parameter: "password", name: "kafka", key: "password" }] },
  });
  t.after(() => rest.delete(ctaPath).catch(() => undefined));
  await waitFor("the ClusterTriggerAuthentication", () => (ctaKeys.includes(ctaName) ? true : undefined));
  assert.ok(ctas.get(ctaName), "cluster-scoped key is the bare name");

  await rest.post(resourcePath(SECRETS, nsA), { metadata: { name: "kafka" }, stringData: { password: "a" } });
  await waitFor("the Secret", () => (secretKeys.includes(`${nsA}/kafka`) ? true : undefined));
  await rest.patch(resourcePath(SECRETS, nsA, "kafka"), { stringData: { password: "b" } });
  await waitFor("the Secret's update", () =>
    secrets.get(`${nsA}/kafka`)?.data?.password === Buffer.from("b").toString("base64") ? true : undefined,
  );
});

/** KubeRest that counts list requests of one collection path. */
class CountingRest extends KubeRest {
  lists = 0;
  constructor(
    kubeConfig: ReturnType<typeof stackKubeConfig>,
    private readonly collection: string,
  ) {
    super(kubeConfig);
  }
  override request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
    if (method === "GET" && path === this.collection) this.lists++;
    return super.request<T>(method, path, options);
  }
}

test("a dropped connection resumes from the last resourceVersion; a stale one gets a real 410 and a relist", async (t) => {
  const ns = nsB;
  const proxy = ApiProxy.forServer(rest.server);
  await proxy.accept();
  t.after(() => proxy.close());
  const viaProxy = kubeConfigVia(kc, proxy.url);
  const counting = new CountingRest(viaProxy, soPath(ns));
  t.after(() => counting.close());

  const watchRVs: string[] = [];
  let makeStale = false;
  const informer = new Informer(viaProxy, counting, SCALED_OBJECTS, {
    namespaces: [ns],
    resyncMs: 0,
    backoff: { initialMs: 100, maxMs: 1000 },
    onWatchRequest: (params: WatchParams) => {
      const next = makeStale ? { ...params, resourceVersion: "1" } : params;
      makeStale = false;
      watchRVs.push(String(next.resourceVersion));
      return next;
    },
  });
  const keys = recorder(informer);
  for (const name of ["kept", "gone"]) await rest.post(soPath(ns), scaledObject(ns, name));
  informer.start();
  t.after(() => informer.stop());
  await informer.synced();
  assert.equal(counting.lists, 1);
  assert.ok(informer.get(`${ns}/kept`) && informer.get(`${ns}/gone`));

  // 1. connections reset: the watch is re-opened from where it was, without a relist
  const watchesBefore = watchRVs.length;
  proxy.drop();
  await waitFor("a new watch after the reset", () => (watchRVs.length > watchesBefore ? true : undefined));
  await rest.post(soPath(ns), scaledObject(ns, "after-reset"));
  await waitFor("an object created after the reset", () =>
    informer.get(`${ns}/after-reset`) ? true : undefined,
  );
  assert.equal(counting.lists, 1, "resumed from its resourceVersion: no relist");
  assert.notEqual(watchRVs.at(-1), "", "the re-opened watch carried a resourceVersion");

  // 2. the API server unreachable for a while, then a watch from a resourceVersion it no longer has
  await proxy.refuse();
  await rest.delete(soPath(ns, "gone"));
  await rest.patch(soPath(ns, "kept"), { metadata: { labels: { during: "outage" } } });
  await rest.post(soPath(ns), scaledObject(ns, "born-in-outage"));
  await sleep(1500); // a few failed reconnects
  makeStale = true;
  await proxy.accept();

  await waitFor("the relist", () => (counting.lists >= 2 ? true : undefined), 20_000);
  await waitFor("the state after the outage", () =>
    informer.get(`${ns}/born-in-outage`) &&
    !informer.get(`${ns}/gone`) &&
    informer.get(`${ns}/kept`)?.metadata.labels?.during === "outage"
      ? true
      : undefined,
  );
  assert.ok(watchRVs.includes("1"), "a watch was sent with the stale resourceVersion");
  const afterStale = watchRVs.slice(watchRVs.indexOf("1") + 1);
  assert.ok(
    afterStale.some((rv) => rv !== "1" && rv !== ""),
    `after the 410 the informer listed and watched from the new resourceVersion: ${watchRVs.join(", ")}`,
  );
  assert.equal(
    keys.filter((k) => k === `${ns}/gone`).length,
    2,
    "the add, then the delete that only the relist saw",
  );
  assert.ok(keys.includes(`${ns}/born-in-outage`));

  // and it keeps watching
  await rest.post(soPath(ns), scaledObject(ns, "later"));
  await waitFor("an object created after recovery", () => (informer.get(`${ns}/later`) ? true : undefined));
});

test("the wiring of controller/kube's header: informers feed keys to a work queue; the reconcile reads the cache", async (t) => {
  const kube = connectKube({ kubeconfig: kc, namespaces: [nsC], resyncMs: 0 });
  t.after(() => kube.close());
  const sos = kube.informer(SCALED_OBJECTS);
  const hpas = kube.informer(HORIZONTAL_POD_AUTOSCALERS);
  const queue = new WorkQueue({ name: "scaledobjects", concurrency: 2 });
  t.after(() => queue.stop());
  sos.onChange((key) => queue.add(key));
  // a foreign HPA maps to the ScaledObjects of its target: here, by name
  hpas.onChange((_key, hpa) => {
    for (const so of sos.list(hpa.metadata?.namespace)) {
      if (so.spec.scaleTargetRef.name === hpa.spec?.scaleTargetRef?.name)
        queue.add(`${nsC}/${so.metadata.name}`);
    }
  });
  const seen: string[] = [];
  kube.start();
  await kube.synced();
  queue.start(async (key) => {
    const so = sos.get(key);
    seen.push(`${key}:${so ? so.spec.scaleTargetRef.name : "deleted"}`);
    return undefined;
  });
  await waitFor("the listed object reconciled", () =>
    seen.includes(`${nsC}/elsewhere:consumer`) ? true : undefined,
  );
  await rest.post(resourcePath(HORIZONTAL_POD_AUTOSCALERS, nsC), {
    metadata: { name: "foreign" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "consumer" },
      minReplicas: 1,
      maxReplicas: 3,
    },
  });
  await waitFor("the HPA mapped to its ScaledObject", () =>
    seen.filter((s) => s === `${nsC}/elsewhere:consumer`).length >= 2 ? true : undefined,
  );
  assert.ok(hpas.get(`${nsC}/foreign`));
  await rest.delete(soPath(nsC, "elsewhere"));
  await waitFor("the delete reconciled", () =>
    seen.includes(`${nsC}/elsewhere:deleted`) ? true : undefined,
  );
});
