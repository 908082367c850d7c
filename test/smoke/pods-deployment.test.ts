/**
 * Smoke test: the process pod runner runs a Deployment's pods as real processes. Two replicas of a tiny HTTP
 * server, each bound to its own pod IP, answer with their own pod name; the Deployment becomes available
 * through the real ReplicaSet controller seeing the pods Ready (readiness probe). Scaled to 0, the pods are
 * stopped with SIGTERM and their processes and ports are gone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { isAlive } from "../stack/process.js";
import { clients, createNamespace, podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { loadStack } from "../support/stack.js";

const PORT = 8080;

interface Info {
  name: string;
  ip: string;
  pid: number;
  namespace: string;
  node: string;
  kubernetesServiceHost: string;
  serviceAccountFiles: string[];
}

async function get(ip: string, urlPath: string): Promise<string> {
  const res = await fetch(`http://${ip}:${PORT}${urlPath}`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200, `GET ${ip}${urlPath}`);
  return res.text();
}

function portOpen(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port: PORT });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

test("a 2-replica Deployment runs real processes on their own pod IPs; scaled to 0 they are gone", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const { core, apps } = clients(stack);
  const ns = await createNamespace(core, "pods-deploy");
  t.after(ns.remove);

  const deployment: V1Deployment = {
    metadata: { name: "echo", namespace: ns.name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "echo" } },
      template: {
        metadata: { labels: { app: "echo" } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "echo",
              image: "lagscale.local/node",
              args: ["test/fixtures/http-echo.ts"],
              env: [
                { name: "PORT", value: String(PORT) },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
              ],
              ports: [{ name: "http", containerPort: PORT }],
              readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment });
  await waitFor(
    "2 available replicas",
    async () => {
      const d = await apps.readNamespacedDeployment({ name: "echo", namespace: ns.name });
      return d.status?.availableReplicas === 2 ? d : undefined;
    },
    60_000,
  );

  const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=echo" })).items;
  assert.equal(pods.length, 2);
  const infos: Info[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? "";
    const ip = pod.status?.podIP ?? "";
    assert.match(ip, /^127\.\d+\.\d+\.\d+$/, `pod IP of ${name}`);
    assert.notEqual(ip, "127.0.0.1");
    assert.equal(pod.spec?.nodeName, stack.kube.nodeName);
    assert.equal(await get(ip, "/"), name, "the server on the pod's IP is that pod's process");
    const info = JSON.parse(await get(ip, "/info")) as Info;
    assert.equal(info.ip, ip);
    assert.equal(info.namespace, ns.name);
    assert.equal(info.node, stack.kube.nodeName);
    assert.deepEqual(
      info.serviceAccountFiles,
      ["token", "ca.crt", "namespace"],
      "service-account folder mounted",
    );
    assert.ok(info.kubernetesServiceHost, "KUBERNETES_SERVICE_HOST set");
    assert.ok(isAlive(info.pid));
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    infos.push(info);
  }
  assert.notEqual(infos[0]?.ip, infos[1]?.ip, "each pod has its own IP");

  await apps.patchNamespacedDeploymentScale({
    name: "echo",
    namespace: ns.name,
    body: [{ op: "replace", path: "/spec/replicas", value: 0 }],
  });
  await waitFor(
    "the pods to be deleted",
    async () => {
      const left = await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=echo" });
      return left.items.length === 0 ? true : undefined;
    },
    60_000,
  );
  for (const info of infos) {
    await waitFor(
      `process ${info.pid} of ${info.name} to be gone`,
      async () => (isAlive(info.pid) ? undefined : true),
      10_000,
    );
    assert.equal(await portOpen(info.ip), false, `${info.ip}:${PORT} is closed`);
    const log = readFileSync(path.join(stack.dir, "pods", ns.name, info.name, "echo.log"), "utf8");
    assert.match(log, /listening on/, "container output is in its log file");
    assert.match(log, /SIGTERM, closing/, "the process was stopped with SIGTERM, not killed");
  }
});
