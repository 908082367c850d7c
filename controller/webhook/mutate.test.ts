// The webhook HTTPS server's /mutate-pod, in-process, with fake lookups and a recording Event sink (this
// test is about the answer, the Events and the metric; the API server's call is test/controller/inject-webhook.test.ts).
import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import { applyAddPatch, consumerPod, FakeLookups, injectOptions, review } from "../../test/support/inject.js";
import { testCertificate } from "../../test/support/raw-http.js";
import { SIDECAR_CONTAINER } from "../inject/sidecar.js";
import type { KubeObject } from "../kube/resources.js";
import type { WebhookLookups } from "./lookups.js";
import { MUTATE_POD_PATH, startWebhookServer, type EventSink, type WebhookServer } from "./server.js";

const validating: WebhookLookups = {
  listScaledObjects: () => Promise.resolve([]),
  listHorizontalPodAutoscalers: () => Promise.resolve([]),
  findTarget: () => Promise.resolve("found"),
};

class Events implements EventSink {
  readonly seen: { object: KubeObject; type: string; reason: string; message: string }[] = [];
  event(object: KubeObject, type: string, reason: string, message: string): void {
    this.seen.push({ object, type, reason, message });
  }
}

describe("/mutate-pod on the webhook server", () => {
  let cert: Awaited<ReturnType<typeof testCertificate>>;
  let server: WebhookServer;
  let bare: WebhookServer;
  const registry = new Registry();
  const lookups = new FakeLookups();
  const events = new Events();

  const send = (port: number, body: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: MUTATE_POD_PATH,
          method: "POST",
          headers: { "content-type": "application/json" },
          ca: cert.tls.ca,
          servername: cert.tls.servername,
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

  const response = (body: string) =>
    (JSON.parse(body) as { response: Record<string, unknown> }).response as {
      uid: string;
      allowed: boolean;
      patchType?: string;
      patch?: string;
      status?: unknown;
    };

  before(async () => {
    cert = await testCertificate("webhook.test");
    const common = {
      port: 0,
      host: "127.0.0.1",
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      lookups: validating,
      logger: createLogger("mutate-test", "silent"),
    };
    server = await startWebhookServer({
      ...common,
      registry,
      inject: { ...injectOptions(lookups), events },
    });
    bare = await startWebhookServer({ ...common, registry: new Registry() });
  });

  after(async () => {
    await server?.close();
    await bare?.close();
    cert?.remove();
  });

  it("answers an opted-in pod with a JSONPatch that adds the sidecar", async () => {
    const r = await send(server.port, JSON.stringify(review(consumerPod())));
    assert.equal(r.status, 200);
    const res = response(r.body);
    assert.equal(res.uid, "11111111-2222-3333-4444-555555555555");
    assert.equal(res.allowed, true);
    assert.equal(res.patchType, "JSONPatch");
    const ops = JSON.parse(Buffer.from(res.patch!, "base64").toString()) as {
      op: string;
      path: string;
      value: unknown;
    }[];
    const pod = applyAddPatch(consumerPod(), ops);
    assert.ok(pod.spec!.initContainers!.some((c) => c.name === SIDECAR_CONTAINER));
  });

  it("an invalid opt-in is admitted unchanged, with a Warning Event on the Deployment", async () => {
    const before = events.seen.length;
    const r = await send(
      server.port,
      JSON.stringify(review(consumerPod({ annotations: { "lagscale.io/inject": "on" } }))),
    );
    const res = response(r.body);
    assert.deepEqual([r.status, res.allowed, res.patch, res.status], [200, true, undefined, undefined]);
    const e = events.seen.slice(before);
    assert.equal(e.length, 1);
    assert.equal(e[0]!.type, "Warning");
    assert.equal(e[0]!.reason, "InjectionSkipped");
    assert.deepEqual(e[0]!.object.metadata, { name: "orders", namespace: "shop", uid: "deploy-uid" });
    assert.match(
      e[0]!.message,
      /^pod orders-7d9f-\* started without the lagscale sidecar \(invalid annotation\): annotation lagscale.io\/inject="on"/,
    );
  });

  it("the API server unreachable: admitted unchanged, no Event, counted", async () => {
    const before = events.seen.length;
    lookups.fail = new Error("connect ECONNREFUSED");
    try {
      const r = await send(server.port, JSON.stringify(review(consumerPod())));
      const res = response(r.body);
      assert.deepEqual([r.status, res.allowed, res.patch], [200, true, undefined]);
    } finally {
      lookups.fail = undefined;
    }
    assert.equal(events.seen.length, before);
    const metrics = await registry.getSingleMetricAsString("lagscale_webhook_injections_total");
    assert.match(metrics, /lagscale_webhook_injections_total\{result="lookup-failed"\} 1/);
    assert.match(metrics, /lagscale_webhook_injections_total\{result="injected"\} 1/);
    assert.match(metrics, /lagscale_webhook_injections_total\{result="invalid-annotation"\} 1/);
  });

  it("a malformed AdmissionReview gets 400", async () => {
    const r = await send(
      server.port,
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
    );
    assert.equal(r.status, 400);
    assert.match(r.body, /no request object/);
  });

  it("a server started without inject settings does not serve the path", async () => {
    const r = await send(bare.port, JSON.stringify(review(consumerPod())));
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body.split("lagscale serves")[1] ?? "", /mutate-pod/);
  });
});
