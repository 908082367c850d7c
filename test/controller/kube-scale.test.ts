/**
 * The scale client and pod helpers of controller/kube against the real API server and controllers: a
 * Deployment scaled through /scale gets its pods from the ReplicaSet controller (run by the pod runner), and
 * the pod given the lowest deletion cost is the one the ReplicaSet controller removes on scale-in; a
 * StatefulSet; a custom resource with a scale subresource, found through discovery after its CRD appears;
 * a ConfigMap refused for having no /scale.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  KubeRest,
  NotScalableError,
  PodClient,
  ScaleClient,
  isNotFound,
  scaleTargetKind,
  type Pod,
} from "../../controller/kube/index.js";
import { loadStack } from "../support/stack.js";
import { clients, createNamespace, stackKubeConfig } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { applyCrd } from "./kube-support.js";

const rest = new KubeRest(stackKubeConfig());
const scale = new ScaleClient(rest);
const pods = new PodClient(rest);
let ns = "";
let removeNs: () => Promise<void> = async () => undefined;
const noPodRunner =
  loadStack().kube.kind !== "local" ? "pods run only on the local stack's pod runner" : undefined;

before(async () => {
  const created = await createNamespace(clients().core, "kube-scale");
  ns = created.name;
  removeNs = created.remove;
});
after(async () => {
  await removeNs();
  rest.close();
});

function podTemplate(app: string) {
  return {
    metadata: { labels: { app }, annotations: { "example.com/keep": "me" } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "echo",
          image: "lagscale.local/node",
          args: ["test/fixtures/http-echo.ts"],
          env: [
            { name: "PORT", value: "8080" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
          ports: [{ name: "http", containerPort: 8080 }],
          readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
        },
      ],
    },
  };
}

test(
  "a Deployment: read and write /scale, its pods with IPs and readiness, and deletion cost steering scale-in",
  { skip: noPodRunner },
  async () => {
    await rest.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: "consumer" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "consumer" } },
        template: podTemplate("consumer"),
      },
    });
    const ref = { name: "consumer" }; // apiVersion and kind default to apps/v1 Deployment
    const s1 = await scale.get(ns, ref);
    assert.equal(s1.replicas, 1);
    assert.deepEqual(s1.target, {
      group: "apps",
      version: "v1",
      kind: "Deployment",
      resource: "deployments",
      namespaced: true,
      scalable: true,
    });
    assert.equal(scaleTargetKind(s1.target), "apps/v1.Deployment");

    const s3 = await scale.setReplicas(ns, ref, 3);
    assert.equal(s3.replicas, 3);
    const deployment = await rest.get<{ spec: { replicas: number } }>(
      `/apis/apps/v1/namespaces/${ns}/deployments/consumer`,
    );
    assert.equal(deployment.spec.replicas, 3, "the Deployment itself was scaled");
    assert.equal((await scale.get(ns, ref)).replicas, 3, "current replicas read back from /scale");

    const running = await waitFor(
      "3 ready pods",
      async () => {
        const s = await scale.get(ns, ref);
        const list = await pods.forTarget(s);
        return list.length === 3 && list.every((p) => p.ready && p.phase === "Running" && p.ip)
          ? list
          : undefined;
      },
      90_000,
    );
    assert.equal(new Set(running.map((p) => p.ip)).size, 3, "each pod has its own IP");
    for (const p of running) {
      assert.match(p.ip!, /^127\./);
      assert.equal(p.terminating, false);
      assert.equal(p.deletionCost, undefined);
      assert.equal(p.labels.app, "consumer");
    }

    // mark the middle pod as the cheapest to delete, then clear and set it again
    const victim = running[1]!;
    await pods.setDeletionCost(ns, victim.name, -5);
    const raw = await rest.get<Pod>(`/api/v1/namespaces/${ns}/pods/${victim.name}`);
    assert.equal(raw.metadata?.annotations?.["controller.kubernetes.io/pod-deletion-cost"], "-5");
    assert.equal(raw.metadata?.annotations?.["example.com/keep"], "me", "other annotations are left alone");
    await pods.setDeletionCost(ns, victim.name, null);
    const cleared = await rest.get<Pod>(`/api/v1/namespaces/${ns}/pods/${victim.name}`);
    assert.equal(cleared.metadata?.annotations?.["controller.kubernetes.io/pod-deletion-cost"], undefined);
    assert.equal(cleared.metadata?.annotations?.["example.com/keep"], "me");
    await pods.setDeletionCost(ns, victim.name, -5);
    for (const p of running) if (p !== victim) await pods.setDeletionCost(ns, p.name, 10);
    const marked = await pods.forTarget(await scale.get(ns, ref));
    assert.deepEqual(
      marked.map((p) => [p.name, p.deletionCost]),
      running.map((p) => [p.name, p === victim ? -5 : 10]),
    );
    await assert.rejects(pods.setDeletionCost(ns, victim.name, 1.5), /not an int32/);

    await scale.setReplicas(ns, ref, 2);
    const left = await waitFor(
      "2 pods after scale-in",
      async () => {
        const list = (await pods.forTarget(await scale.get(ns, ref))).filter((p) => !p.terminating);
        return list.length === 2 ? list : undefined;
      },
      60_000,
    );
    assert.ok(
      !left.some((p) => p.name === victim.name),
      `the ReplicaSet controller removed the pod with the lowest deletion cost (${victim.name}); left: ${left.map((p) => p.name).join(", ")}`,
    );

    await scale.setReplicas(ns, ref, 0);
    await assert.rejects(scale.setReplicas(ns, ref, -1), /invalid replicas -1/);
  },
);

test("a StatefulSet through /scale, and its pods", { skip: noPodRunner }, async () => {
  await rest.post(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
    metadata: { name: "web" },
    spec: {
      replicas: 0,
      serviceName: "web",
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app: "web" } },
      template: podTemplate("web"),
    },
  });
  const ref = { apiVersion: "apps/v1", kind: "StatefulSet", name: "web" };
  assert.equal((await scale.get(ns, ref)).replicas, 0);
  const s = await scale.setReplicas(ns, ref, 2);
  assert.equal(s.replicas, 2);
  assert.equal(s.target.resource, "statefulsets");
  const sts = await rest.get<{ spec: { replicas: number } }>(
    `/apis/apps/v1/namespaces/${ns}/statefulsets/web`,
  );
  assert.equal(sts.spec.replicas, 2);
  const list = await waitFor(
    "2 StatefulSet pods",
    async () => {
      const got = await pods.forTarget(await scale.get(ns, ref));
      return got.length === 2 && got.every((p) => p.ip) ? got : undefined;
    },
    60_000,
  );
  assert.deepEqual(
    list.map((p) => p.name),
    ["web-0", "web-1"],
  );
  await scale.setReplicas(ns, ref, 0);
});

test("a custom resource with a scale subresource, resolved once its CRD appears", async (t) => {
  const group = `s${Math.random().toString(36).slice(2, 8)}.scaletest.lagscale.dev`;
  const ref = { apiVersion: `${group}/v1`, kind: "Scalable", name: "thing" };
  // the group does not exist yet: discovery says so, and the miss is not cached for good
  await assert.rejects(scale.get(ns, ref), /no kind Scalable in .*is its CRD installed/);

  const crdName = `scalables.${group}`;
  await applyCrd(rest, {
    metadata: { name: crdName },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "scalables", singular: "scalable", kind: "Scalable", listKind: "ScalableList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", properties: { replicas: { type: "integer" } } },
                status: {
                  type: "object",
                  properties: { replicas: { type: "integer" }, selector: { type: "string" } },
                },
              },
            },
          },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: ".spec.replicas",
              statusReplicasPath: ".status.replicas",
              labelSelectorPath: ".status.selector",
            },
          },
        },
      ],
    },
  });
  t.after(() =>
    rest.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`).catch(() => undefined),
  );

  const path = `/apis/${group}/v1/namespaces/${ns}/scalables`;
  await rest.post(path, {
    apiVersion: `${group}/v1`,
    kind: "Scalable",
    metadata: { name: "thing" },
    spec: { replicas: 1 },
  });
  await rest.patch(`${path}/thing/status`, { status: { replicas: 1, selector: "app=thing" } });

  const s = await waitFor("discovery to learn the new kind", () => scale.get(ns, ref), 15_000);
  assert.equal(s.replicas, 1);
  assert.equal(s.statusReplicas, 1);
  assert.equal(s.selector, "app=thing");
  assert.equal(scaleTargetKind(s.target), `${group}/v1.Scalable`);

  const s4 = await scale.setReplicas(ns, ref, 4);
  assert.equal(s4.replicas, 4);
  const obj = await rest.get<{ spec: { replicas: number } }>(`${path}/thing`);
  assert.equal(obj.spec.replicas, 4, "spec.replicas of the custom resource was written through /scale");
  assert.deepEqual(await pods.forTarget(s4), [], "the selector matches no pods");
});

test("a ConfigMap is refused for having no /scale; a missing target is a 404; an unknown kind names itself", async () => {
  await rest.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: "cm" }, data: { a: "b" } });
  await assert.rejects(
    scale.get(ns, { apiVersion: "v1", kind: "ConfigMap", name: "cm" }),
    (err: unknown) =>
      err instanceof NotScalableError &&
      err.message === `ConfigMap ${ns}/cm (v1, resource configmaps) does not have a /scale subresource`,
  );
  await assert.rejects(
    scale.setReplicas(ns, { apiVersion: "v1", kind: "ConfigMap", name: "cm" }, 1),
    NotScalableError,
  );
  await assert.rejects(
    scale.get(ns, { name: "absent" }),
    (err: unknown) => isNotFound(err) && /absent/.test(String(err)),
  );
  await assert.rejects(
    scale.get(ns, { apiVersion: "apps/v1", kind: "Deploymnet", name: "x" }),
    /scale target Deploymnet .*\/x: the API server has no kind Deploymnet in apps\/v1/,
  );
});
