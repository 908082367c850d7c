/**
 * lagscale's validating webhook behind the stack's real API server: the CRDs are applied, the webhook
 * server runs in this process (with a CA of the test's own) behind a selectorless Service and an
 * EndpointSlice, and the rendered ValidatingWebhookConfiguration is registered, scoped to the test's
 * namespace (and, for the cluster-scoped ClusterTriggerAuthentication, to objects carrying the test's
 * label), then deleted. Every invalid case is sent through the API server with client-node and must come
 * back refused with its message; the talk's KEDA ScaledObject, with only its apiVersion changed, is
 * stored.
 *
 * min > max is refused by the CRD's CEL rule before any webhook is called (as under KEDA, whose CRD
 * carries the same rule); the test pins that message too.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import {
  ApiWebhookLookups,
  MAX_BODY_BYTES,
  renderValidatingWebhookConfiguration,
  startWebhookServer,
  WEBHOOK_PATHS,
  type WebhookServer,
} from "../../controller/webhook/index.js";
import { createCa, issueCert, type CertFiles } from "../stack/kube/pki.js";
import { installCrds } from "../support/controller.js";
import { stackKubeConfig } from "../support/kube.js";
import { loadStack } from "../support/stack.js";

const stack = loadStack();
const kc = stackKubeConfig(stack);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const ns = `webhook-${Date.now().toString(36)}`;
const TEST_LABEL = "lagscale.io/webhook-test";
const SERVICE = "lagscale-webhook";
const DENIED = 'admission webhook "vscaledobject.lagscale.io" denied the request: ';

/** A raw request with the kubeconfig's credentials (client-node's typed serializer drops `x-kubernetes-*` keys). */
async function kubeRequest(
  method: string,
  urlPath: string,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; body: string; warnings: string[] }> {
  const url = new URL(kc.getCurrentCluster()!.server);
  const opts: RequestOptions = {
    host: url.hostname,
    port: url.port,
    method,
    path: urlPath,
    headers: body === undefined ? {} : { "content-type": contentType },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(opts, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => {
        const raw = res.headers["warning"];
        const warnings = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        resolve({ status: res.statusCode ?? 0, body: text, warnings });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("no non-loopback IPv4 address: EndpointSlices cannot point at 127.0.0.0/8");
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = (typeof err.body === "string" ? JSON.parse(err.body) : err.body) as { message?: string };
      return { code: err.code, message: body.message ?? String(err.body) };
    }
    throw err;
  }
  assert.fail("the API server stored an object the webhook should have refused");
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> };

/** The talk's ScaledObject (SEED.md), with only `apiVersion: keda.sh/v1alpha1` changed. */
function talk(name = "kafka-scaledobject"): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name, namespace: ns },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "kafka-consumer" },
      pollingInterval: 10,
      cooldownPeriod: 30,
      idleReplicaCount: 0,
      minReplicaCount: 1,
      maxReplicaCount: 5,
      triggers: [
        {
          type: "kafka",
          metadata: {
            bootstrapServers: "my-cluster-kafka-bootstrap.kafka.svc.cluster.local:9092",
            consumerGroup: "g1",
            topic: "my-topic",
            lagThreshold: "10",
            offsetResetPolicy: "latest",
            allowIdleConsumers: "false",
            version: "1.0.0",
          },
        },
      ],
    },
  };
}

function createSo(body: Obj, dryRun?: "All") {
  return custom.createNamespacedCustomObject({
    group: "lagscale.io",
    version: "v1alpha1",
    namespace: ns,
    plural: "scaledobjects",
    body,
    ...(dryRun ? { dryRun } : {}),
  });
}

function deployment(name: string) {
  return apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas: 0, // nothing runs: this test is about admission only
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "main", image: "lagscale/none" }] },
        },
      },
    },
  });
}

/** POSTs a ScaledObject and returns the API server's Warning headers (client-node does not expose them). */
async function createWithWarnings(body: Obj): Promise<{ status: number; warnings: string[] }> {
  return kubeRequest(
    "POST",
    `/apis/lagscale.io/v1alpha1/namespaces/${ns}/scaledobjects`,
    JSON.stringify(body),
  );
}

describe("validating webhook through the real API server", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "lagscale-webhook-it-"));
  const address = hostAddress();
  const registry = new Registry();
  const configName = `lagscale-webhook-test-${ns}`;
  let ca: CertFiles;
  let server: WebhookServer;

  before(async () => {
    await installCrds(stack);
    ca = await createCa(tmp, "ca", "lagscale-webhook-test-ca");
    const dns = `${SERVICE}.${ns}.svc`;
    const cert = await issueCert(tmp, "server", ca, { commonName: dns, dnsNames: [dns], usage: "server" });
    server = await startWebhookServer({
      port: 0,
      host: address,
      certFile: cert.cert,
      keyFile: cert.key,
      lookups: new ApiWebhookLookups(kc),
      registry,
      logger: createLogger("webhook-test", "silent"),
    });

    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: SERVICE },
        spec: { ports: [{ name: "https", port: 443, targetPort: server.port }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: {
        metadata: { name: `${SERVICE}-test`, labels: { "kubernetes.io/service-name": SERVICE } },
        addressType: "IPv4",
        endpoints: [{ addresses: [address], conditions: { ready: true } }],
        ports: [{ name: "https", port: server.port, protocol: "TCP" }],
      },
    });
    const config = renderValidatingWebhookConfiguration({
      name: configName,
      service: { namespace: ns, name: SERVICE },
      caBundle: readFileSync(ca.cert),
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    });
    // Cluster-scoped objects ignore namespaceSelector: keep this test's webhook to its own objects.
    const cta = config.webhooks.find((w) => w.name.startsWith("vclustertriggerauthentication"))!;
    Object.assign(cta, { objectSelector: { matchLabels: { [TEST_LABEL]: ns } } });
    await admission.createValidatingWebhookConfiguration({
      body: config as V1ValidatingWebhookConfiguration,
    });

    await Promise.all(["kafka-consumer", "taken", "with-hpa", "hpa-opted-out"].map(deployment));
    const hpa = (name: string, target: string, annotations: Record<string, string> = {}) =>
      autoscaling.createNamespacedHorizontalPodAutoscaler({
        namespace: ns,
        body: {
          metadata: { name, annotations },
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
            minReplicas: 1,
            maxReplicas: 3,
            metrics: [
              {
                type: "Resource",
                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
              },
            ],
          },
        },
      });
    await hpa("cpu", "with-hpa");
    await hpa("legacy", "hpa-opted-out", { "validations.keda.sh/hpa-ownership": "false" });

    // The API server learns about the configuration, Service and EndpointSlice through informers: wait
    // until a dry-run create is refused by this webhook.
    const probe = talk("probe");
    Object.assign(probe.spec, { minReplicaCount: 1, idleReplicaCount: 1 });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await createSo(probe, "All").then(
        () => "",
        (err: unknown) => String((err as { body?: unknown }).body ?? err),
      );
      if (r.includes("vscaledobject.lagscale.io")) break;
      if (Date.now() > deadline) throw new Error(`the webhook was not called within 30 s (last: ${r})`);
      await new Promise((res) => setTimeout(res, 250));
    }
  });

  after(async () => {
    await admission.deleteValidatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await custom
      .deleteClusterCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        plural: "clustertriggerauthentications",
        name: `${ns}-ok`,
      })
      .catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses each invalid ScaledObject with its message", async () => {
    const cases: [string, (so: Obj) => void, number, string][] = [
      [
        "min > max (the CRD's CEL rule)",
        (so) => Object.assign(so.spec, { minReplicaCount: 6, maxReplicaCount: 5 }),
        422,
        "minReplicaCount must be less than or equal to maxReplicaCount",
      ],
      [
        "idle >= min",
        (so) => Object.assign(so.spec, { minReplicaCount: 2, idleReplicaCount: 2 }),
        403,
        `${DENIED}spec.idleReplicaCount: IdleReplicaCount=2 must be less than MinReplicaCount=2`,
      ],
      [
        "bad fallback",
        (so) => (so.spec["fallback"] = { failureThreshold: 3, replicas: 2, behavior: "scalingModifiers" }),
        403,
        `${DENIED}spec.fallback.behavior: fallback.behavior scalingModifiers requires advanced.scalingModifiers.formula`,
      ],
      [
        "unknown trigger type",
        (so) => (so.spec["triggers"] = [{ type: "prometheus", metadata: { query: "up" } }]),
        403,
        `${DENIED}spec.triggers[0].type: trigger type "prometheus" is not supported by lagscale; supported types: kafka, cron`,
      ],
      [
        "lagThreshold 0",
        (so) =>
          ((so.spec["triggers"] as { metadata: Record<string, string> }[])[0]!.metadata["lagThreshold"] =
            "0"),
        403,
        `${DENIED}spec.triggers[0].metadata.lagThreshold: "lagThreshold" must be positive number`,
      ],
      [
        "foreign HPA",
        (so) => (so.spec["scaleTargetRef"] = { name: "with-hpa" }),
        403,
        `${DENIED}the workload 'with-hpa' of type 'apps/v1.Deployment' is already managed by the hpa 'cpu'`,
      ],
      [
        "target missing",
        (so) => (so.spec["scaleTargetRef"] = { name: "nowhere" }),
        403,
        `${DENIED}spec.scaleTargetRef: Deployment "nowhere" (apps/v1) not found in namespace "${ns}"; create it before the ScaledObject`,
      ],
      [
        "name too long",
        (so) => (so.metadata["name"] = "n".repeat(64)),
        403,
        `${DENIED}metadata.name: scaledobject name "${"n".repeat(64)}" is 64 characters long; must be no more than 63 characters`,
      ],
    ];
    for (const [what, change, code, message] of cases) {
      const so = talk(`case-${cases.findIndex((c) => c[0] === what)}`);
      change(so);
      const e = await apiError(createSo(so));
      assert.equal(e.code, code, `${what}: ${e.message}`);
      assert.ok(e.message.includes(message), `${what}: expected …${message}…, got: ${e.message}`);
    }
    const stored = (await custom.listNamespacedCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      namespace: ns,
      plural: "scaledobjects",
    })) as { items: unknown[] };
    assert.equal(stored.items.length, 0);
  });

  it("refuses a second ScaledObject on the same target, admits the first", async () => {
    const first = talk("first");
    first.spec["scaleTargetRef"] = { name: "taken" };
    await createSo(first);
    const second = talk("second");
    second.spec["scaleTargetRef"] = { apiVersion: "apps/v1", kind: "Deployment", name: "taken" };
    const e = await apiError(createSo(second));
    assert.ok(
      e.message.includes(
        `${DENIED}the workload 'taken' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'`,
      ),
      e.message,
    );

    // An update that touches only metadata is let through; one that breaks the spec is refused.
    const current = (await custom.getNamespacedCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      namespace: ns,
      plural: "scaledobjects",
      name: "first",
    })) as Obj;
    current.metadata["labels"] = { team: "payments" };
    await custom.replaceNamespacedCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      namespace: ns,
      plural: "scaledobjects",
      name: "first",
      body: current,
    });
    const again = (await custom.getNamespacedCustomObject({
      group: "lagscale.io",
      version: "v1alpha1",
      namespace: ns,
      plural: "scaledobjects",
      name: "first",
    })) as Obj;
    Object.assign(again.spec, { minReplicaCount: 1, idleReplicaCount: 3 });
    const refused = await apiError(
      custom.replaceNamespacedCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        namespace: ns,
        plural: "scaledobjects",
        name: "first",
        body: again,
      }),
    );
    assert.ok(
      refused.message.includes(`${DENIED}spec.idleReplicaCount: IdleReplicaCount=3`),
      refused.message,
    );
  });

  it("admits the talk's KEDA ScaledObject with only the apiVersion changed, and an opted-out HPA's target", async () => {
    const stored = (await createSo(talk())) as Obj;
    assert.equal((stored.metadata as { name: string }).name, "kafka-scaledobject");
    const optedOut = talk("beside-legacy-hpa");
    optedOut.spec["scaleTargetRef"] = { name: "hpa-opted-out" };
    await createSo(optedOut);
  });

  it("checks an annotation changed by a metadata-only update as on create", async () => {
    await deployment("annotated-target");
    const so = talk("annotated");
    so.spec["scaleTargetRef"] = { name: "annotated-target" };
    await createSo(so);
    const patch = (value: string) =>
      kubeRequest(
        "PATCH",
        `/apis/lagscale.io/v1alpha1/namespaces/${ns}/scaledobjects/annotated`,
        JSON.stringify({ metadata: { annotations: { "lagscale.io/paused-replicas": value } } }),
        "application/merge-patch+json",
      );
    const refused = await patch("banana");
    assert.notEqual(refused.status, 200, "a metadata-only update with a bad pause annotation was stored");
    const message = (JSON.parse(refused.body) as { message?: string }).message ?? "";
    assert.ok(message.startsWith(DENIED), message);
    assert.match(message, /paused-replicas/);
    const admitted = await patch("2");
    assert.equal(admitted.status, 200, admitted.body);
  });

  it("skips the target check on a server-side dry run", async () => {
    const so = talk("dry");
    so.spec["scaleTargetRef"] = { name: "not-yet" };
    await createSo(so, "All");
    await assert.rejects(
      custom.getNamespacedCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        namespace: ns,
        plural: "scaledobjects",
        name: "dry",
      }),
      (err: unknown) => err instanceof ApiException && err.code === 404,
    );
  });

  it("returns KEDA's cooldownPeriod warning to the client", async () => {
    const so = talk("warned");
    so.spec["scaleTargetRef"] = { name: "kafka-consumer", kind: "StatefulSet" };
    delete so.spec["idleReplicaCount"];
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: "kafka-consumer" },
        spec: {
          replicas: 0,
          serviceName: "kafka-consumer",
          selector: { matchLabels: { app: "ss" } },
          template: {
            metadata: { labels: { app: "ss" } },
            spec: { containers: [{ name: "main", image: "lagscale/none" }] },
          },
        },
      },
    });
    const r = await createWithWarnings(so);
    assert.equal(r.status, 201);
    assert.equal(r.warnings.length, 1, r.warnings.join(" | "));
    assert.match(r.warnings[0]!, /CooldownPeriod is configured but is not relevant/);
  });

  it("refuses a ScaledJob with an unknown trigger and TriggerAuthentications lagscale cannot read", async () => {
    const sj = await apiError(
      custom.createNamespacedCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        namespace: ns,
        plural: "scaledjobs",
        body: {
          apiVersion: "lagscale.io/v1alpha1",
          kind: "ScaledJob",
          metadata: { name: "jobs" },
          spec: {
            jobTargetRef: {
              template: { spec: { containers: [{ name: "w", image: "w" }], restartPolicy: "Never" } },
            },
            triggers: [{ type: "rabbitmq", metadata: { queueName: "q" } }],
          },
        },
      }),
    );
    assert.ok(
      sj.message.includes(
        'admission webhook "vscaledjob.lagscale.io" denied the request: spec.triggers[0].type: trigger type "rabbitmq" is not supported by lagscale',
      ),
      sj.message,
    );
    const ta = await apiError(
      custom.createNamespacedCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        namespace: ns,
        plural: "triggerauthentications",
        body: {
          apiVersion: "lagscale.io/v1alpha1",
          kind: "TriggerAuthentication",
          metadata: { name: "vault" },
          spec: { hashiCorpVault: { address: "https://vault:8200" } },
        },
      }),
    );
    assert.ok(
      ta.message.includes(
        'admission webhook "vtriggerauthentication.lagscale.io" denied the request: spec.hashiCorpVault: HashiCorp Vault (spec.hashiCorpVault) is not supported by lagscale',
      ),
      ta.message,
    );
    const cta = (name: string, spec: unknown) =>
      custom.createClusterCustomObject({
        group: "lagscale.io",
        version: "v1alpha1",
        plural: "clustertriggerauthentications",
        body: {
          apiVersion: "lagscale.io/v1alpha1",
          kind: "ClusterTriggerAuthentication",
          metadata: { name, labels: { [TEST_LABEL]: ns } },
          spec,
        },
      });
    const refused = await apiError(cta(`${ns}-identity`, { podIdentity: { provider: "aws" } }));
    assert.ok(
      refused.message.includes(
        'admission webhook "vclustertriggerauthentication.lagscale.io" denied the request: spec.podIdentity.provider: pod identity provider "aws" is not supported by lagscale',
      ),
      refused.message,
    );
    await cta(`${ns}-ok`, { secretTargetRef: [{ parameter: "password", name: "kafka", key: "password" }] });
  });

  it("answers malformed AdmissionReviews sent straight to it with 400, and keeps serving", async () => {
    const post = (body: string | Buffer, contentType = "application/json") =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: address,
            port: server.port,
            path: WEBHOOK_PATHS.ScaledObject,
            method: "POST",
            headers: { "content-type": contentType },
            ca: readFileSync(ca.cert),
            servername: `${SERVICE}.${ns}.svc`,
            agent: false,
          },
          (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const bad = [
      await post("{"),
      await post(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1beta1",
          kind: "AdmissionReview",
          request: { uid: "u" },
        }),
      ),
      await post(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: {} })),
      await post(Buffer.alloc(MAX_BODY_BYTES + 10, 0x20)),
      await post("{}", "application/x-www-form-urlencoded"),
    ];
    assert.deepEqual(
      bad.map((r) => r.status),
      [400, 400, 400, 413, 400],
      bad.map((r) => r.body).join(" | "),
    );
    // The API server still gets answers.
    const so = talk("after-garbage");
    Object.assign(so.spec, { minReplicaCount: 3, idleReplicaCount: 3 });
    const e = await apiError(createSo(so));
    assert.ok(e.message.includes(`${DENIED}spec.idleReplicaCount: IdleReplicaCount=3`), e.message);
  });

  it("counted the validations and refusals by reason", async () => {
    const text = await registry.metrics();
    const count = (labels: string) => {
      const m = new RegExp(
        `^lagscale_webhook_scaled_object_validation_errors_total\\{${labels}\\} (\\d+)$`,
        "m",
      ).exec(text);
      return m ? Number(m[1]) : 0;
    };
    for (const reason of [
      "incorrect-replicas",
      "incorrect-fallback",
      "incorrect-triggers",
      "other-hpa",
      "other-scaled-object",
      "target-not-found",
      "name-too-long",
    ]) {
      assert.ok(
        count(`namespace="${ns}",action="create",reason="${reason}"`) >= 1,
        `${reason} not counted:\n${text}`,
      );
    }
    assert.match(
      text,
      new RegExp(`lagscale_webhook_scaled_object_validations_total\\{namespace="${ns}",action="update"\\} 1`),
    );
  });
});
