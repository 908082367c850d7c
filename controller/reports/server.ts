/**
 * The report receiver's HTTP(S) server: `POST /v1/reports` on every controller replica, with its own limits
 * (header and request timeouts, header size, a body cap that answers 413) and a catch-all that answers 500,
 * so nothing a client sends can stop the process. What a report means is receiver.ts; this file is only the
 * transport, kept in one place so it can give way to a shared server module.
 *
 * TLS: certificate and key files, re-read when either changes (a mounted Secret is replaced through a
 * symlink, so they are polled by stat). Plain HTTP only when asked for (the local stack).
 */
import { readFileSync, statSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../core/log.js";

export const REPORTS_PATH = "/v1/reports";

/** A request as the receiver sees it; the body is read only when asked for. */
export interface ReportRequest {
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
  /** Reads the body; rejects with BodyTooLarge beyond the cap. */
  body(): Promise<Buffer>;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
  }
}

export interface ReportServerOptions {
  port: number;
  host?: string;
  /** Absent: plain HTTP. */
  tls?: { certFile: string; keyFile: string; checkIntervalMs?: number };
  maxBodyBytes: number;
  handle: (req: ReportRequest) => Promise<Reply>;
  /** Called with every answered status (metrics). */
  onReply?: (status: number) => void;
  logger: Logger;
}

export interface ReportServer {
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
      done = true;
    });
    req.on("error", (err) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...reply.headers,
  });
  res.end(text);
}

const stamp = (f: string) => {
  const s = statSync(f);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
};

export async function startReportServer(o: ReportServerOptions): Promise<ReportServer> {
  const { logger } = o;
  const answer = (res: ServerResponse, reply: Reply) => {
    send(res, reply);
    o.onReply?.(reply.status);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== REPORTS_PATH) {
      req.resume();
      answer(res, {
        status: 404,
        body: { error: `no endpoint at ${path}; reports go to POST ${REPORTS_PATH}` },
      });
      return;
    }
    if (req.method !== "POST") {
      req.resume();
      answer(res, {
        status: 405,
        body: { error: `${REPORTS_PATH} accepts POST only` },
        headers: { allow: "POST" },
      });
      return;
    }
    const request: ReportRequest = {
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      body: () => readBody(req, o.maxBodyBytes),
    };
    o.handle(request)
      .catch((err: unknown): Reply => {
        if (err instanceof BodyTooLarge) {
          return { status: 413, body: { error: err.message }, headers: { connection: "close" } };
        }
        logger.error({ err: err instanceof Error ? err.message : String(err) }, "report request failed");
        return { status: 500, body: { error: "internal error; retry later" } };
      })
      .then((reply) => {
        answer(res, reply);
        if (!req.complete) req.resume();
      })
      .catch((err: unknown) => logger.error({ err }, "could not answer a report request"));
  };

  const limits = { requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 16 * 1024 };
  let server: http.Server | https.Server;
  let timer: NodeJS.Timeout | undefined;
  const tls = o.tls;
  if (tls) {
    let current = `${stamp(tls.certFile)}|${stamp(tls.keyFile)}`;
    const s = https.createServer(
      { ...limits, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      onRequest,
    );
    timer = setInterval(() => {
      try {
        const next = `${stamp(tls.certFile)}|${stamp(tls.keyFile)}`;
        if (next === current) return;
        s.setSecureContext({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) });
        current = next;
        logger.info({ certFile: tls.certFile }, "reloaded the report receiver's TLS certificate");
      } catch (err) {
        // A half-written pair fails here; the next check picks up the rest.
        logger.error({ err, certFile: tls.certFile }, "cannot load the TLS files; keeping the old ones");
      }
    }, tls.checkIntervalMs ?? 10_000);
    timer.unref();
    server = s;
  } else {
    server = http.createServer(limits, onRequest);
  }
  server.keepAliveTimeout = 5_000;
  server.on("clientError", (err, socket) => {
    logger.debug({ err: err.message }, "report client error");
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`report receiver: cannot listen on ${o.host ?? "*"}:${o.port}: ${err.message}`));
    server.once("error", onError);
    server.listen(o.port, o.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, tls: tls !== undefined, path: REPORTS_PATH }, "report receiver listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (timer) clearInterval(timer);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
