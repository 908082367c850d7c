/**
 * What every lagscale server (metrics, health, webhook, sidecar report receiver) does about hostile clients,
 * in one place. Any pod in the cluster may reach these ports, so a request is never trusted to be well formed,
 * small, quick or alone:
 *
 *   const server = http.createServer(serverOptions(limits), guard(handler, { name: "metrics", logger }));
 *   hardenServer(server, limits, { name: "metrics", logger });
 *
 * - `serverOptions`: what Node only takes at construction: the header size limit, and how often idle and
 *   slow connections are checked against the timeouts (Node's default is every 30 s).
 * - `hardenServer`: header count, header and request timeouts, keep-alive, a cap on connections and on
 *   requests per connection, TLS handshake timeout; a request Node cannot parse (bad request line, huge
 *   headers, HTTP/0.9, chunked garbage) gets a 4xx and its connection closed.
 * - `guard`: the top-level handler. A throw or a rejection in a handler answers 500 and is logged with the
 *   method and path, an `HttpError` answers its own status; the process goes on either way.
 * - `readBody`: reads a body up to `maxBytes`, refusing more with 413 (declared or streamed) and an aborted
 *   upload with 400, as an `HttpError` that `guard` answers.
 * - `requestPath`: the path of `req.url` without throwing (`//`, `http://[::1`, `%zz` are all possible).
 */
import type { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.js";

export interface ServerLimits {
  /** Total size of the request line and headers (Node's default is 16 KiB). */
  maxHeaderBytes: number;
  /** Headers per request (Node's default is 2000). */
  maxHeadersCount: number;
  /** Time to receive the request line and headers: a slowloris client is cut off after this. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included. */
  requestTimeoutMs: number;
  /** Idle time between two requests on a kept-alive connection. */
  keepAliveTimeoutMs: number;
  /** Open connections at once; more are closed as they arrive. */
  maxConnections: number;
  /** Requests on one connection before it is closed (pipelining cannot queue without end). */
  maxRequestsPerSocket: number;
  /** How often connections are checked against the two timeouts above. */
  checkIntervalMs: number;
  /** TLS servers: time to finish the handshake. */
  handshakeTimeoutMs: number;
}

/**
 * Defaults for the controller's servers. The clients are the kubelet (probes), Prometheus and the API
 * server: a handful of connections with small headers each, so the limits are far above normal use and far
 * below what would hurt the process.
 */
export const DEFAULT_LIMITS: ServerLimits = {
  maxHeaderBytes: 16 * 1024,
  maxHeadersCount: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxRequestsPerSocket: 1000,
  checkIntervalMs: 1_000,
  handshakeTimeoutMs: 10_000,
};

/** An answer a handler gives by throwing: `guard` sends `status` with `message` as plain text. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Close the connection after answering (the rest of the request is not read). */
    readonly close = false,
  ) {
    super(message);
  }
}

/**
 * Construction-time options for `http.createServer` / `https.createServer` (`handshakeTimeout` is read by
 * TLS servers only).
 */
export function serverOptions(
  limits: ServerLimits = DEFAULT_LIMITS,
): ServerOptions & { handshakeTimeout: number } {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    handshakeTimeout: limits.handshakeTimeoutMs,
  };
}

/** The status and text for a request Node's parser refused (see `clientError` in node:http). */
function clientErrorReply(err: Error & { code?: string }): { status: number; text: string } {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, text: "request header fields too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "HPE_HEADERS_TIMEOUT":
      return { status: 408, text: "request timeout" };
    default:
      return { status: 400, text: "bad request" };
  }
}

export interface HardenContext {
  /** For logs: which server. */
  name: string;
  logger?: Logger | undefined;
  /** How `guard` answers an error; default `sendText` (the report receiver answers JSON). */
  reply?: typeof sendText;
}

/** Applies the limits Node allows to change after construction, and answers what Node cannot parse. */
export function hardenServer(
  server: Server | HttpsServer,
  limits: ServerLimits = DEFAULT_LIMITS,
  ctx: HardenContext,
): void {
  server.maxHeadersCount = limits.maxHeadersCount;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;
  server.on("clientError", (err: Error & { code?: string }, socket: Duplex & { bytesWritten?: number }) => {
    ctx.logger?.debug({ server: ctx.name, err: err.message, code: err.code }, "client error");
    // Answer only when nothing was written on this connection yet (as Node does): mid-response bytes would
    // corrupt the answer the client is reading.
    if (socket.writable && (socket.bytesWritten ?? 0) === 0 && err.code !== "ECONNRESET") {
      const { status, text } = clientErrorReply(err);
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length + 1}\r\n\r\n${text}\n`,
      );
    }
    // A client that never closes its side must not keep the connection (and its slot) open.
    const timer = setTimeout(() => socket.destroy(), 1_000);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
  // Under a flood this fires per connection: say it once per minute with the count.
  let dropped = 0;
  let lastDropLog = 0;
  server.on("drop", () => {
    dropped++;
    const now = Date.now();
    if (now - lastDropLog < 60_000) return;
    lastDropLog = now;
    ctx.logger?.warn(
      { server: ctx.name, maxConnections: limits.maxConnections, dropped },
      "too many open connections; dropping new ones",
    );
    dropped = 0;
  });
}

/** Sends a plain-text answer unless one was sent already. */
export function sendText(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(`${message}\n`);
}

/**
 * The top-level request handler: every request gets an answer and nothing a handler throws reaches the
 * process. `HttpError` → its status; anything else → 500, logged as an error (it is a bug to fix).
 */
export function guard(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  ctx: HardenContext,
): RequestListener {
  const reply = ctx.reply ?? sendText;
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    if (err instanceof HttpError) {
      // With `connection: close` Node ends the socket after the answer instead of draining the body.
      reply(res, err.status, err.message, err.close ? { connection: "close" } : {});
      return;
    }
    ctx.logger?.error(
      { server: ctx.name, err, method: req.method, path: requestPath(req).slice(0, 200) },
      "request handler failed",
    );
    reply(res, 500, "internal error (logged by the server)");
  };
  return (req, res) => {
    try {
      const done = handler(req, res);
      if (done) done.catch((err: unknown) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  };
}

/**
 * The path of the request, never throwing: `//` stays `//`, an absolute-form URL gives its path, anything
 * unparseable gives what is before `?`. Percent-escapes are left as they are.
 */
export function requestPath(req: Pick<IncomingMessage, "url">): string {
  const raw = req.url ?? "/";
  if (raw.startsWith("/")) return raw.split("?")[0]!;
  // absolute-form (`GET http://host/path`) is legal HTTP/1.1; anything else is not a path
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(\/[^?#]*)?/i.exec(raw);
  if (abs) return abs[1] ?? "/";
  return raw.split("?")[0]!;
}

/** The query of the request (after `?`), parsed leniently; never throws. */
export function requestQuery(req: Pick<IncomingMessage, "url">): URLSearchParams {
  const raw = req.url ?? "";
  const q = raw.indexOf("?");
  return new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
}

/** True when the request carries a body (a Content-Length above 0 or a Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (len !== undefined && len !== "0");
}

/**
 * Reads the whole body, at most `maxBytes`. A declared or streamed body above the limit rejects with a 413
 * `HttpError` (the connection is closed rather than drained); a client that aborts mid-body with a 400.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const limit = `the limit is ${maxBytes} bytes`;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new HttpError(413, `the body is ${declared} bytes; ${limit}`, true));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: HttpError): void => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        req.pause();
        settle(new HttpError(413, `the body is larger than ${maxBytes} bytes; ${limit}`, true));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => settle());
    req.once("error", (err) => settle(new HttpError(400, `could not read the body: ${err.message}`, true)));
    req.once("aborted", () => settle(new HttpError(400, "the client aborted the body", true)));
  });
}
