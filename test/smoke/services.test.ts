/**
 * Smoke test of Services on the local stack: the pod runner's Service proxy between the real API server,
 * real pods (processes of services-app.ts) and Services with a selector, as kube-proxy and the EndpointSlice
 * controller would be on a cluster. A Deployment of 2 pods serves HTTPS behind Service `web` (all pods) and
 * Service `leader` (the pod labelled lagscale.io/leader=true):
 *
 * - the API server calls a validating webhook whose clientConfig names `web`, through our EndpointSlice;
 * - a pod calls `https://web.<ns>.svc/...` by name, with Node's fetch and https, and the certificate for that
 *   name verifies;
 * - `leader` reaches only the labelled pod and follows the label to the other pod;
 * - a pod that is not ready gets no traffic, and with no ready pod the slice says not ready;
 * - a pod acts as its ServiceAccount through the in-cluster kubeconfig (RBAC allows one read, refuses another);
 * - `--cert-dir=/certs` and NODE_EXTRA_CA_CERTS=/certs/ca.crt reach the program as the volume's folder.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiException,
  DiscoveryV1Api,
  RbacAuthorizationV1Api,
  type V1Deployment,
  type V1Pod,
} from "@kubernetes/client-node";
import { hostAddress } from "../stack/host-address.js";
import { createCa, issueCert } from "../stack/kube/pki.js";
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICE_MANAGER } from "../stack/pod-runner/services.js";
import { clients, createNamespace, podRunnerMissing, stackKubeConfig } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const LEADER = "lagscale.io/leader";

interface CallResult {
  status?: number;
  body?: string;
  error?: string;
}

async function control<T>(pod: V1Pod, route: string, method = "GET"): Promise<T> {
  const res = await fetch(`http://${pod.status?.podIP}:8080${route}`, {
    method,
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(res.status, 200, `${method} ${route} on ${pod.metadata?.name}`);
  return (await res.json()) as T;
}

/** `url` called from inside `from`, with fetch or https. */
function callFrom(from: V1Pod, url: string, via: "fetch" | "https"): Promise<CallResult> {
  return control<CallResult>(from, `/call?via=${via}&url=${encodeURIComponent(url)}`);
}

/** Which pods answered `n` calls of `url` from `from` (each answer closes its connection). */
async function answers(from: V1Pod, url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await callFrom(from, url, "https");
    assert.equal(r.status, 200, `call ${url}: ${JSON.stringify(r)}`);
    out.push(r.body ?? "");
  }
  return out;
}

test("Services with a selector reach ready pods from the API server and from pods", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const { core, apps } = clients(stack);
  const kc = stackKubeConfig(stack);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const ns = await createNamespace(core, "services");
  t.after(ns.remove);
  const tmp = mkdtempSync(path.join(tmpdir(), "lagscale-services-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));

  const ca = await createCa(tmp, "ca", "services-smoke-ca");
  // Short names too, so that `https://web/` verifies from a pod of the namespace, as on a cluster.
  const names = ["web", "leader"].flatMap((s) => [
    `${s}.${ns.name}.svc`,
    `${s}.${ns.name}.svc.cluster.local`,
    `${s}.${ns.name}`,
    s,
  ]);
  const cert = await issueCert(tmp, "server", ca, {
    commonName: names[0]!,
    dnsNames: names,
    usage: "server",
  });
  await core.createNamespacedSecret({
    namespace: ns.name,
    body: {
      metadata: { name: "certs" },
      stringData: {
        "tls.crt": readFileSync(cert.cert, "utf8"),
        "tls.key": readFileSync(cert.key, "utf8"),
        "ca.crt": readFileSync(ca.cert, "utf8"),
      },
    },
  });
  // RBAC for the pods' ServiceAccount: get ConfigMaps, nothing on Secrets.
  await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: "web" } } });
  await rbac.createNamespacedRole({
    namespace: ns.name,
    body: {
      metadata: { name: "read-configmaps" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns.name,
    body: {
      metadata: { name: "web-reads-configmaps" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-configmaps" },
      subjects: [{ kind: "ServiceAccount", name: "web", namespace: ns.name }],
    },
  });
  await core.createNamespacedConfigMap({
    namespace: ns.name,
    body: { metadata: { name: "readable" }, data: { hello: "world" } },
  });

  const deployment: V1Deployment = {
    metadata: { name: "web", namespace: ns.name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          serviceAccountName: "web",
          terminationGracePeriodSeconds: 5,
          volumes: [{ name: "certs", secret: { secretName: "certs" } }],
          containers: [
            {
              name: "web",
              image: "lagscale.local/node",
              args: ["test/smoke/services-app.ts", "--cert-dir=/certs"],
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "NODE_EXTRA_CA_CERTS", value: "/certs/ca.crt" },
              ],
              ports: [
                { name: "https", containerPort: 8443 },
                { name: "control", containerPort: 8080 },
              ],
              volumeMounts: [{ name: "certs", mountPath: "/certs", readOnly: true }],
              readinessProbe: {
                httpGet: { path: "/ready", port: "https", scheme: "HTTPS" },
                periodSeconds: 1,
                failureThreshold: 1,
              },
            },
          ],
        },
      },
    },
  };
  await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment });
  await core.createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "https", port: 443, targetPort: "https" }] },
    },
  });
  await core.createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name: "leader" },
      spec: { selector: { app: "web", [LEADER]: "true" }, ports: [{ port: 443, targetPort: 8443 }] },
    },
  });
  await waitFor(
    "2 available replicas",
    async () => {
      const d = await apps.readNamespacedDeployment({ name: "web", namespace: ns.name });
      return d.status?.availableReplicas === 2 ? d : undefined;
    },
    60_000,
  );
  const listPods = async () =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=web" })).items.sort((a, b) =>
      (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  const [a, b] = await listPods();
  assert.ok(a && b, "two pods");
  const podNames = [a.metadata?.name ?? "", b.metadata?.name ?? ""];
  const webUrl = `https://web.${ns.name}.svc/whoami`;

  await t.test("mountPaths in args and env are the volume's folder", async () => {
    const who = await control<{ pod: string; certDir: string; caFile: string }>(a, "/whoami");
    const folder = path.join(stack.dir, "pods", ns.name, podNames[0]!, "volumes", "certs");
    assert.equal(who.pod, podNames[0]);
    assert.equal(who.certDir, folder, "--cert-dir=/certs");
    assert.equal(who.caFile, path.join(folder, "ca.crt"), "NODE_EXTRA_CA_CERTS=/certs/ca.crt");
  });

  await t.test("the EndpointSlice points the API server at the proxy on the host address", async () => {
    const slice = await waitFor("our ready EndpointSlice for web", async () => {
      const list = await discovery.listNamespacedEndpointSlice({
        namespace: ns.name,
        labelSelector: `${SERVICE_NAME_LABEL}=web`,
      });
      const ours = list.items.find((s) => s.metadata?.labels?.[MANAGED_BY_LABEL] === SLICE_MANAGER);
      return ours?.endpoints[0]?.conditions?.ready ? { all: list.items, ours } : undefined;
    });
    assert.equal(slice.all.length, 1, "no other slice for the Service");
    assert.deepEqual(slice.ours.endpoints[0]?.addresses, [hostAddress()]);
    assert.equal(slice.ours.ports?.[0]?.name, "https");
    assert.ok((slice.ours.ports?.[0]?.port ?? 0) > 0);
  });

  await t.test("the API server calls a webhook through the Service", async (st) => {
    const name = `lagscale-services-${ns.name}`;
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name },
        webhooks: [
          {
            name: "refuse.services.lagscale.io",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            failurePolicy: "Fail",
            timeoutSeconds: 10,
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns.name } },
            objectSelector: { matchLabels: { "services.lagscale.io/check": "true" } },
            clientConfig: {
              service: { namespace: ns.name, name: "web", port: 443, path: "/validate" },
              caBundle: readFileSync(ca.cert).toString("base64"),
            },
            rules: [
              { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
            ],
          },
        ],
      },
    });
    st.after(() => admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined));
    // The API server picks the configuration up through an informer: until then the create is allowed.
    const message = await waitFor("the webhook to refuse a ConfigMap", async () => {
      try {
        await core.createNamespacedConfigMap({
          namespace: ns.name,
          dryRun: "All",
          body: { metadata: { name: "checked", labels: { "services.lagscale.io/check": "true" } } },
        });
        return undefined;
      } catch (err) {
        if (!(err instanceof ApiException)) throw err;
        const status = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as {
          message?: string;
        };
        return status.message ?? String(err.body);
      }
    });
    assert.match(
      message,
      /admission webhook "refuse\.services\.lagscale\.io" denied the request: refused by web-/,
    );
    assert.ok(
      podNames.some((p) => message.includes(`refused by ${p}`)),
      `answered by one of the pods: ${message}`,
    );
  });

  await t.test("a pod calls the Service by name with fetch and https; the certificate verifies", async () => {
    const urls = [webUrl, `https://web.${ns.name}.svc.cluster.local/whoami`, `https://web.${ns.name}/whoami`];
    for (const url of [...urls, "https://web/whoami"]) {
      for (const via of ["fetch", "https"] as const) {
        const r = await callFrom(a, url, via);
        assert.equal(r.status, 200, `${via} ${url}: ${JSON.stringify(r)}`);
        assert.ok(podNames.includes(r.body ?? ""), `${via} ${url} answered by ${r.body}`);
      }
    }
    assert.deepEqual(
      new Set(await answers(a, webUrl, 6)),
      new Set(podNames),
      "both ready pods get connections",
    );
    const unknown = await callFrom(a, `https://nothing.${ns.name}.svc/whoami`, "fetch");
    assert.ok(unknown.error, "a name of no Service does not resolve");
  });

  await t.test(
    "a Service selecting the leader label reaches that pod only, and follows the label",
    async () => {
      const leaderUrl = `https://leader.${ns.name}.svc/whoami`;
      const noLeader = await callFrom(a, leaderUrl, "https");
      assert.ok(
        noLeader.error,
        `no pod carries the label: the connection is closed (${JSON.stringify(noLeader)})`,
      );
      const label = (pod: string, value: string | null) =>
        core.patchNamespacedPod({
          name: pod,
          namespace: ns.name,
          body: [
            {
              op: value === null ? "remove" : "add",
              path: `/metadata/labels/${LEADER.replace("/", "~1")}`,
              ...(value === null ? {} : { value }),
            },
          ],
        });
      await label(podNames[0]!, "true");
      await waitFor("calls to reach the leader", async () =>
        (await callFrom(b, leaderUrl, "https")).status === 200 ? true : undefined,
      );
      assert.deepEqual(new Set(await answers(b, leaderUrl, 4)), new Set([podNames[0]]));

      // An open connection to the old leader, through the API server's face (the slice's address and port):
      // it is closed when the label moves, so nothing keeps talking to a pod that no longer leads.
      const slice = await discovery.readNamespacedEndpointSlice({
        name: "leader-lagscale",
        namespace: ns.name,
      });
      const held = net.connect({ host: slice.endpoints[0]!.addresses[0]!, port: slice.ports![0]!.port! });
      let heldClosed = false;
      held.on("close", () => (heldClosed = true)).on("error", () => undefined);
      await new Promise<void>((resolve, reject) => held.once("connect", resolve).once("error", reject));

      await label(podNames[0]!, null);
      await label(podNames[1]!, "true");
      const moved = Date.now();
      await waitFor("the connection to the old leader to be closed", () => (heldClosed ? true : undefined));
      await waitFor("the leader Service to follow the label", async () =>
        (await callFrom(a, leaderUrl, "https")).body === podNames[1] ? true : undefined,
      );
      console.log(`leader Service followed the label in ${Date.now() - moved} ms`);
      assert.deepEqual(new Set(await answers(a, leaderUrl, 4)), new Set([podNames[1]]));
    },
  );

  await t.test(
    "a pod that is not ready gets no traffic; none ready: no endpoint, no connection",
    async () => {
      await control(a, "/unready", "POST");
      await waitFor("pod a to be not Ready", async () => {
        const p = await core.readNamespacedPod({ name: podNames[0]!, namespace: ns.name });
        return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "False")
          ? true
          : undefined;
      });
      assert.deepEqual(new Set(await answers(b, webUrl, 6)), new Set([podNames[1]]));

      await control(b, "/unready", "POST");
      await waitFor("the slice to say not ready", async () => {
        const s = await discovery.readNamespacedEndpointSlice({ name: "web-lagscale", namespace: ns.name });
        return s.endpoints[0]?.conditions?.ready === false ? true : undefined;
      });
      const refused = await callFrom(a, webUrl, "https");
      assert.ok(refused.error, `no ready pod: the connection is closed (${JSON.stringify(refused)})`);
    },
  );

  await t.test("a pod acts as its ServiceAccount through the in-cluster kubeconfig", async () => {
    const r = await control<{
      kubeconfig: string;
      namespace: string;
      configMap: { ok?: unknown };
      secrets: { code?: number; body?: string };
    }>(a, "/kube");
    assert.equal(r.kubeconfig, path.join(stack.dir, "pods", ns.name, podNames[0]!, "kubeconfig", "web.yaml"));
    assert.equal(r.namespace, ns.name);
    assert.deepEqual(r.configMap.ok, { hello: "world" }, "RBAC allows get configmaps");
    assert.equal(r.secrets.code, 403, "RBAC refuses list secrets");
    assert.match(r.secrets.body ?? "", new RegExp(`system:serviceaccount:${ns.name}:web`));
  });
});
