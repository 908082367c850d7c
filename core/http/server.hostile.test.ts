/**
 * Hostile clients against the real metrics/health server, run in-process on 127.0.0.1: malformed requests
 * over raw sockets, slow and idle connections, too many connections. After each, a good request is still
 * answered (and the test process, which hosts the server, is still alive).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  assertCase,
  collect,
  exchange,
  goodGet,
  open,
  overTheCap,
  PARSER_CASES,
  QUICK_LIMITS,
  trickle,
  type RawCase,
  type RawTarget,
} from "../../test/support/raw-http.js";
import { startHttpServer, type RunningHttpServer } from "./server.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./limits.js";

const H = "Host: 127.0.0.1\r\n";

/** Cases whose answer is the handler's: paths and methods it cannot use. */
const HANDLER_CASES: RawCase[] = [
  { name: "GET //", bytes: `GET // HTTP/1.1\r\n${H}\r\n`, statuses: [404], closes: false },
  {
    name: "GET http://[::1",
    bytes: `GET http://[::1 HTTP/1.1\r\n${H}\r\n`,
    statuses: [400, 404],
    closes: false,
  },
  { name: "GET ///healthz", bytes: `GET ///healthz HTTP/1.1\r\n${H}\r\n`, statuses: [404], closes: false },
  {
    name: "absolute-form URL",
    bytes: `GET http://127.0.0.1/healthz HTTP/1.1\r\n${H}\r\n`,
    statuses: [200],
    closes: false,
  },
  {
    name: "absolute-form URL with a bad port",
    bytes: `GET http://127.0.0.1:99999999/healthz?verbose HTTP/1.1\r\n${H}\r\n`,
    statuses: [200],
    closes: false,
  },
  {
    name: "a scheme without //",
    bytes: `GET http:healthz HTTP/1.1\r\n${H}\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "bad percent-encoding",
    bytes: `GET /healthz%zz%00%E0%A4%A HTTP/1.1\r\n${H}\r\n`,
    statuses: [404],
    closes: false,
  },
  {
    name: "bad percent-encoding in the query",
    bytes: `GET /healthz?verbose=%zz&%&&==&%E0%A4%A HTTP/1.1\r\n${H}\r\n`,
    statuses: [200],
    closes: false,
  },
  { name: "OPTIONS *", bytes: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, statuses: [405], closes: false },
  { name: "DELETE /metrics", bytes: `DELETE /metrics HTTP/1.1\r\n${H}\r\n`, statuses: [405], closes: false },
  { name: "HTTP/0.9 request line", bytes: "GET /\r\n\r\n", statuses: [400, 404], closes: true },
  {
    name: "a body on GET",
    bytes: `GET /healthz HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a 100 GB body announced on GET",
    bytes: `GET /healthz HTTP/1.1\r\n${H}Content-Length: 100000000000\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "chunked garbage",
    bytes: `POST /metrics HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n`,
    statuses: [400, 405],
    closes: true,
  },
  {
    name: "chunked garbage on GET",
    bytes: `GET /healthz HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a 1 MB POST to /metrics",
    bytes: `POST /metrics HTTP/1.1\r\n${H}Content-Length: 1048576\r\n\r\n${"x".repeat(1024 * 1024)}`,
    statuses: [405],
    closes: true,
  },
  {
    name: "Upgrade: websocket",
    bytes: `GET /healthz HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    statuses: [200],
    closes: false,
  },
  { name: "CONNECT", bytes: `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${H}\r\n`, statuses: [], closes: true },
  {
    name: "Expect: something unknown",
    bytes: `GET /healthz HTTP/1.1\r\n${H}Expect: bogus\r\n\r\n`,
    statuses: [417],
    closes: false,
  },
];

async function startServer(limits?: ServerLimits): Promise<RunningHttpServer> {
  return startHttpServer({
    name: "hostile",
    host: "127.0.0.1",
    port: 0,
    registry: new Registry(),
    healthz: { ping: () => undefined },
    readyz: { ping: () => undefined },
    ...(limits ? { limits } : {}),
  });
}

describe("metrics/health server under hostile requests (real server, raw sockets)", () => {
  let server: RunningHttpServer;
  let target: RawTarget;
  before(async () => {
    server = await startServer();
    target = { port: server.port };
  });
  after(() => server.close());

  for (const c of [...PARSER_CASES, ...HANDLER_CASES]) {
    it(c.name, () =>
      assertCase(target, c, async (after) =>
        assert.equal(await goodGet(target, "/healthz"), 200, `${after}: the server still answers`),
      ),
    );
  }

  it("pipelined requests are answered in order on one connection", async () => {
    const paths = ["/healthz", "/nope", "//", "/readyz", "/metrics"];
    const bytes = paths.map((p) => `GET ${p} HTTP/1.1\r\n${H}\r\n`).join("");
    const reply = await exchange(target, bytes, { responses: paths.length });
    assert.deepEqual(reply.statuses, [200, 404, 404, 200, 200]);
  });

  it("a pipeline ending in garbage answers the good requests, then closes", async () => {
    // No 400 after the answers: bytes written mid-stream could be read as part of an answer.
    const bytes = `GET /healthz HTTP/1.1\r\n${H}\r\nGET /readyz HTTP/1.1\r\n${H}\r\nGET /\0 HTTP/1.1\r\n\r\n`;
    const reply = await exchange(target, bytes);
    assert.deepEqual(reply.statuses, [200, 200]);
    assert.ok(reply.closed);
    assert.equal(await goodGet(target, "/healthz"), 200);
  });
});

describe("metrics/health server against slow and many connections (real server, short limits)", () => {
  // Short limits so that the suite stays quick; DEFAULT_LIMITS uses the same code with longer times.
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...QUICK_LIMITS };
  let server: RunningHttpServer;
  let target: RawTarget;
  before(async () => {
    server = await startServer(limits);
    target = { port: server.port };
  });
  after(() => server.close());

  it("closes a connection that sends nothing", async () => {
    const reply = await collect(await open(target), { waitMs: 5_000 });
    assert.ok(reply.closed, "the idle connection is closed before the test gives up");
    assert.ok(
      reply.statuses.every((s) => s === 408),
      reply.text,
    );
  });

  it("closes a slowloris connection whose headers never end", async () => {
    const reply = await trickle(target, `GET /healthz HTTP/1.1\r\n${H}`, (i) => `X-${i}: a\r\n`);
    assert.ok(reply.closed, "the never-finished header is cut off");
    assert.ok(reply.sent < 100, `closed after ${reply.sent} header lines, while they were still dripping`);
    assert.equal(await goodGet(target, "/healthz"), 200);
  });

  it("closes a kept-alive connection left idle", async () => {
    const reply = await exchange(target, `GET /healthz HTTP/1.1\r\n${H}\r\n`, { waitMs: 5_000 });
    assert.deepEqual(reply.statuses, [200]);
    assert.ok(reply.closed, "the idle kept-alive connection is closed");
  });

  it("refuses connections over the cap, and serves again once they are gone", async () => {
    const extra = await overTheCap(target, limits.maxConnections);
    assert.ok(extra.closed, "a connection over the cap is closed at once");
    assert.deepEqual(extra.statuses, []);
    let status: number | undefined;
    for (let i = 0; i < 20 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await goodGet(target, "/healthz");
    }
    assert.equal(status, 200);
  });
});

describe("metrics/health server: a failing check or registry", () => {
  it("a probe check that throws answers 500 with the reason; a registry that rejects answers 500", async () => {
    const registry = new Registry();
    // A fake failure: the registry's rendering is made to reject.
    registry.metrics = () => Promise.reject(new Error("collector exploded"));
    const server = await startHttpServer({
      name: "failing",
      host: "127.0.0.1",
      port: 0,
      registry,
      healthz: {
        boom: () => {
          throw new Error("check exploded");
        },
      },
    });
    try {
      const target = { port: server.port };
      const h = await exchange(target, `GET /healthz HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
      assert.deepEqual(h.statuses, [500]);
      assert.match(h.text, /\[-\]boom failed: check threw: check exploded/);
      const m = await exchange(target, `GET /metrics HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
      assert.deepEqual(m.statuses, [500]);
      assert.match(m.text, /could not render metrics: collector exploded/);
    } finally {
      await server.close();
    }
  });
});
