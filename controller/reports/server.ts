/**
 * The report receiver's HTTP(S) server: `POST /v1/reports` on every controller replica. What a report means is
 * receiver.ts; this file is only the transport. Its limits (headers, timeouts, connections), body reading
 * (413 past the cap, declared or streamed), path parsing and top-level handler are core/http/limits.ts's, as for
 * every lagscale server, so nothing a client sends can stop the process; answers here are JSON
 * (`{ "error": … }` when refused), which the sidecar logs.
 *
 * TLS: certificate and key files, reloaded when either changes (tls-files.ts, shared with the webhook).
 * Plain HTTP only when asked for (the local stack).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../core/log.js";
import {
  DEFAULT_LIMITS,
  guard,
  hardenServer,
  hasBody,
  HttpError,
  readBody,
  requestPath,
  serverOptions,
  type ServerLimits,
} from "../../core/http/limits.js";
import { TlsFiles, type TlsFilePaths } from "../tls-files.js";

export const REPORTS_PATH = "/v1/reports";

/**
 * The receiver's limits: the shared defaults with shorter timeouts (a report is one small POST, sent again
 * on failure) and room for one kept-alive connection per consumer pod of a large cluster.
 */
export const REPORT_LIMITS: ServerLimits = {
  ...DEFAULT_LIMITS,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxConnections: 1024,
};

/** A request as the receiver sees it; the body is read only when asked for. */
export interface ReportRequest {
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
  /** Reads the body; rejects with an `HttpError` (413 beyond the cap, 400 for an aborted upload). */
  body(): Promise<Buffer>;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ReportServerOptions {
  port: number;
  host?: string;
  /** Absent: plain HTTP. */
  tls?: TlsFilePaths & { checkIntervalMs?: number };
  maxBodyBytes: number;
  handle: (req: ReportRequest) => Promise<Reply>;
  /** Called with every answered status (metrics). */
  onReply?: (status: number) => void;
  logger: Logger;
  /** Defaults to REPORT_LIMITS. */
  limits?: ServerLimits;
}

export interface ReportServer {
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** `guard`'s answers (HttpError, 500) in the receiver's JSON shape. */
const sendJsonError = (
  res: ServerResponse,
  status: number,
  error: string,
  headers?: Record<string, string>,
) => sendJson(res, status, { error }, headers);

export async function startReportServer(o: ReportServerOptions): Promise<ReportServer> {
  const { logger } = o;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Counted when the answer is sent, whoever sent it (this handler or guard).
    res.once("finish", () => o.onReply?.(res.statusCode));
    const path = requestPath(req);
    if (path !== REPORTS_PATH) {
      // The path is the client's: quoted and cut, so a long path does not come back in full.
      const shown = JSON.stringify(path.length > 100 ? `${path.slice(0, 100)}…` : path);
      throw new HttpError(404, `no endpoint at ${shown}; reports go to POST ${REPORTS_PATH}`, hasBody(req));
    }
    if (req.method !== "POST") {
      sendJson(
        res,
        405,
        { error: `${REPORTS_PATH} accepts POST only` },
        { allow: "POST", ...(hasBody(req) ? { connection: "close" } : {}) },
      );
      return;
    }
    const reply = await o.handle({
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      body: () => readBody(req, o.maxBodyBytes),
    });
    // Refused before the body was read (not the leader, no token): close rather than drain the rest.
    sendJson(res, reply.status, reply.body, {
      ...reply.headers,
      ...(req.complete ? {} : { connection: "close" }),
    });
  };

  const limits = o.limits ?? REPORT_LIMITS;
  const ctx = { name: "reports", logger, reply: sendJsonError };
  const listener = guard(handle, ctx);
  let server: http.Server | https.Server;
  let stopReload = (): void => undefined;
  if (o.tls) {
    const tls = new TlsFiles(o.tls, { name: "reports", logger, checkIntervalMs: o.tls.checkIntervalMs });
    const s = https.createServer({ ...serverOptions(limits), ...tls.read() }, listener);
    stopReload = tls.reloadOnChange(s);
    server = s;
  } else {
    server = http.createServer(serverOptions(limits), listener);
  }
  hardenServer(server, limits, ctx);

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
  logger.info({ port, tls: o.tls !== undefined, path: REPORTS_PATH }, "report receiver listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        stopReload();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
