/**
 * Raw HTTP/1.x over a socket, for the hostile-input suites: bytes no well-behaved client would send, and what
 * came back. Every exchange is bounded in time and in bytes read, and talks to 127.0.0.1 only.
 *
 * `PARSER_CASES` are requests Node's parser or the shared server limits (core/http/limits.ts) refuse
 * before any handler runs, so every lagscale server answers them the same way.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { createCa, issueCert } from "../stack/kube/pki.js";

export interface RawTarget {
  port: number;
  /** Speak TLS (the webhook); `ca` verifies the server, `servername` is the name in its certificate. */
  tls?: { ca: Buffer; servername: string };
}

export interface RawReply {
  /** Everything the server sent (at most `maxBytes`), as latin1 text. */
  text: string;
  /** Status codes of every response in `text`, in order (several when requests were pipelined). */
  statuses: number[];
  /** The server closed the connection before `waitMs` ran out. */
  closed: boolean;
}

export interface ExchangeOptions {
  /** Give up waiting after this long (the connection is then destroyed by us). Default 3 s. */
  waitMs?: number;
  /** Stop reading after this many bytes. Default 1 MiB. */
  maxBytes?: number;
  /**
   * Resolve as soon as this many status lines arrived, without waiting for a close (the last answer's body
   * may not be complete yet: to read a body, send `Connection: close` and wait for the close).
   */
  responses?: number;
}

/** Opens a connection (TLS when the target says so); resolves once it can be written to. */
export function open(target: RawTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({
          host: "127.0.0.1",
          port: target.port,
          ca: target.tls.ca,
          servername: target.tls.servername,
        })
      : net.connect({ host: "127.0.0.1", port: target.port });
    socket.once(target.tls ? "secureConnect" : "connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

function statusesOf(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Reads from an open socket until it closes, `responses` arrived, or `waitMs` passed. */
export function collect(socket: net.Socket, options: ExchangeOptions = {}): Promise<RawReply> {
  const waitMs = options.waitMs ?? 3_000;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  return new Promise((resolve) => {
    let text = "";
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeAllListeners("data");
      if (!closed) socket.destroy();
      resolve({ text, statuses: statusesOf(text), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.length >= maxBytes) finish(false);
      else if (options.responses !== undefined && statusesOf(text).length >= options.responses) {
        finish(socket.destroyed);
      }
    });
    // A reset by the server counts as closed: it ended the connection.
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

/** Sends `bytes` on a new connection and collects the answer. */
export async function exchange(
  target: RawTarget,
  bytes: string | Buffer,
  options: ExchangeOptions = {},
): Promise<RawReply> {
  const socket = await open(target);
  const reply = collect(socket, options);
  socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, () => undefined);
  return reply;
}

/** The status of a well-formed GET on a new connection (for "the server still answers"). */
export async function goodGet(target: RawTarget, path: string): Promise<number | undefined> {
  const r = await exchange(target, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  return r.statuses[0];
}

/**
 * A slow client: sends `head`, then `piece(i)` every 50 ms (at most 100 pieces) until the server closes the
 * connection or `waitMs` passes. A slowloris header (`piece` a header line) or a body that trickles in.
 */
export async function trickle(
  target: RawTarget,
  head: string,
  piece: (i: number) => string,
  waitMs = 5_000,
): Promise<RawReply & { sent: number }> {
  const socket = await open(target);
  socket.write(head);
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.writable && sent++ < 100) socket.write(piece(sent));
  }, 50);
  const reply = await collect(socket, { waitMs });
  clearInterval(timer);
  return { ...reply, sent };
}

/**
 * Holds `count` connections open, then opens one more over plain TCP (no TLS handshake, which a server over
 * its cap never answers) and collects what it gets; every connection is closed before this resolves.
 */
export async function overTheCap(target: RawTarget, count: number, waitMs = 2_000): Promise<RawReply> {
  const held = await Promise.all(Array.from({ length: count }, () => open(target)));
  try {
    return await collect(net.connect({ host: "127.0.0.1", port: target.port }), { waitMs });
  } finally {
    for (const s of held) s.destroy();
  }
}

export interface RawCase {
  name: string;
  bytes: string | Buffer;
  /** Acceptable first statuses; [] means the server must close the connection without an answer. */
  statuses: number[];
  /** The server must close the connection after answering. */
  closes: boolean;
}

const H = "Host: 127.0.0.1\r\n";

/** Requests refused before any handler runs: the same answer from every server. */
export const PARSER_CASES: RawCase[] = [
  { name: "NUL byte in the path", bytes: `GET /a\0b HTTP/1.1\r\n${H}\r\n`, statuses: [400], closes: true },
  {
    name: "NUL byte in a header value",
    bytes: `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a 100 KB header",
    bytes: `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(100 * 1024)}\r\n\r\n`,
    statuses: [431],
    closes: true,
  },
  {
    name: "10,000 headers",
    bytes: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 10_000 }, (_, i) => `X-${i}: v\r\n`).join("")}\r\n`,
    statuses: [431],
    closes: true,
  },
  {
    name: "a 20 KB path",
    bytes: `GET /${"p".repeat(20 * 1024)} HTTP/1.1\r\n${H}\r\n`,
    statuses: [431],
    closes: true,
  },
  { name: "HTTP/0.9 with a path", bytes: "GET /nowhere\r\n\r\n", statuses: [400, 404], closes: true },
  {
    name: "HTTP/2 preface on HTTP/1",
    bytes: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    statuses: [400],
    closes: true,
  },
  { name: "an unknown method", bytes: `BREW / HTTP/1.1\r\n${H}\r\n`, statuses: [400], closes: true },
  { name: "HTTP/9.9", bytes: `GET / HTTP/9.9\r\n${H}\r\n`, statuses: [400, 505], closes: true },
  { name: "no Host header in HTTP/1.1", bytes: "GET / HTTP/1.1\r\n\r\n", statuses: [400], closes: true },
  {
    name: "a header without a colon",
    bytes: `GET / HTTP/1.1\r\n${H}nocolon\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a space before the colon",
    bytes: `GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "an obs-fold continuation line",
    bytes: `GET / HTTP/1.1\r\n${H}X-A: b\r\n  folded\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "Content-Length -1",
    bytes: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "two different Content-Lengths",
    bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    statuses: [400],
    closes: true,
  },
  {
    name: "Content-Length and Transfer-Encoding both (request smuggling)",
    bytes: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    closes: true,
  },
  {
    name: "a Transfer-Encoding other than chunked",
    bytes: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nxx`,
    statuses: [400, 501],
    closes: true,
  },
  {
    name: "bare LF line endings with junk",
    bytes: "GET / HTTP/1.1\n\0\0\0\n\n",
    statuses: [400],
    closes: true,
  },
  {
    name: "binary garbage",
    bytes: Buffer.from([0x16, 0x03, 0x01, 0xff, 0x00, 0x80, 0x0d, 0x0a, 0x0d, 0x0a]),
    statuses: [400],
    closes: true,
  },
];

/**
 * Sends a case on a new connection and checks the first answer and, when the case says so, that the server
 * closed the connection; then `stillServes` (the server answers a good request after it).
 */
export async function assertCase(
  target: RawTarget,
  c: RawCase,
  stillServes: (after: string) => Promise<void>,
): Promise<void> {
  // A case that keeps the connection open returns at its first answer; one that closes waits for the close.
  const reply = await exchange(target, c.bytes, c.closes ? { waitMs: 3_000 } : { responses: 1 });
  if (c.statuses.length === 0) assert.deepEqual(reply.statuses, [], `${c.name}: no answer`);
  else assert.ok(c.statuses.includes(reply.statuses[0] ?? 0), `${c.name}: got ${reply.text.slice(0, 200)}`);
  if (c.closes) assert.ok(reply.closed, `${c.name}: the server closes the connection`);
  await stillServes(c.name);
}

/** Server limit overrides for the hostile suites: short timeouts so slow-client cases end quickly, 8 connections. */
export const QUICK_LIMITS = {
  headersTimeoutMs: 500,
  requestTimeoutMs: 1_000,
  keepAliveTimeoutMs: 300,
  checkIntervalMs: 100,
  handshakeTimeoutMs: 500,
  maxConnections: 8,
} as const;

/**
 * A CA and a server certificate for `servername` in a new temporary folder, for a TLS server under test:
 * the files to start it with, what a raw client needs to verify it, and `remove` for the folder.
 */
export async function testCertificate(servername: string): Promise<{
  certFile: string;
  keyFile: string;
  tls: { ca: Buffer; servername: string };
  remove(): void;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), `lagscale-${servername}-`));
  const ca = await createCa(dir, "ca", `${servername}-ca`);
  const served = await issueCert(dir, "server", ca, {
    commonName: servername,
    dnsNames: [servername],
    usage: "server",
  });
  return {
    certFile: served.cert,
    keyFile: served.key,
    tls: { ca: readFileSync(ca.cert), servername },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
