/**
 * Hostile clients against the real metrics/health server, run in-process on 127.0.0.1: malformed requests
 * over raw sockets, slow and idle connections, too many connections. After each, a good request is still
 * answered (and the test process, which hosts the server, is still alive).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  collect,
  exchange,
  goodGet,
  open,
  PARSER_CASES,
  type RawCase,
  type RawTarget,
} from "../test/support/raw-http.js";
import { startHttpServer, type RunningHttpServer } from "./http.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./server-limits.js";

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

async function assertCase(target: RawTarget, c: RawCase): Promise<void> {
  // A case that keeps the connection open returns at its first answer; one that closes waits for the close.
  const reply = await exchange(target, c.bytes, c.closes ? { waitMs: 3_000 } : { responses: 1 });
  if (c.statuses.length === 0) assert.deepEqual(reply.statuses, [], `${c.name}: no answer`);
  else assert.ok(c.statuses.includes(reply.statuses[0] ?? 0), `${c.name}: got ${reply.text.slice(0, 120)}`);
  if (c.closes) assert.ok(reply.closed, `${c.name}: the server closes the connection`);
  assert.equal(await goodGet(target, "/healthz"), 200, `${c.name}: the server still answers`);
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
    it(c.name, () => assertCase(target, c));
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
  const limits: ServerLimits = {
    ...DEFAULT_LIMITS,
    headersTimeoutMs: 500,
    requestTimeoutMs: 1_000,
    keepAliveTimeoutMs: 300,
    checkIntervalMs: 100,
    maxConnections: 8,
  };
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
    const socket = await open(target);
    socket.write(`GET /healthz HTTP/1.1\r\n${H}`);
    let sent = 0;
    const drip = setInterval(() => {
      if (socket.writable && sent++ < 100) socket.write(`X-${sent}: a\r\n`);
    }, 50);
    const reply = await collect(socket, { waitMs: 5_000 });
    clearInterval(drip);
    assert.ok(reply.closed, "the never-finished header is cut off");
    assert.ok(sent < 100, `closed after ${sent} header lines, while they were still dripping`);
    assert.equal(await goodGet(target, "/healthz"), 200);
  });

  it("closes a kept-alive connection left idle", async () => {
    const reply = await exchange(target, `GET /healthz HTTP/1.1\r\n${H}\r\n`, { waitMs: 5_000 });
    assert.deepEqual(reply.statuses, [200]);
    assert.ok(reply.closed, "the idle kept-alive connection is closed");
  });

  it("refuses connections over the cap, and serves again once they are gone", async () => {
    const held = await Promise.all(Array.from({ length: limits.maxConnections }, () => open(target)));
    try {
      const extra = await collect(await open(target), { waitMs: 2_000 });
      assert.ok(extra.closed, "a connection over the cap is closed at once");
      assert.deepEqual(extra.statuses, []);
    } finally {
      for (const s of held) s.destroy();
    }
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
