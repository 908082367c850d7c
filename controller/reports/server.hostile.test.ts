/**
 * Hostile clients against the real report receiver: its HTTPS server and ReportReceiver run in-process on
 * 127.0.0.1, sent raw-socket requests (test/support/raw-http.ts). The API server is faked (TokenReview
 * answers, the target's pods, the leader's ScaledObject): these tests are about what a client can send, and
 * test/controller/reports-auth.test.ts runs the checks against the real one. After each case a good report
 * is still accepted.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../core/log.js";
import { MAX_REPORT_BYTES } from "../../core/reports/schema.js";
import {
  assertCase,
  exchange,
  overTheCap,
  PARSER_CASES,
  QUICK_LIMITS,
  testCertificate,
  trickle,
  type RawCase,
  type RawTarget,
} from "../../test/support/raw-http.js";
import { podTokenReview, samplePod, sampleReport } from "../../test/support/reports.js";
import { ReportAuthenticator, type TokenReviewStatus } from "./auth.js";
import { TokenBuckets } from "./ratelimit.js";
import { ReportReceiver, type LeaderReports } from "./receiver.js";
import { REPORT_LIMITS, REPORTS_PATH, startReportServer, type ReportServer } from "./server.js";
import { ReportStore } from "./store.js";

const pod = samplePod();
const GOOD = sampleReport({ state: "idle", partitions: [], lag: 0, ratePerSecond: 0 });
// The fake TokenReview: "tok-a" is consumer-a's token, "tok-b" another pod's; anything else is forged.
const TOKENS: Record<string, TokenReviewStatus> = {
  "tok-a": podTokenReview("consumer-a", "uid-a"),
  "tok-b": podTokenReview("consumer-b", "uid-b"),
};
/** The fake TokenReview's budget in this test: small, so the flood case meets it. */
const REVIEW_BURST = 20;

const H = "Host: 127.0.0.1\r\n";
const JSON_CT = "Content-Type: application/json\r\n";
const AUTH = "Authorization: Bearer tok-a\r\n";

function post(target: string, body: string | Buffer, headers = `${JSON_CT}${AUTH}`): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\n${H}${headers}Content-Length: ${b.length}\r\n\r\n`),
    b,
  ]);
}
const good = JSON.stringify(GOOD);
const P = REPORTS_PATH;

/** Cases whose answer is the receiver's (the path, the method, the token, the body). */
const RECEIVER_CASES: RawCase[] = [
  { name: "GET //", bytes: `GET // HTTP/1.1\r\n${H}\r\n`, statuses: [404], closes: false },
  { name: "POST // with a report", bytes: post("//", good), statuses: [404], closes: true },
  { name: "GET http://[::1", bytes: `GET http://[::1 HTTP/1.1\r\n${H}\r\n`, statuses: [404], closes: false },
  { name: "absolute-form URL", bytes: post(`https://127.0.0.1${P}`, good), statuses: [200], closes: false },
  { name: "a query on the path", bytes: post(`${P}?x=%zz&&=`, good), statuses: [200], closes: false },
  {
    name: "bad percent-encoding in the path",
    bytes: post(`${P}%zz%00`, good),
    statuses: [404],
    closes: true,
  },
  { name: "GET on the report path", bytes: `GET ${P} HTTP/1.1\r\n${H}\r\n`, statuses: [405], closes: false },
  {
    name: "a body on GET",
    bytes: `GET ${P} HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`,
    statuses: [405],
    closes: true,
  },
  { name: "no token", bytes: post(P, good, JSON_CT), statuses: [401], closes: false },
  {
    name: "a forged token",
    bytes: post(P, good, `${JSON_CT}Authorization: Bearer forged\r\n`),
    statuses: [401],
    closes: false,
  },
  {
    name: "a Basic credential",
    bytes: post(P, good, `${JSON_CT}Authorization: Basic dXNlcjpwYXNz\r\n`),
    statuses: [401],
    closes: false,
  },
  {
    name: "a 10 KB token with spaces and control characters",
    bytes: post(P, good, `${JSON_CT}Authorization: Bearer ${"a b\t".repeat(2_500)}\r\n`),
    statuses: [401],
    closes: false,
  },
  {
    name: "another pod's token",
    bytes: post(P, good, `${JSON_CT}Authorization: Bearer tok-b\r\n`),
    statuses: [403],
    closes: false,
  },
  {
    name: "a 100 GB body announced",
    bytes: `POST ${P} HTTP/1.1\r\n${H}${JSON_CT}${AUTH}Content-Length: 100000000000\r\n\r\n{`,
    statuses: [413],
    closes: true,
  },
  {
    name: "a 100 GB body announced without a token (never read)",
    bytes: `POST ${P} HTTP/1.1\r\n${H}${JSON_CT}Content-Length: 100000000000\r\n\r\n{`,
    statuses: [401],
    closes: true,
  },
  {
    name: "a chunked body streamed past the limit",
    bytes: Buffer.concat([
      Buffer.from(`POST ${P} HTTP/1.1\r\n${H}${JSON_CT}${AUTH}Transfer-Encoding: chunked\r\n\r\n`),
      ...Array.from({ length: 17 }, () => Buffer.from(`10000\r\n${" ".repeat(0x10000)}\r\n`)),
    ]),
    statuses: [413],
    closes: true,
  },
  {
    name: "chunked garbage",
    bytes: `POST ${P} HTTP/1.1\r\n${H}${JSON_CT}${AUTH}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n`,
    statuses: [400],
    closes: true,
  },
  { name: "not JSON", bytes: post(P, "{"), statuses: [400], closes: false },
  {
    name: "invalid UTF-8",
    bytes: post(P, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
    statuses: [400],
    closes: false,
  },
  {
    name: "a JSON bomb: 500,000 nested arrays (1 MB)",
    bytes: post(P, "[".repeat(500_000) + "]".repeat(500_000)),
    statuses: [400],
    closes: false,
  },
  {
    name: "a JSON bomb: 500,000 partitions of one byte each",
    bytes: post(
      P,
      `${good.slice(0, -1).replace('"partitions":[]', `"partitions":[${"0,".repeat(499_999)}0]`)}}`,
    ),
    statuses: [400],
    closes: false,
  },
  {
    name: "1e400 as the lag",
    bytes: post(P, good.replace('"lag":0', '"lag":1e400')),
    statuses: [400],
    closes: false,
  },
  {
    name: "__proto__ in the report",
    bytes: post(P, good.replace('"pod":{', '"__proto__":{"polluted":1},"pod":{')),
    statuses: [400],
    closes: false,
  },
];

describe("report receiver under hostile requests (real HTTPS server, raw sockets)", () => {
  // Short timeouts so that slow-client cases end quickly; the rest of the limits are the receiver's.
  const limits = { ...REPORT_LIMITS, ...QUICK_LIMITS };
  const reviewed: string[] = [];
  let server: ReportServer;
  let target: RawTarget;
  let cert: Awaited<ReturnType<typeof testCertificate>> | undefined;

  /** A good report from consumer-a is accepted. */
  async function stillAccepts(what: string): Promise<void> {
    const reply = await exchange(target, post(P, good, `${JSON_CT}${AUTH}Connection: close\r\n`));
    assert.deepEqual(reply.statuses, [200], `${what}: ${reply.text.slice(0, 300)}`);
    assert.ok(reply.text.includes('{"accepted":true}'), `${what}: ${reply.text.slice(0, 300)}`);
  }

  before(async () => {
    cert = await testCertificate("reports.test");
    const leader: LeaderReports = {
      context: () => ({ kind: "ok", context: { triggers: [], currentReplicas: 1, maxReplicaCount: 5 } }),
      targetPods: () => Promise.resolve([pod]),
      evaluateNow: () => undefined,
    };
    const logger = createLogger("reports-hostile", "silent");
    const receiver = new ReportReceiver({
      leader: () => leader,
      authenticator: new ReportAuthenticator({
        reviewer: {
          review: (token) => {
            reviewed.push(token);
            return Promise.resolve(TOKENS[token] ?? { authenticated: false, error: "invalid bearer token" });
          },
        },
        reviewsPerSecond: 1,
        reviewBurst: REVIEW_BURST,
      }),
      // The per-pod limit is receiver.test.ts's: here a good report follows every case.
      limiter: new TokenBuckets({ ratePerSecond: 1000, burst: 1000 }),
      store: new ReportStore(),
      logger,
    });
    server = await startReportServer({
      port: 0,
      host: "127.0.0.1",
      tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      maxBodyBytes: MAX_REPORT_BYTES,
      handle: (req) => receiver.handle(req),
      logger,
      limits,
    });
    target = { port: server.port, tls: cert.tls };
  });

  after(async () => {
    await server?.close();
    cert?.remove();
  });

  for (const c of [...PARSER_CASES, ...RECEIVER_CASES]) {
    it(c.name, () => assertCase(target, c, stillAccepts));
  }

  it("refusals are JSON with a short reason, the client's path quoted and cut", async () => {
    const reply = await exchange(
      target,
      `GET /${"p".repeat(10_000)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.ok(reply.text.length < 1_000, `answer of ${reply.text.length} bytes`);
    const text = Buffer.from(reply.text, "latin1").toString("utf8");
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as { error: string };
    assert.match(body.error, /^no endpoint at "\/p{99}…"; reports go to POST \/v1\/reports$/);
  });

  it("a flood of distinct forged tokens costs at most the TokenReview budget, then 429 with Retry-After", async () => {
    const before = reviewed.length;
    const statuses: number[] = [];
    let retryAfter = "";
    for (let i = 0; i < 60; i++) {
      const bytes = post(P, good, `${JSON_CT}Authorization: Bearer forged-${i}\r\nConnection: close\r\n`);
      const reply = await exchange(target, bytes);
      statuses.push(reply.statuses[0] ?? 0);
      retryAfter ||= /\r\nretry-after: (\d+)\r\n/i.exec(reply.text)?.[1] ?? "";
    }
    const reviews = reviewed.length - before;
    assert.ok(reviews <= REVIEW_BURST, `${reviews} TokenReviews for 60 forged tokens`);
    assert.ok(statuses.includes(429) && statuses.every((s) => s === 401 || s === 429), statuses.join(","));
    assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
    await stillAccepts("forged-token flood (its answer is cached)");
  });

  it("a slowloris header is cut off", async () => {
    const reply = await trickle(target, `POST ${P} HTTP/1.1\r\n${H}`, (i) => `X-${i}: a\r\n`);
    assert.ok(reply.closed && reply.sent < 100, `closed after ${reply.sent} header lines`);
    await stillAccepts("slowloris");
  });

  it("a body that trickles in is cut off", async () => {
    const head = `POST ${P} HTTP/1.1\r\n${H}${JSON_CT}${AUTH}Content-Length: 100000\r\n\r\n{`;
    const reply = await trickle(target, head, () => " ");
    assert.ok(reply.closed && reply.sent < 100, `closed after ${reply.sent} bytes of body`);
    await stillAccepts("slow body");
  });

  it("refuses connections over the cap, and serves again once they are gone", async () => {
    const extra = await overTheCap(target, limits.maxConnections);
    assert.ok(extra.closed && extra.statuses.length === 0, "a connection over the cap is closed unanswered");
    await new Promise((r) => setTimeout(r, 100));
    await stillAccepts("connection cap");
  });
});
