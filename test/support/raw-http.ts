/**
 * Raw HTTP/1.x over a socket, for the hostile-input suites: bytes no well-behaved client would send, and what
 * came back. Every exchange is bounded in time and in bytes read, and talks to 127.0.0.1 only.
 *
 * `PARSER_CASES` are requests Node's parser or the shared server limits (controller/server-limits.ts) refuse
 * before any handler runs, so every lagscale server answers them the same way.
 */
import net from "node:net";
import tls from "node:tls";

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
