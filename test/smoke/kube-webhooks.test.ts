/**
 * Smoke test of admission webhooks on the stack's real API server, the way lagscale's own webhooks will be
 * reached: a validating and a mutating webhook served by this test process over TLS (with a CA of its own),
 * configured through a Service without a selector and an EndpointSlice that points at this process. There is no
 * kube-proxy, so the API server can only reach the server through the EndpointSlice
 * (`--enable-aggregator-routing`).
 *
 * EndpointSlice validation refuses loopback addresses (127.0.0.0/8), so the endpoint is this machine's first
 * non-loopback IPv4 address, where the test's server listens. The webhook configurations are scoped to the
 * test's own namespace and deleted afterwards.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { hostAddress } from "../stack/host-address.js";
import { createCa, issueCert } from "../stack/kube/pki.js";
import { stackKubeConfig } from "../support/kube.js";

const kc = stackKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);

const ns = `smoke-webhooks-${Date.now().toString(36)}`;
const service = "admission";
const VERDICT = "smoke.lagscale.io/verdict";
const MUTATED = "smoke.lagscale.io/mutated";
const DENIAL = "ConfigMaps labelled verdict=reject are refused by the smoke webhook";

interface AdmissionRequest {
  uid: string;
  kind: { kind: string };
  operation: string;
  namespace?: string;
  name?: string;
  dryRun?: boolean;
  userInfo?: { username?: string };
  object?: { metadata?: { name?: string; labels?: Record<string, string> }; spec?: unknown };
}

interface Seen {
  path: string;
  servername: string | false | null;
  request: AdmissionRequest;
}

/** One admission decision, as the API server expects it back (AdmissionReview v1). */
function decide(path: string, req: AdmissionRequest): Record<string, unknown> {
  const labels = req.object?.metadata?.labels ?? {};
  if (path === "/validate") {
    if (labels[VERDICT] === "reject") {
      return { uid: req.uid, allowed: false, status: { code: 403, reason: "Forbidden", message: DENIAL } };
    }
    return { uid: req.uid, allowed: true };
  }
  const patch: unknown[] = [];
  if (req.object?.metadata?.labels === undefined)
    patch.push({ op: "add", path: "/metadata/labels", value: {} });
  patch.push({ op: "add", path: `/metadata/labels/${MUTATED.replace("/", "~1")}`, value: "true" });
  if (req.kind.kind === "Pod") {
    patch.push({
      op: "add",
      path: "/spec/containers/0/env",
      value: [{ name: "INJECTED_BY", value: "smoke-webhook" }],
    });
  }
  return {
    uid: req.uid,
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
  };
}

async function expectApiError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      const body =
        typeof err.body === "string"
          ? (JSON.parse(err.body) as { message?: string })
          : (err.body as { message?: string });
      return { code: err.code, message: body.message ?? String(err.body) };
    }
    throw err;
  }
  assert.fail("the API server accepted what the webhook should have refused");
}

describe("admission webhooks reached through a Service's EndpointSlice", () => {
  const seen: Seen[] = [];
  const tmp = mkdtempSync(path.join(tmpdir(), "lagscale-webhook-"));
  const address = hostAddress();
  let server: Server;
  const configName = `lagscale-smoke-${ns}`;

  before(async () => {
    const ca = await createCa(tmp, "ca", "smoke-webhook-ca");
    const dns = `${service}.${ns}.svc`;
    const cert = await issueCert(tmp, "server", ca, { commonName: dns, dnsNames: [dns], usage: "server" });
    server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const review = JSON.parse(Buffer.concat(chunks).toString()) as { request: AdmissionRequest };
          const reqPath = (req.url ?? "").split("?")[0] ?? "";
          seen.push({
            path: reqPath,
            servername: (req.socket as TLSSocket).servername,
            request: review.request,
          });
          res.setHeader("content-type", "application/json");
          res.end(
            JSON.stringify({
              apiVersion: "admission.k8s.io/v1",
              kind: "AdmissionReview",
              response: decide(reqPath, review.request),
            }),
          );
        } catch (err) {
          res.statusCode = 400;
          res.end(String(err));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    const addr = server.address();
    assert.ok(addr && typeof addr === "object");
    const port = addr.port;

    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: service },
        spec: { ports: [{ name: "https", port: 443, targetPort: port }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: `${service}-manual`, labels: { "kubernetes.io/service-name": service } },
        addressType: "IPv4",
        endpoints: [{ addresses: [address], conditions: { ready: true } }],
        ports: [{ name: "https", port, protocol: "TCP" }],
      },
    });
    const caBundle = readFileSync(ca.cert).toString("base64");
    const common = {
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      failurePolicy: "Fail",
      timeoutSeconds: 10,
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    };
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          {
            ...common,
            name: "validate.smoke.lagscale.io",
            clientConfig: {
              service: { namespace: ns, name: service, port: 443, path: "/validate" },
              caBundle,
            },
            rules: [
              { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
            ],
          },
        ],
      },
    });
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: configName },
        webhooks: [
          {
            ...common,
            name: "mutate.smoke.lagscale.io",
            reinvocationPolicy: "Never",
            clientConfig: { service: { namespace: ns, name: service, port: 443, path: "/mutate" }, caBundle },
            rules: [
              {
                operations: ["CREATE"],
                apiGroups: [""],
                apiVersions: ["v1"],
                resources: ["configmaps", "pods"],
              },
            ],
          },
        ],
      },
    });

    // The API server picks configurations, Services and EndpointSlices up through informers: wait until a
    // dry-run create reaches both webhooks.
    const deadline = Date.now() + 30_000;
    for (;;) {
      await core
        .createNamespacedConfigMap({ namespace: ns, dryRun: "All", body: { metadata: { name: "probe" } } })
        .catch(() => undefined);
      const paths = new Set(seen.map((s) => s.path));
      if (paths.has("/validate") && paths.has("/mutate")) break;
      if (Date.now() > deadline)
        throw new Error(`the webhooks were not called within 30 s (saw: ${[...paths].join(",")})`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // The ServiceAccount admission plugin refuses pods until the namespace's `default` ServiceAccount exists.
    for (;;) {
      try {
        await core.readNamespacedServiceAccount({ name: "default", namespace: ns });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`no default ServiceAccount in ${ns} within 30 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    seen.length = 0;
  });

  after(async () => {
    await admission.deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await admission.deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a validating webhook refuses an object with its own message, and admits others", async () => {
    const refused = await expectApiError(
      core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: "refused", labels: { [VERDICT]: "reject" } }, data: { a: "1" } },
      }),
    );
    assert.equal(refused.code, 403);
    assert.match(refused.message, /admission webhook "validate\.smoke\.lagscale\.io" denied the request/);
    assert.ok(refused.message.includes(DENIAL), refused.message);
    const gone = await expectApiError(core.readNamespacedConfigMap({ name: "refused", namespace: ns }));
    assert.equal(gone.code, 404);

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "admitted" }, data: { a: "1" } },
    });

    const calls = seen.filter((s) => s.path === "/validate" && !s.request.dryRun);
    assert.deepEqual(
      calls.map((c) => c.request.name),
      ["refused", "admitted"],
    );
    for (const c of calls) {
      assert.equal(c.request.namespace, ns);
      assert.equal(c.request.operation, "CREATE");
      assert.equal(c.request.userInfo?.username, "lagscale-admin");
      // The API server dialled the Service's DNS name (TLS SNI) and landed on the EndpointSlice's address.
      assert.equal(c.servername, `${service}.${ns}.svc`);
    }
  });

  it("a mutating webhook changes a ConfigMap and a Pod before they are stored", async () => {
    const stored: V1ConfigMap = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "mutated" }, data: { a: "1" } },
    });
    assert.equal(stored.metadata?.labels?.[MUTATED], "true");
    const read = await core.readNamespacedConfigMap({ name: "mutated", namespace: ns });
    assert.equal(read.metadata?.labels?.[MUTATED], "true");

    // Bound to a node that does not exist, so no pod runner starts it; deleted at once (grace 0) afterwards.
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "mutated" },
        spec: { nodeName: "smoke-nowhere", containers: [{ name: "main", image: "smoke/none" }] },
      },
    });
    try {
      const pod = await core.readNamespacedPod({ name: "mutated", namespace: ns });
      assert.equal(pod.metadata?.labels?.[MUTATED], "true");
      const env = pod.spec?.containers[0]?.env?.map((e) => ({ name: e.name, value: e.value }));
      assert.deepEqual(env, [{ name: "INJECTED_BY", value: "smoke-webhook" }]);
    } finally {
      await core
        .deleteNamespacedPod({ name: "mutated", namespace: ns, gracePeriodSeconds: 0 })
        .catch(() => undefined);
    }
    const kinds = seen
      .filter((s) => s.path === "/mutate")
      .map((s) => `${s.request.kind.kind}/${s.request.object?.metadata?.name ?? s.request.name}`);
    assert.ok(
      kinds.includes("Pod/mutated") && kinds.includes("ConfigMap/mutated"),
      `mutating calls: ${kinds.join(", ")}`,
    );
  });
});
