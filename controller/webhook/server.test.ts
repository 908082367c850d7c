import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import { createCa, issueCert, type CertFiles } from "../../test/stack/kube/pki.js";
import { MAX_BODY_BYTES } from "./admission.js";
import type { WebhookLookups } from "./lookups.js";
import { renderValidatingWebhookConfiguration, webhookName } from "./config.js";
import { startWebhookServer, WEBHOOK_PATHS, type WebhookServer } from "./server.js";

const lookups: WebhookLookups = {
  listScaledObjects: () => Promise.resolve([]),
  listHorizontalPodAutoscalers: () => Promise.resolve([]),
  findTarget: () => Promise.resolve("found"),
};

interface Reply {
  status: number;
  body: string;
}

function review(object: unknown, uid = "uid-1") {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid, operation: "CREATE", namespace: "demo", name: "x", object },
  });
}

const scaledObject = (maxReplicaCount: number) => ({
  apiVersion: "lagscale.io/v1alpha1",
  kind: "ScaledObject",
  metadata: { name: "x", namespace: "demo" },
  spec: {
    scaleTargetRef: { name: "consumer" },
    minReplicaCount: 2,
    maxReplicaCount,
    triggers: [{ type: "kafka", metadata: { bootstrapServers: "b:9092", consumerGroup: "g" } }],
  },
});

describe("webhook HTTPS server", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-webhook-unit-"));
  let ca: CertFiles;
  let served: CertFiles;
  let server: WebhookServer;
  const registry = new Registry();

  function send(
    urlPath: string,
    body: string | Buffer,
    headers: Record<string, string> = { "content-type": "application/json" },
    method = "POST",
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: server.port,
          path: urlPath,
          method,
          headers,
          ca: readFileSync(ca.cert),
          servername: "webhook.test",
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  function fingerprint(): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port: server.port, servername: "webhook.test", ca: readFileSync(ca.cert) },
        () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.end();
        },
      );
      socket.on("error", reject);
    });
  }

  before(async () => {
    ca = await createCa(dir, "ca", "webhook-test-ca");
    served = await issueCert(dir, "server", ca, {
      commonName: "webhook.test",
      dnsNames: ["webhook.test"],
      usage: "server",
    });
    server = await startWebhookServer({
      port: 0,
      host: "127.0.0.1",
      certFile: served.cert,
      keyFile: served.key,
      lookups,
      registry,
      logger: createLogger("webhook-test", "silent"),
      certCheckIntervalMs: 50,
    });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers an AdmissionReview: refusal with the message, admission with the uid", async () => {
    const refused = await send(WEBHOOK_PATHS.ScaledObject, review(scaledObject(1), "uid-refused"));
    assert.equal(refused.status, 200);
    assert.deepEqual(JSON.parse(refused.body), {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-refused",
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message: "spec.minReplicaCount: minReplicaCount must be less than or equal to maxReplicaCount",
        },
      },
    });
    const admitted = await send(WEBHOOK_PATHS.ScaledObject, review(scaledObject(5), "uid-ok"));
    assert.deepEqual(JSON.parse(admitted.body).response, { uid: "uid-ok", allowed: true });
    assert.match(await registry.metrics(), /reason="incorrect-replicas"\} 1/);
  });

  it("refuses an object sent to another kind's path", async () => {
    const r = await send(WEBHOOK_PATHS.ScaledJob, review(scaledObject(5)));
    const response = JSON.parse(r.body).response as { allowed: boolean; status: { message: string } };
    assert.equal(response.allowed, false);
    assert.match(
      response.status.message,
      /\/validate-scaledjob validates ScaledJob objects, got "ScaledObject"/,
    );
  });

  it("malformed requests get 400 (404 for an unknown path, 413 for a body too large) with a message, and the server keeps serving", async () => {
    const cases: [string, Promise<Reply>, number, RegExp][] = [
      ["not JSON", send(WEBHOOK_PATHS.ScaledObject, "{not json"), 400, /the body is not JSON/],
      [
        "wrong apiVersion",
        send(
          WEBHOOK_PATHS.ScaledObject,
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1beta1",
            kind: "AdmissionReview",
            request: { uid: "u" },
          }),
        ),
        400,
        /expected apiVersion admission\.k8s\.io\/v1 kind AdmissionReview, got apiVersion "admission\.k8s\.io\/v1beta1"/,
      ],
      [
        "wrong kind",
        send(WEBHOOK_PATHS.ScaledObject, JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "Pod" })),
        400,
        /kind "Pod"/,
      ],
      [
        "no request.uid",
        send(
          WEBHOOK_PATHS.ScaledObject,
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: { operation: "CREATE" },
          }),
        ),
        400,
        /request has no uid/,
      ],
      [
        "CREATE without object",
        send(
          WEBHOOK_PATHS.TriggerAuthentication,
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            request: { uid: "u", operation: "CREATE" },
          }),
        ),
        400,
        /CREATE request has no object/,
      ],
      ["a JSON array", send(WEBHOOK_PATHS.ScaledObject, "[]"), 400, /not a JSON object/],
      [
        "wrong content-type",
        send(WEBHOOK_PATHS.ScaledObject, review(scaledObject(5)), { "content-type": "text/yaml" }),
        400,
        /Content-Type must be application\/json, got "text\/yaml"/,
      ],
      [
        "too large",
        send(WEBHOOK_PATHS.ScaledObject, Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)),
        413,
        /the body is 3145729 bytes; the limit is 3145728 bytes/,
      ],
      [
        "unknown path",
        send("/mutate", review(scaledObject(5))),
        404,
        /no webhook at "\/mutate"; lagscale serves \/validate-scaledobject/,
      ],
      ["GET", send(WEBHOOK_PATHS.ScaledObject, "", {}, "GET"), 405, /accepts POST only/],
    ];
    for (const [what, reply, status, message] of cases) {
      const r = await reply;
      assert.equal(r.status, status, `${what}: ${r.body}`);
      assert.match(r.body, message, what);
    }
    // A body over the limit without a Content-Length (chunked) is cut off too.
    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: server.port,
          path: WEBHOOK_PATHS.ScaledObject,
          method: "POST",
          headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
          ca: readFileSync(ca.cert),
          servername: "webhook.test",
          agent: false,
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 4; i++) req.write(chunk);
      req.end();
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.body, /larger than 3145728 bytes/);

    const still = await send(WEBHOOK_PATHS.ScaledObject, review(scaledObject(5), "after"));
    assert.deepEqual(JSON.parse(still.body).response, { uid: "after", allowed: true });
  });

  it("serves a new certificate once its files change", async () => {
    const before = await fingerprint();
    const next = await issueCert(path.join(dir, "next"), "server", ca, {
      commonName: "webhook.test",
      dnsNames: ["webhook.test"],
      usage: "server",
    });
    // Replaced the way a Secret volume is: the new files appear at the old paths at once.
    renameSync(next.key, served.key);
    renameSync(next.cert, served.cert);
    const deadline = Date.now() + 5_000;
    let now = before;
    while (now === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      now = await fingerprint();
    }
    assert.notEqual(now, before, "the server still presents the old certificate after 5 s");
    const r = await send(WEBHOOK_PATHS.ScaledObject, review(scaledObject(5)));
    assert.equal(r.status, 200);
  });
});

describe("renderValidatingWebhookConfiguration", () => {
  it("renders KEDA's settings for the four kinds, through a Service or a URL", () => {
    const c = renderValidatingWebhookConfiguration({
      service: { namespace: "lagscale", name: "lagscale-webhook" },
      caBundle: "-----BEGIN CERTIFICATE-----\n",
      namespaceSelector: { matchLabels: { team: "a" } },
    });
    assert.equal(c.metadata.name, "lagscale-validating-webhook");
    assert.deepEqual(
      c.webhooks.map((w) => [w.name, w.rules[0]!.resources[0], w.rules[0]!.scope]),
      [
        ["vscaledobject.lagscale.io", "scaledobjects", "Namespaced"],
        ["vscaledjob.lagscale.io", "scaledjobs", "Namespaced"],
        ["vtriggerauthentication.lagscale.io", "triggerauthentications", "Namespaced"],
        ["vclustertriggerauthentication.lagscale.io", "clustertriggerauthentications", "Cluster"],
      ],
    );
    const so = c.webhooks[0]!;
    assert.deepEqual(so, {
      name: webhookName("ScaledObject"),
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      failurePolicy: "Ignore",
      matchPolicy: "Equivalent",
      timeoutSeconds: 10,
      clientConfig: {
        service: {
          namespace: "lagscale",
          name: "lagscale-webhook",
          port: 443,
          path: "/validate-scaledobject",
        },
        caBundle: Buffer.from("-----BEGIN CERTIFICATE-----\n").toString("base64"),
      },
      rules: [
        {
          operations: ["CREATE", "UPDATE"],
          apiGroups: ["lagscale.io"],
          apiVersions: ["v1alpha1"],
          resources: ["scaledobjects"],
          scope: "Namespaced",
        },
      ],
      namespaceSelector: { matchLabels: { team: "a" } },
    });
    const byUrl = renderValidatingWebhookConfiguration({
      url: "https://127.0.0.1:9443/",
      caBundle: "x",
      failurePolicy: "Fail",
    });
    assert.deepEqual(byUrl.webhooks[3]!.clientConfig, {
      url: "https://127.0.0.1:9443/validate-clustertriggerauthentication",
      caBundle: "eA==",
    });
    assert.equal(byUrl.webhooks[3]!.failurePolicy, "Fail");
    assert.throws(
      () => renderValidatingWebhookConfiguration({ caBundle: "x" }),
      /exactly one of service and url/,
    );
  });
});
