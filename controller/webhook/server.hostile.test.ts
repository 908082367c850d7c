/**
 * Hostile clients against the real webhook HTTPS server, run in-process on 127.0.0.1: malformed HTTP over
 * TLS, TLS garbage, never-finished handshakes and headers, slow bodies, bodies too large, too many
 * connections. After each, a well-formed AdmissionReview is still answered.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createLogger } from "../../core/log.js";
import {
  assertCase,
  collect,
  exchange,
  overTheCap,
  PARSER_CASES,
  QUICK_LIMITS,
  testCertificate,
  trickle,
  type RawCase,
  type RawTarget,
} from "../../test/support/raw-http.js";
import { DEFAULT_LIMITS, type ServerLimits } from "../../core/http/limits.js";
import type { WebhookLookups } from "./lookups.js";
import { startWebhookServer, WEBHOOK_PATHS, type WebhookServer } from "./server.js";

// Fake lookups: these tests are about HTTP handling, not about the checks that ask the API server.
const lookups: WebhookLookups = {
  listScaledObjects: () => Promise.resolve([]),
  listHorizontalPodAutoscalers: () => Promise.resolve([]),
  findTarget: () => Promise.resolve("found"),
};

const SO = WEBHOOK_PATHS.ScaledObject;
const H = "Host: 127.0.0.1\r\n";
const JSON_CT = "Content-Type: application/json\r\n";

function review(uid: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      operation: "CREATE",
      namespace: "demo",
      name: "x",
      object: {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: "x", namespace: "demo" },
        spec: {
          scaleTargetRef: { name: "consumer" },
          triggers: [{ type: "kafka", metadata: { bootstrapServers: "b:9092", consumerGroup: "g" } }],
        },
      },
    },
  });
}

function post(target: string, body: string | Buffer, headers = JSON_CT): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\n${H}${headers}Content-Length: ${b.length}\r\n\r\n`),
    b,
  ]);
}

/** Cases whose answer is the webhook handler's. */
const HANDLER_CASES: RawCase[] = [
  { name: "GET //", bytes: `GET // HTTP/1.1\r\n${H}\r\n`, statuses: [404], closes: false },
  { name: "POST //", bytes: post("//", review("u")), statuses: [404], closes: true },
  {
    name: "GET http://[::1",
    bytes: `GET http://[::1 HTTP/1.1\r\n${H}\r\n`,
    statuses: [400, 404],
    closes: false,
  },
  {
    name: "absolute-form URL",
    bytes: post(`https://127.0.0.1${SO}`, review("abs")),
    statuses: [200],
    closes: false,
  },
  {
    name: "bad percent-encoding in the path",
    bytes: post(`${SO}%zz%00`, review("u")),
    statuses: [404],
    closes: true,
  },
  {
    name: "a query on the path",
    bytes: post(`${SO}?timeout=10s&%zz`, review("q")),
    statuses: [200],
    closes: false,
  },
  {
    name: "a 10 KB unknown path",
    bytes: `GET /${"p".repeat(10_000)} HTTP/1.1\r\n${H}\r\n`,
    statuses: [404],
    closes: false,
  },
  {
    name: "a body on GET",
    bytes: `GET ${SO} HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`,
    statuses: [405],
    closes: true,
  },
  {
    name: "a 100 GB body announced",
    bytes: `POST ${SO} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: 100000000000\r\n\r\n{`,
    statuses: [413],
    closes: true,
  },
  {
    name: "chunked garbage",
    bytes: `POST ${SO} HTTP/1.1\r\n${H}${JSON_CT}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a chunk size beyond 2^64",
    bytes: `POST ${SO} HTTP/1.1\r\n${H}${JSON_CT}Transfer-Encoding: chunked\r\n\r\n${"f".repeat(40)}\r\n{}\r\n`,
    statuses: [400, 413],
    closes: true,
  },
  { name: "not JSON", bytes: post(SO, "{"), statuses: [400], closes: false },
  { name: "NUL bytes in the JSON", bytes: post(SO, `{"a":"\0"}`), statuses: [400], closes: false },
  {
    name: "invalid UTF-8",
    bytes: post(SO, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
    statuses: [400],
    closes: false,
  },
  {
    name: "100,000 nested arrays",
    bytes: post(SO, "[".repeat(100_000) + "]".repeat(100_000)),
    statuses: [400],
    closes: false,
  },
  {
    name: "an AdmissionReview whose request is a string",
    bytes: post(
      SO,
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: "x" }),
    ),
    statuses: [400],
    closes: false,
  },
  {
    name: "a form Content-Type",
    bytes: post(SO, "a=b", "Content-Type: application/x-www-form-urlencoded\r\n"),
    statuses: [400],
    closes: true,
  },
  { name: "no Content-Type", bytes: post(SO, review("u"), ""), statuses: [400], closes: true },
];

describe("webhook server under hostile requests (real HTTPS server, raw sockets)", () => {
  // Short timeouts so that slow-client cases end quickly; the rest of the limits are the defaults.
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...QUICK_LIMITS };
  let server: WebhookServer;
  let target: RawTarget;
  let plain: RawTarget;
  let cert: Awaited<ReturnType<typeof testCertificate>> | undefined;

  /** A well-formed AdmissionReview is answered with its uid. */
  async function stillAnswers(what: string): Promise<void> {
    const uid = `after-${what}`;
    const reply = await exchange(target, post(SO, review(uid), `${JSON_CT}Connection: close\r\n`));
    assert.ok(reply.closed, `${what}: the answer is complete`);
    assert.deepEqual(reply.statuses, [200], `${what}: ${reply.text.slice(0, 200)}`);
    assert.ok(reply.text.includes(`"uid":"${uid}","allowed":true`), `${what}: ${reply.text.slice(0, 300)}`);
  }

  before(async () => {
    cert = await testCertificate("webhook.test");
    server = await startWebhookServer({
      port: 0,
      host: "127.0.0.1",
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      lookups,
      registry: new Registry(),
      logger: createLogger("webhook-hostile", "silent"),
      limits,
    });
    target = { port: server.port, tls: cert.tls };
    plain = { port: server.port };
  });

  after(async () => {
    await server?.close();
    cert?.remove();
  });

  for (const c of [...PARSER_CASES, ...HANDLER_CASES]) {
    it(c.name, () => assertCase(target, c, stillAnswers));
  }

  it("an unknown path is quoted and cut in the answer", async () => {
    const reply = await exchange(
      target,
      `GET /${"p".repeat(10_000)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.ok(reply.closed);
    assert.ok(reply.text.length < 1_000, `answer of ${reply.text.length} bytes`);
    assert.match(reply.text, /no webhook at "\/p{99}[^p]/);
  });

  it("pipelined reviews are answered in order", async () => {
    const bytes = Buffer.concat([post(SO, review("p1")), post("/nope", "{}"), post(SO, review("p2"))]);
    const reply = await exchange(target, bytes, { waitMs: 3_000 });
    assert.deepEqual(reply.statuses.slice(0, 2), [200, 404]);
    assert.ok(reply.text.indexOf('"uid":"p1"') < reply.text.indexOf("no webhook at"), reply.text);
  });

  it("plain HTTP and random bytes on the TLS port are closed without taking the server down", async () => {
    for (const bytes of [
      `GET / HTTP/1.1\r\n${H}\r\n`,
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256)),
    ]) {
      const reply = await exchange(plain, bytes, { waitMs: 3_000 });
      assert.ok(reply.closed, "the server closes the connection");
      await stillAnswers("TLS garbage");
    }
  });

  it("a TLS handshake that never finishes is cut off", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])); // the start of a ClientHello, never the rest
    const reply = await collect(socket, { waitMs: 5_000 });
    assert.ok(reply.closed, "the half-open handshake is closed before the test gives up");
    await stillAnswers("never-finished handshake");
  });

  it("a slowloris header over TLS is cut off", async () => {
    const reply = await trickle(target, `POST ${SO} HTTP/1.1\r\n${H}`, (i) => `X-${i}: a\r\n`);
    assert.ok(reply.closed && reply.sent < 100, `closed after ${reply.sent} header lines`);
    await stillAnswers("slowloris");
  });

  it("a body that trickles in is cut off", async () => {
    const head = `POST ${SO} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: 100000\r\n\r\n{`;
    const reply = await trickle(target, head, () => " ");
    assert.ok(reply.closed && reply.sent < 100, `closed after ${reply.sent} bytes of body`);
    await stillAnswers("slow body");
  });

  it("refuses connections over the cap, and serves again once they are gone", async () => {
    const extra = await overTheCap(target, limits.maxConnections);
    assert.ok(extra.closed, "a connection over the cap is closed at once");
    await new Promise((r) => setTimeout(r, 100));
    await stillAnswers("connection cap");
  });
});
